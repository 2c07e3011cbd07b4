package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sharedcare/sharedcare/internal/access"
	"github.com/sharedcare/sharedcare/internal/feed"
	"github.com/sharedcare/sharedcare/internal/fhirdef"
	"github.com/sharedcare/sharedcare/internal/hl7fhir"
	"github.com/sharedcare/sharedcare/internal/hl7v2"
	"github.com/sharedcare/sharedcare/internal/idp"
	"github.com/sharedcare/sharedcare/internal/notify"
	"github.com/sharedcare/sharedcare/internal/person"
	"github.com/sharedcare/sharedcare/internal/record"
	"github.com/sharedcare/sharedcare/internal/rest"
	"github.com/sharedcare/sharedcare/internal/store"
	"github.com/sharedcare/sharedcare/internal/store/postgres"
	"github.com/sharedcare/sharedcare/internal/store/sqlite"
	"github.com/sharedcare/sharedcare/internal/validate"
)

type serveConfig struct {
	addr, data, db, baseURL, logLevel, logFormat, validation, searchIndex string
	debugAddr, sourceODS, mllp, mllpCert, mllpKey                         string
	bulkDir, bulkAllow                                                    string
	maxBody                                                               int64
	shutdownGrace                                                         time.Duration
	auth                                                                  authConfig
	// seed, if set, fills the identity provider before the server
	// listens (the demo's users).
	seed func(context.Context, *idp.Provider) error
}

func runServe(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c serveConfig
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8080", "address to listen on")
	fs.StringVar(&c.data, "data", "./data", "data directory (holds the embedded database)")
	fs.StringVar(&c.db, "db", "", "database: empty for the embedded SQLite in --data, or a postgres:// URL")
	fs.StringVar(&c.baseURL, "base-url", "", "public FHIR base URL for links (default: from each request's Host, plus /fhir)")
	fs.Int64Var(&c.maxBody, "max-body", rest.DefaultMaxBody, "largest request body in bytes")
	fs.StringVar(&c.validation, "validation", "strict", "strict: refuse resources with elements R4 does not define; lenient: store them, with a warning")
	fs.StringVar(&c.searchIndex, "search-index", "all", "search parameters indexed on write: all (every R4 parameter, which search needs) or conditional (identifiers and patient compartments only: faster bulk loads, searchable after a reindex)")
	fs.StringVar(&c.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	fs.StringVar(&c.logFormat, "log-format", "text", "log format: text or json")
	fs.DurationVar(&c.shutdownGrace, "shutdown-grace", 30*time.Second, "how long shutdown waits for requests in flight")
	fs.StringVar(&c.sourceODS, "source-ods", "", "ODS code of the organisation FHIR writes are attributed to when the request does not name one in the "+rest.SourceHeader+" header")
	fs.StringVar(&c.mllp, "mllp", "", "if set, receive HL7 v2 over MLLP on this address (e.g. :2575); each message is acknowledged once stored")
	fs.StringVar(&c.mllpCert, "mllp-cert", "", "TLS certificate (PEM) for --mllp; with --mllp-key, MLLP is served over TLS")
	fs.StringVar(&c.mllpKey, "mllp-key", "", "TLS private key (PEM) for --mllp-cert")
	fs.StringVar(&c.bulkDir, "bulk-dir", "", "where bulk export and import jobs keep their files (default DATA/bulk); one per server process")
	fs.StringVar(&c.bulkAllow, "bulk-allow", "", "URL prefixes $import may fetch inputs from, comma-separated (default none: uploads only)")
	fs.StringVar(&c.debugAddr, "debug-addr", "", "if set, serve Go's profiler (/debug/pprof/) on this separate address, e.g. 127.0.0.1:6060; keep it private")
	c.auth.flags(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := envDefaults(fs, getenv); err != nil {
		fmt.Fprintln(stderr, "sharedcare serve:", err)
		return 2
	}
	log := newLogger(stderr, c.logLevel, c.logFormat)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx, c, log, nil); err != nil {
		log.Error("serve failed", "err", err)
		return 1
	}
	return 0
}

func newLogger(w io.Writer, level, format string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: l}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if format == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(h)
}

// openStore opens the database the configuration names.
func openStore(ctx context.Context, dataDir, db string) (store.Store, error) {
	if strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://") {
		return postgres.Open(ctx, db)
	}
	if db != "" {
		return nil, fmt.Errorf("--db must be empty (embedded SQLite) or a postgres:// URL")
	}
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return nil, err
	}
	return sqlite.Open(ctx, dataDir)
}

// newService wires the record service with the official R4 definitions.
func newService(st store.Store, validation string) (*record.Service, error) {
	var opts validate.Options
	switch validation {
	case "strict", "":
	case "lenient":
		opts.UnknownElements = true
	default:
		return nil, fmt.Errorf("--validation must be strict or lenient, not %q", validation)
	}
	return record.New(st, opts.Resource, fhirdef.IsResourceType), nil
}

// startMLLP receives HL7 v2 on c.mllp (over TLS with a certificate),
// writing each message to the record before acknowledging it.
func startMLLP(ctx context.Context, c serveConfig, svc *record.Service, persons *person.Service, log *slog.Logger, errc chan<- error) (*hl7v2.Server, error) {
	if (c.mllpCert == "") != (c.mllpKey == "") {
		return nil, fmt.Errorf("--mllp-cert and --mllp-key go together")
	}
	ln, err := net.Listen("tcp", c.mllp)
	if err != nil {
		return nil, fmt.Errorf("--mllp: %w", err)
	}
	if c.mllpCert != "" {
		cert, err := tls.LoadX509KeyPair(c.mllpCert, c.mllpKey)
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("--mllp-cert: %w", err)
		}
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	}
	h := &feed.HL7{Record: svc, Persons: persons, Mapper: hl7fhir.New(hl7fhir.Options{}), Base: "http://" + c.addr + "/fhir"}
	hsrv := &hl7v2.Server{Handler: h, Log: log, Application: "SHAREDCARE"}
	go func() {
		if err := hsrv.Serve(ctx, ln); err != nil && !errors.Is(err, hl7v2.ErrServerClosed) {
			errc <- fmt.Errorf("mllp: %w", err)
		}
	}()
	log.Info("receiving HL7 v2 over MLLP", "addr", ln.Addr().String(), "tls", c.mllpCert != "")
	return hsrv, nil
}

// debugHandler serves Go's profiler.
func debugHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// serve runs the server until ctx ends, then shuts down gracefully:
// requests in flight finish, then the store commits and closes. If ready
// is not nil it receives the listening address.
func serve(ctx context.Context, c serveConfig, log *slog.Logger, ready chan<- string) error {
	st, err := openStore(ctx, c.data, c.db)
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	defer st.Close()
	svc, err := newService(st, c.validation)
	if err != nil {
		return err
	}
	// Deny by default: every interaction is decided for whoever signed in.
	svc.SetAccess(&access.Policy{})
	// The server's own work (the person index, reindexing, feeds) runs as
	// the system.
	ctx = access.WithPrincipal(ctx, access.SystemPrincipal("sharedcare", ""))
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	// The audit log: every access and change, hash-chained and signed
	// with a key kept outside the database.
	alog, err := openServerAudit(ctx, c, log)
	if err != nil {
		return err
	}
	defer alog.Close() // after the HTTP server stops, before the store closes
	authn, err := setupAuth(ctx, c, ln.Addr().String(), log, func(r *http.Request, status int, reason string) {
		ev := rest.Event(r, "/fhir", status, access.NoteSummary{Refused: reason})
		ev.Interaction = "refused"
		alog.Append(ev)
	})
	if err != nil {
		return err
	}
	defer authn.close()
	if c.seed != nil && authn.idp != nil {
		if err := c.seed(ctx, authn.idp); err != nil {
			return fmt.Errorf("demo users: %w", err)
		}
	}
	if svc.IndexScope, err = parseScope(c.searchIndex); err != nil {
		return err
	}
	// Types indexed by another server version or setting are rebuilt in
	// the background; the wait comes before the store closes.
	rctx, stopReindex := context.WithCancel(ctx)
	waitReindex, err := startReindex(rctx, svc, log)
	if err != nil {
		stopReindex()
		return fmt.Errorf("search index: %w", err)
	}
	defer func() {
		stopReindex()
		waitReindex()
	}()
	where := c.data
	if c.db != "" {
		where = "postgres"
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), rest.NewIndexCollector(svc))
	api := rest.New(svc, "/fhir", log)
	api.BaseURL = c.baseURL
	api.MaxBody = c.maxBody
	api.Version = Version
	// One person, one record: every Patient written from now on is
	// linked to a person (internal/person), and the index is rebuilt
	// from the persons already in the record.
	persons := person.New(svc, nil, log)
	if err := persons.Start(ctx); err != nil {
		return err
	}
	defer persons.Close()
	api.Persons = persons
	// Alerts to the organisations caring for a person (admissions,
	// discharges, results), from every feed; stopped before the store.
	alerts := notify.New(svc, notify.Options{Log: log})
	if err := alerts.Start(ctx); err != nil {
		return err
	}
	defer alerts.Close()
	api.Audit, api.AuditLog = api.AuditTo(alog), alog
	if p := authn.idp; p != nil {
		api.OAuth = &rest.OAuthEndpoints{Authorize: p.Issuer() + "/authorize", Token: p.Issuer() + "/oauth/token"}
	}
	if c.sourceODS != "" {
		ods, err := record.ParseODS(c.sourceODS)
		if err != nil {
			return fmt.Errorf("--source-ods: %w", err)
		}
		api.Source = record.Source{ODS: ods}
	}
	if api.Bulk, err = newBulk(svc, c, log); err != nil {
		return err
	}
	defer api.Bulk.Close() // before the store closes: cancels the jobs still running

	mux := http.NewServeMux()
	fhirHandler := api.Handler()
	mux.Handle("/fhir", fhirHandler)
	mux.Handle("/fhir/", fhirHandler)
	if p := authn.idp; p != nil {
		mux.Handle("/auth/", p.Handler())
		smart := p.SmartConfiguration(authn.fhirBase)
		mux.HandleFunc("GET /fhir/.well-known/smart-configuration", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write(smart)
		})
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		pctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := st.Ping(pctx); err != nil {
			http.Error(w, "store not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ready\n"))
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "sharedcare %s\nFHIR R4 API: /fhir (capabilities: /fhir/metadata)\nClinician portal: /app/\nPatient portal: /my/\n", Version)
	})
	inner := authn.middleware(mux)
	apps, err := setupPortals(ctx, c, authn, inner, log)
	if err != nil {
		return err
	}
	for prefix, h := range apps {
		mux.Handle(prefix+"/", h)
		mux.Handle("GET "+prefix, http.RedirectHandler(prefix+"/", http.StatusMovedPermanently))
	}
	handler := rest.Observe(inner, log, rest.NewMetrics(reg), "/fhir")

	if c.debugAddr != "" {
		// The profiler gets its own listener so that it is never exposed
		// on the API's address by accident.
		dln, err := net.Listen("tcp", c.debugAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("debug address: %w", err)
		}
		dsrv := &http.Server{Handler: debugHandler(), ReadHeaderTimeout: 10 * time.Second}
		go dsrv.Serve(dln)
		defer dsrv.Close()
		log.Warn("profiler serving on the debug address: keep it private", "addr", dln.Addr().String())
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("sharedcare serving", "addr", ln.Addr().String(), "fhir", authn.fhirBase, "store", st.Dialect(), "data", where, "version", Version)
	errc := make(chan error, 2)
	if c.mllp != "" {
		hsrv, err := startMLLP(ctx, c, svc, persons, log, errc)
		if err != nil {
			ln.Close()
			return err
		}
		// Stopped before the store closes (deferred earlier), after the
		// HTTP server: messages in flight are stored and acknowledged.
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), c.shutdownGrace)
			defer cancel()
			hsrv.Shutdown(sctx)
		}()
	}
	go func() { errc <- srv.Serve(ln) }()
	// Ready once everything listens (the MLLP feed included).
	if ready != nil {
		ready <- ln.Addr().String()
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing requests in flight", "grace", c.shutdownGrace)
	sctx, cancel := context.WithTimeout(context.Background(), c.shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	log.Info("stopped")
	return nil
}
