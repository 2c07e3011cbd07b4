package rest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sharedcare/sharedcare/internal/fhir"
)

type ctxKey int

const requestIDKey ctxKey = 0

// RequestID returns the request id carried by ctx, or "".
func RequestID(ctx context.Context) string {
	s, _ := ctx.Value(requestIDKey).(string)
	return s
}

// Metrics are the Prometheus collectors of the HTTP edge.
type Metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

// NewMetrics registers the HTTP collectors with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sharedcare_http_requests_total",
			Help: "HTTP requests by FHIR interaction and status code.",
		}, []string{"interaction", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sharedcare_http_request_duration_seconds",
			Help:    "HTTP request latency by FHIR interaction.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"interaction"}),
	}
	reg.MustRegister(m.requests, m.latency)
	return m
}

type recorder struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += n
	return n, err
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Observe wraps h with what every request gets: a request id (the client's
// X-Request-ID, else a new one, echoed with X-Correlation-ID), a structured
// log line, metrics by interaction, and recovery from a panic into a 500
// OperationOutcome so one bad request cannot take the server down.
func Observe(h http.Handler, log *slog.Logger, m *Metrics, prefix string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-ID")
		if id == "" || len(id) > 200 {
			var b [12]byte
			rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		w.Header().Set("X-Request-ID", id)
		if c := r.Header.Get("X-Correlation-ID"); c != "" && len(c) <= 200 {
			w.Header().Set("X-Correlation-ID", c)
		}
		ctx := context.WithValue(r.Context(), requestIDKey, id)
		r = r.WithContext(ctx)
		rec := &recorder{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				log.ErrorContext(ctx, "panic", "request_id", id, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				if rec.status == 0 {
					rec.Header().Set("Content-Type", "application/fhir+json; charset=utf-8")
					rec.WriteHeader(http.StatusInternalServerError)
					b, _ := fhir.Marshal(fhir.Outcome(fhir.E(fhir.Internal, "panic")))
					rec.Write(b)
				}
			}
			if rec.status == 0 {
				rec.status = http.StatusOK
			}
			d := time.Since(start)
			interaction := Interaction(r, prefix)
			if m != nil {
				m.requests.WithLabelValues(interaction, strconv.Itoa(rec.status)).Inc()
				m.latency.WithLabelValues(interaction).Observe(d.Seconds())
			}
			level := slog.LevelInfo
			if rec.status >= 500 {
				level = slog.LevelError
			}
			log.LogAttrs(ctx, level, "request",
				slog.String("request_id", id),
				slog.String("method", r.Method),
				slog.String("path", r.URL.Path),
				slog.String("interaction", interaction),
				slog.Int("status", rec.status),
				slog.Int("bytes", rec.bytes),
				slog.Duration("duration", d))
		}()
		h.ServeHTTP(rec, r)
	})
}

// Interaction names the FHIR interaction of a request for metrics, from its
// method and the shape of its path: a small fixed set of label values.
func Interaction(r *http.Request, prefix string) string {
	p, ok := strings.CutPrefix(r.URL.Path, prefix)
	if !ok {
		switch r.URL.Path {
		case "/healthz", "/readyz", "/metrics":
			return strings.TrimPrefix(r.URL.Path, "/")
		}
		return "other"
	}
	parts := strings.Split(strings.Trim(p, "/"), "/")
	if len(parts) == 1 && parts[0] == "" {
		parts = nil
	}
	m := r.Method
	switch {
	case len(parts) == 0:
		if m == http.MethodPost {
			return "batch-transaction"
		}
		return "search-system"
	case parts[0] == "metadata":
		return "capabilities"
	case parts[0] == "_history":
		return "history-system"
	case strings.HasPrefix(parts[0], "$"), len(parts) == 3 && strings.HasPrefix(parts[2], "$"):
		return "operation" // also bulk status and files, Group/{id}/$export
	case len(parts) == 1:
		switch m {
		case http.MethodPost:
			return "create"
		case http.MethodPut:
			return "conditional-update"
		case http.MethodDelete:
			return "conditional-delete"
		case http.MethodPatch:
			return "conditional-patch"
		}
		return "search-type"
	case len(parts) == 2 && parts[1] == "_history":
		return "history-type"
	case len(parts) == 2 && parts[1] == "_search":
		return "search-type"
	case len(parts) == 2 && strings.HasPrefix(parts[1], "$"):
		return "operation"
	case len(parts) == 2:
		switch m {
		case http.MethodPut:
			return "update"
		case http.MethodPatch:
			return "patch"
		case http.MethodDelete:
			return "delete"
		}
		return "read"
	case len(parts) == 3:
		return "history-instance"
	case len(parts) == 4:
		return "vread"
	}
	return "other"
}
