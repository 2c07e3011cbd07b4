package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sharedcare/sharedcare/internal/access"
	"github.com/sharedcare/sharedcare/internal/idp"
	"github.com/sharedcare/sharedcare/internal/rest"
	"github.com/sharedcare/sharedcare/internal/synth"
)

// runDemo is `sharedcare demo`: the platform on the embedded database in a
// fresh data directory, loaded with a synthetic population through its own
// FHIR API, as a new user's first look.
func runDemo(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		c        demoConfig
		logLevel string
	)
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8080", "address to listen on")
	fs.StringVar(&c.data, "data", "", "data directory, which must not exist or be empty (default: a new temporary directory, removed on exit)")
	fs.IntVar(&c.patients, "patients", defaultDemoPatients, fmt.Sprintf("people in the synthetic population, %d to %d", synth.MinPatients, synth.MaxPatients))
	fs.Int64Var(&c.seed, "seed", 1, "random seed of the population")
	fs.BoolVar(&c.keep, "keep", false, "keep the temporary data directory on exit")
	fs.StringVar(&logLevel, "log-level", "warn", "server log level: debug, info, warn, error")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: sharedcare demo [flags]\n\nRuns the platform on the embedded database in a fresh data directory and loads a\nsynthetic population (see `sharedcare synth` and docs/SYNTH.md) through its FHIR API.\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := envDefaults(fs, getenv); err != nil {
		fmt.Fprintln(stderr, "sharedcare demo:", err)
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "sharedcare demo: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	c.log = newLogger(stderr, logLevel, "text")
	if err := demo(ctx, c, stdout, stderr, nil); err != nil {
		fmt.Fprintln(stderr, "sharedcare demo:", err)
		return 1
	}
	return 0
}

// defaultDemoPatients is sized so that the demo is loaded within a minute
// on a 2-core machine (docs/PERFORMANCE.md).
const defaultDemoPatients = 1000

type demoConfig struct {
	addr, data string
	patients   int
	seed       int64
	keep       bool
	log        *slog.Logger
	// clients are more clients to register beside the demo's own (a
	// test's local EPR, say).
	clients []idp.Client
}

// demo runs the server, loads the population, prints where to look, and
// serves until ctx ends. loaded, if not nil, receives the FHIR base once
// the population is in.
func demo(ctx context.Context, c demoConfig, stdout, stderr io.Writer, loaded chan<- string) error {
	g, err := synth.New(synth.Config{Seed: c.seed, Patients: c.patients})
	if err != nil {
		return err
	}
	dir := c.data
	if dir == "" {
		if dir, err = os.MkdirTemp("", "sharedcare-demo-"); err != nil {
			return err
		}
		if !c.keep {
			defer os.RemoveAll(dir)
		}
	} else if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return fmt.Errorf("--data %s is not empty: the demo makes a new database (run `sharedcare serve --data %s` to serve an existing one)", dir, dir)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ready := make(chan string, 1)
	served := make(chan error, 1)
	// Sign-in: the built-in provider with a user for each role and a
	// system client that loads the population. Their password and secret
	// are made up for this run (none is kept in the code). The loader
	// names no organisation of its own: like an integration engine it
	// relays every organisation's records, each attributed by its own
	// meta.source (a client with an organisation would have everything
	// attributed to it).
	password, loader := randomSecret(), idp.Client{ID: "demo-loader", Secret: randomSecret(), Name: "demo loader", Scopes: []string{"system/*.cruds"}, GrantTypes: []string{idp.GrantClientCredentials}}
	accounts := demoUsers(g)
	sc := serveConfig{addr: c.addr, data: dir, validation: "strict", searchIndex: "all",
		maxBody: 64 << 20, shutdownGrace: 10 * time.Second}
	sc.auth.demoPassword = password
	sc.seed = func(ctx context.Context, p *idp.Provider) error {
		users := make([]idp.User, len(accounts))
		for i, a := range accounts {
			users[i] = a
			users[i].Password = password
		}
		return p.SeedDemo(ctx, users, append([]idp.Client{loader, demoApp}, c.clients...))
	}
	go func() { served <- serve(ctx, sc, c.log, ready) }()
	var addr string
	select {
	case addr = <-ready:
	case err := <-served:
		return fmt.Errorf("the server did not start: %w", err)
	}
	base := "http://" + addr + "/fhir"
	fmt.Fprintf(stdout, "sharedcare demo: serving %s (data in %s)\n", base, dir)
	token, err := clientToken(ctx, base, loader.ID, loader.Secret, "system/*.cruds")
	if err != nil {
		cancel()
		<-served
		return fmt.Errorf("signing in the loader: %w", err)
	}
	fmt.Fprintf(stdout, "loading a synthetic South Yorkshire population of %d people (seed %d)...\n", c.patients, c.seed)
	start := time.Now()
	st, err := loadPopulation(ctx, g, c.patients, base, token, stderr)
	if err != nil {
		cancel()
		<-served
		return err
	}
	elapsed := time.Since(start)
	fmt.Fprintf(stdout, "loaded %d people: %d bundles, %d resources in %.1f s (%.0f resources/s)\n\n",
		st.people, st.bundles, st.resources, elapsed.Seconds(), float64(st.resources)/elapsed.Seconds())
	if err := admitDemoPatient(ctx, base, token, accounts); err != nil {
		c.log.Warn("demo: the admission that shows the GP's alerts was not sent", "err", err)
	}
	if err := delegateDemo(ctx, base, token, accounts); err != nil {
		c.log.Warn("demo: proxy access was not recorded", "err", err)
	}
	printDemoGuide(stdout, base, st.nhsNumber, "http://"+addr+"/auth", password, accounts)
	if loaded != nil {
		loaded <- base
	}
	select {
	case <-ctx.Done():
		return <-served
	case err := <-served:
		return err
	}
}

type loadStats struct {
	people, bundles, resources int64
	nhsNumber                  string // the first person's, for the guide
}

// loadPopulation posts the reference bundle, then everyone's bundles with
// several in flight at once, drawing a progress bar on w. The server
// prepares bundles on every core and commits those waiting together, so
// more in flight than cores makes bigger, cheaper commits.
func loadPopulation(ctx context.Context, g *synth.Generator, total int, base, token string, w io.Writer) (loadStats, error) {
	client := &http.Client{Transport: bearer{token, &http.Transport{MaxIdleConnsPerHost: 8 * runtime.GOMAXPROCS(0)}}}
	var st loadStats
	if err := postBundle(ctx, client, base, g.Reference()); err != nil {
		return st, fmt.Errorf("the reference bundle: %w", err)
	}
	st.resources += int64(g.ReferenceResources())
	work := make(chan synth.Bundle, 64)
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	var resources, bundles, people atomic.Int64
	for range 8 * runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range work {
				if err := postBundle(ctx, client, base, b.JSON); err != nil {
					cancel(fmt.Errorf("a bundle from %s: %w", b.Source, err))
					return
				}
				resources.Add(int64(b.Resources))
				bundles.Add(1)
			}
		}()
	}
	bar := newProgress(w, total)
	genErr := g.People(ctx, runtime.GOMAXPROCS(0), func(p synth.Person) error {
		if p.Index == 0 {
			st.nhsNumber = p.NHSNumber
		}
		for _, b := range p.Bundles {
			select {
			case work <- b:
			case <-ctx.Done():
				return context.Cause(ctx)
			}
		}
		bar.set(int(people.Add(1)), resources.Load())
		return nil
	})
	close(work)
	wg.Wait()
	bar.done(resources.Load())
	if err := context.Cause(ctx); err != nil {
		return st, err
	}
	if genErr != nil {
		return st, genErr
	}
	st.people, st.bundles, st.resources = people.Load(), bundles.Load(), st.resources+resources.Load()
	return st, nil
}

func postBundle(ctx context.Context, client *http.Client, base string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/fhir+json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("status %d: %s", resp.StatusCode, msg)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

// progress draws a progress bar on a terminal, and a line every few
// seconds elsewhere (a log, a test).
type progress struct {
	mu     sync.Mutex
	w      io.Writer
	total  int
	tty    bool
	start  time.Time
	last   time.Time
	people int
}

func newProgress(w io.Writer, total int) *progress {
	tty := false
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	now := time.Now()
	return &progress{w: w, total: total, tty: tty, start: now, last: now}
}

func (p *progress) set(people int, resources int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.people = max(p.people, people)
	every := 5 * time.Second
	if p.tty {
		every = 100 * time.Millisecond
	}
	if time.Since(p.last) < every {
		return
	}
	p.last = time.Now()
	p.draw(resources, false)
}

func (p *progress) done(resources int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.draw(resources, true)
}

func (p *progress) draw(resources int64, final bool) {
	const width = 30
	n := width * p.people / max(p.total, 1)
	rate := float64(resources) / max(time.Since(p.start).Seconds(), 1e-9)
	line := fmt.Sprintf("[%s%s] %d/%d people, %d resources, %.0f/s", strings.Repeat("#", n), strings.Repeat(".", width-n), p.people, p.total, resources, rate)
	switch {
	case p.tty && final:
		fmt.Fprintf(p.w, "\r%s\n", line)
	case p.tty:
		fmt.Fprintf(p.w, "\r%s", line)
	default:
		fmt.Fprintln(p.w, line)
	}
}

// printDemoGuide says what to open.
func printDemoGuide(w io.Writer, base, nhs, signIn, password string, users []idp.User) {
	root := strings.TrimSuffix(base, "/fhir")
	fmt.Fprintf(w, "Open the clinician portal at %s/app/ or the patient portal at %s/my/,\n", root, root)
	fmt.Fprintf(w, "and sign in (at %s) as any of these users, with the password %s (made up for this run):\n", signIn, password)
	for _, u := range users {
		var cares []string
		for _, a := range u.ActsFor {
			for _, o := range users {
				if o.Patient == a.Patient && o.Username != u.Username && !strings.HasPrefix(o.FHIRUser, "RelatedPerson/") {
					cares = append(cares, o.Username)
				}
			}
		}
		if strings.HasPrefix(u.FHIRUser, "RelatedPerson/") {
			for _, o := range users {
				if o.Patient == u.Patient && o.Username != u.Username {
					cares = append(cares, o.Username)
				}
			}
		}
		note := ""
		if len(cares) > 0 {
			note = "  (acts for " + strings.Join(cares, ", ") + ")"
		}
		fmt.Fprintf(w, "  %-16s %-16s %-7s %s%s\n", u.Username, u.Role, u.Org, u.Name, note)
	}
	fmt.Fprintf(w, `
The API wants a token: an app signs in with SMART on FHIR (%s/.well-known/smart-configuration),
a script with client credentials from `+"`sharedcare admin client add`"+`.
`, base)
	fmt.Fprintf(w, `With a token in $TOKEN (curl -H "Authorization: Bearer $TOKEN"), try:
  %[1]s/metadata                                   what the server supports
  %[1]s/Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|%[2]s
                                                   one person, as each organisation holds them
  %[1]s/Patient?family=smith&_count=10             people by family name
  %[1]s/Condition?code=http://snomed.info/sct|38341003&_summary=count
                                                   how many records of hypertension
  %[1]s/Organization?_count=50                     the integrated care board's organisations
  %[1]s/Patient/{id}/$everything                   one record in full

Stop with Ctrl-C.
`, base, nhs)
}

// demoApp is the demo's registered SMART app: a public client (PKCE, no
// secret) that any SMART on FHIR app run on this machine can use, such
// as the fhirclient library's standalone launch.
var demoApp = idp.Client{ID: "demo-app", Name: "SMART app on this machine", Public: true,
	RedirectURIs: []string{"http://localhost:8000/", "http://127.0.0.1:8000/", "http://localhost:8000/index.html"},
	Scopes:       []string{"openid", "fhirUser", "launch", "launch/patient", "offline_access", "patient/*.cruds", "user/*.cruds"}}

// bearer adds a bearer token to every request.
type bearer struct {
	token string
	next  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r)
}

// randomSecret makes up a password or client secret.
func randomSecret() string {
	var b [12]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// clientToken gets a client-credentials token from the token endpoint the
// FHIR base's SMART configuration names.
func clientToken(ctx context.Context, base, id, secret, scope string) (string, error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/.well-known/smart-configuration", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	var smart struct {
		TokenEndpoint string `json:"token_endpoint"`
	}
	err = json.NewDecoder(resp.Body).Decode(&smart)
	resp.Body.Close()
	if err != nil || smart.TokenEndpoint == "" {
		return "", fmt.Errorf("no token endpoint in the SMART configuration: %v", err)
	}
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {scope}}
	req, _ = http.NewRequestWithContext(ctx, "POST", smart.TokenEndpoint, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || resp.StatusCode != 200 || tok.AccessToken == "" {
		return "", fmt.Errorf("token endpoint: status %d", resp.StatusCode)
	}
	return tok.AccessToken, nil
}

// demoUsers are the demo's sign-ins: a user for each role, placed in the
// synthetic care system so that the demo tells a story.
func demoUsers(g *synth.Generator) []idp.User {
	var out []idp.User
	for _, a := range g.DemoAccounts() {
		role, ok := access.ParseRole(a.Role)
		if !ok {
			continue
		}
		out = append(out, idp.User{Username: a.Username, Name: a.Name, Role: role, Org: a.Org, FHIRUser: a.FHIRUser, Patient: a.Patient})
	}
	// patient2 looks after patient1 too (delegateDemo writes the
	// RelatedPerson): at sign-in they choose whose record.
	var p1, p2 *idp.User
	for i := range out {
		switch out[i].Username {
		case "patient1":
			p1 = &out[i]
		case "patient2":
			p2 = &out[i]
		}
	}
	if p1 != nil && p2 != nil {
		p2.ActsFor = []idp.ActsFor{{RelatedPerson: CarerRef(p1.Patient), Patient: p1.Patient, Label: p1.Name + " (you are their carer)"}}
	}
	return out
}

// delegateDemo records the demo's proxies (the generator writes none):
// the parent, with full proxy access to child1's record, and patient2 as
// patient1's carer, who may read it (patient2 switches between their own
// record and patient1's).
func delegateDemo(ctx context.Context, base, token string, accounts []idp.User) error {
	by := map[string]*idp.User{}
	for i := range accounts {
		by[accounts[i].Username] = &accounts[i]
	}
	type proxy struct {
		ref, patient, name, code, display, level string
	}
	var ps []proxy
	if u := by["parent"]; u != nil {
		ps = append(ps, proxy{u.FHIRUser, u.Patient, u.Name, "PRN", "parent", access.ProxyFull})
	}
	if carer, cared := by["patient2"], by["patient1"]; carer != nil && cared != nil {
		ps = append(ps, proxy{CarerRef(cared.Patient), cared.Patient, carer.Name, "GRNDCHILD", "grandchild (carer)", access.ProxyRead})
	}
	client := &http.Client{Transport: bearer{token, http.DefaultTransport}}
	for _, p := range ps {
		id, ok := strings.CutPrefix(p.ref, "RelatedPerson/")
		if !ok {
			return fmt.Errorf("the proxy's reference is %q", p.ref)
		}
		rp := access.Delegation(p.patient, p.name, p.code, p.display, p.level, time.Time{})
		rp["id"] = id
		body, _ := json.Marshal(rp)
		req, _ := http.NewRequestWithContext(ctx, http.MethodPut, base+"/RelatedPerson/"+id, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/fhir+json")
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
		resp.Body.Close()
		if resp.StatusCode >= 300 {
			return fmt.Errorf("RelatedPerson/%s: status %d: %s", id, resp.StatusCode, msg)
		}
	}
	return nil
}

// CarerRef is the RelatedPerson of patient2 as the carer of patient1,
// whose Patient id is cared.
func CarerRef(cared string) string { return "RelatedPerson/carer-" + cared }

// admitDemoPatient admits patient1 now to a ward of the consultant's
// trust, as the trust's feed would, so that the GP's alerts inbox in the
// clinician portal has something in it the minute the demo starts.
func admitDemoPatient(ctx context.Context, base, token string, accounts []idp.User) error {
	var patient, trust string
	for _, a := range accounts {
		switch a.Username {
		case "patient1":
			patient = a.Patient
		case "consultant":
			trust = a.Org
		}
	}
	if patient == "" || trust == "" {
		return fmt.Errorf("no patient1 or consultant")
	}
	client := &http.Client{Transport: bearer{token, http.DefaultTransport}}
	get := func(path string) (string, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/"+path, nil)
		resp, err := client.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		var b struct {
			Entry []struct{ Resource struct{ ID string } }
		}
		if err := json.NewDecoder(resp.Body).Decode(&b); err != nil || len(b.Entry) == 0 {
			return "", fmt.Errorf("%s: none found (status %d)", path, resp.StatusCode)
		}
		return b.Entry[0].Resource.ID, nil
	}
	org, err := get("Organization?identifier=" + url.QueryEscape("https://fhir.nhs.uk/Id/ods-organization-code|"+trust))
	if err != nil {
		return err
	}
	enc := map[string]any{
		"resourceType": "Encounter", "status": "in-progress",
		"class":           map[string]any{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP", "display": "inpatient encounter"},
		"subject":         map[string]any{"reference": "Patient/" + patient},
		"period":          map[string]any{"start": time.Now().UTC().Format(time.RFC3339)},
		"serviceProvider": map[string]any{"reference": "Organization/" + org},
		"reasonCode":      []any{map[string]any{"text": "Shortness of breath"}},
	}
	if ward, err := get("Location?organization=Organization/" + org + "&_count=1"); err == nil {
		enc["location"] = []any{map[string]any{"location": map[string]any{"reference": "Location/" + ward}, "status": "active"}}
	}
	body, _ := json.Marshal(enc)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/Encounter", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/fhir+json")
	req.Header.Set(rest.SourceHeader, trust)
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
		return fmt.Errorf("status %d: %s", resp.StatusCode, msg)
	}
	return nil
}
