package cli

import (
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sharedcare/sharedcare/internal/idp"
	"github.com/sharedcare/sharedcare/internal/synth"
)

var updateScreenshots = flag.Bool("update-screenshots", false, "save the portal's screenshots to docs/screenshots")

// demoServer is a demo run for the portal tests: its root URL, the demo
// users' password and the demo accounts.
type demoServer struct {
	root, password string
	accounts       map[string]synth.Account
}

// eprClient is a local EPR registered in the portal tests' demo: a system
// that opens the portal on a patient (SMART EHR launch).
var eprClient = idp.Client{ID: "test-epr", Secret: "test-epr-secret-not-used-anywhere-else", Name: "A local EPR", Org: "C88922",
	Scopes: []string{"system/Patient.rs"}, GrantTypes: []string{idp.GrantClientCredentials}}

func startDemo(t testing.TB, patients int, seed int64) *demoServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	loaded := make(chan string, 1)
	done := make(chan error, 1)
	cfg := demoConfig{addr: "127.0.0.1:0", patients: patients, seed: seed, log: newLogger(&stderr, "warn", "text"), clients: []idp.Client{eprClient}}
	go func() { done <- demo(ctx, cfg, &stdout, &stderr, loaded) }()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the demo's log:\n%s", stderr.String())
		}
	})
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(time.Minute):
			t.Error("the demo did not stop")
		}
	})
	var base string
	select {
	case base = <-loaded:
	case err := <-done:
		t.Fatalf("demo stopped: %v\n%s\n%s", err, stdout.String(), stderr.String())
	case <-time.After(4 * time.Minute):
		t.Fatalf("the demo did not load in 4 minutes\n%s", stderr.String())
	}
	out := stdout.String()
	d := &demoServer{root: strings.TrimSuffix(base, "/fhir"), password: strings.Fields(strings.SplitN(out, "with the password ", 2)[1])[0],
		accounts: map[string]synth.Account{}}
	g, _ := synth.New(synth.Config{Seed: seed, Patients: patients})
	for _, a := range g.DemoAccounts() {
		d.accounts[a.Username] = a
	}
	return d
}

// portalUser is a browser signed in to the clinician portal, as far as
// HTTP goes: cookies and redirects.
type portalUser struct {
	t    testing.TB
	root string
	c    *http.Client
	csrf string
}

func (d *demoServer) signInPortal(t testing.TB, username string) *portalUser {
	t.Helper()
	return d.signInAt(t, "/app", username)
}

// signInAt signs username in to the portal at prefix (/app or /my); a
// person who may open several records opens their own.
func (d *demoServer) signInAt(t testing.TB, prefix, username string) *portalUser {
	t.Helper()
	return d.signInFor(t, prefix, username, "")
}

// signInFor signs username in, choosing the record of patient when the
// provider asks whose record ("": the first offered, their own).
func (d *demoServer) signInFor(t testing.TB, prefix, username, patient string) *portalUser {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	u := &portalUser{t: t, root: d.root, c: &http.Client{Jar: jar}}
	status, page := u.get(prefix + "/signin")
	field := func(name string) string {
		m := regexp.MustCompile(`name="` + name + `" value="([^"]*)"`).FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("sign-in page (%d) has no %s:\n%.400s", status, name, page)
		}
		return m[1]
	}
	status, page = u.post("/auth/login", url.Values{"id": {field("id")}, "csrf": {field("csrf")}, "username": {username}, "password": {d.password}})
	if strings.Contains(page, "<h1>Whose record?</h1>") {
		if patient == "" {
			patient = field("patient")
		}
		status, page = u.post("/auth/login/patient", url.Values{"id": {field("id")}, "csrf": {field("csrf")}, "patient": {patient}})
	}
	if status != 200 || !strings.Contains(page, "Sign out") {
		t.Fatalf("portal sign-in as %s: %d\n%.600s", username, status, page)
	}
	m := regexp.MustCompile(`name="csrf" value="([^"]*)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token on the page after sign-in")
	}
	u.csrf = m[1]
	return u
}

func (u *portalUser) get(path string) (int, string) {
	u.t.Helper()
	resp, err := u.c.Get(u.root + path)
	if err != nil {
		u.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (u *portalUser) post(path string, form url.Values) (int, string) {
	u.t.Helper()
	req, _ := http.NewRequest("POST", u.root+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", u.root)
	resp, err := u.c.Do(req)
	if err != nil {
		u.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestClinicianPortal drives the clinician portal over HTTP as a browser
// would (cookies, redirects, forms), against the demo: sign-in through
// the built-in provider, find a person, their whole record with each
// organisation's items, writes, break glass and the privacy officer's
// queue, and the friendly pages for bad input.
func TestClinicianPortal(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo")
	}
	d := startDemo(t, 20, 3)
	p1 := d.accounts["patient1"].Patient

	// Not signed in: sent to sign in, nothing shown.
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Get(d.root + "/app/patient/" + p1)
	if err != nil || resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), "/app/signin") {
		t.Fatalf("a record without signing in: %v %v %v", err, resp.Status, resp.Header.Get("Location"))
	}

	gp := d.signInPortal(t, "gp")
	_, page := gp.get("/app/search")
	if !strings.Contains(page, d.accounts["gp"].Name) || !strings.Contains(page, "GP") || !strings.Contains(page, d.accounts["gp"].Org) {
		t.Errorf("the banner does not show the GP's name, role and organisation")
	}

	// Find patient1 by NHS number, typed with spaces.
	nhs := nhsOf(t, gp, p1)
	spaced := nhs[:3] + " " + nhs[3:6] + " " + nhs[6:]
	status, page := gp.get("/app/search?by=nhs&nhs=" + url.QueryEscape(spaced))
	if status != 200 || !strings.Contains(page, "/app/patient/") || !strings.Contains(page, spaced) {
		t.Fatalf("search by NHS number: %d\n%.800s", status, page)
	}
	for _, bad := range []struct{ q, want string }{
		{"by=nhs&nhs=" + nhs[:9] + string('0'+(nhs[9]-'0'+1)%10), "valid NHS number"},
		{"by=nhs&nhs=abc", "valid NHS number"},
		{"by=name&name=a&dob=yesterday", "date of birth"},
		{"by=postcode&postcode=NOTAPOSTCODE", "full postcode"},
		{"by=bogus", "Choose how to search"},
	} {
		if status, page := gp.get("/app/search?" + bad.q); status != 400 || !strings.Contains(page, bad.want) {
			t.Errorf("search %s: %d, want 400 saying %q", bad.q, status, bad.want)
		}
	}

	// The whole record, from several organisations.
	status, page = gp.get("/app/patient/" + p1)
	if status != 200 {
		t.Fatalf("patient1's record: %d\n%.800s", status, page)
	}
	for _, h := range []string{"Problems and diagnoses", "Medications", "Allergies and adverse reactions", "Investigations and results", "Encounters and events", "Care and support plans", "Letters, summaries and notes", "Immunisations", "Procedures", "Referrals and appointments", "<svg"} {
		if !strings.Contains(page, h) {
			t.Errorf("the record lacks %q", h)
		}
	}
	orgs := map[string]bool{}
	for _, m := range regexp.MustCompile(`title="Recorded by [^"]*\(([A-Z0-9]+)\)"`).FindAllStringSubmatch(page, -1) {
		orgs[m[1]] = true
	}
	if len(orgs) < 2 {
		t.Errorf("the record shows items from %d organisations (%v), want several", len(orgs), orgs)
	}

	// A note, attributed to the GP and found in the timeline; its
	// title is shown as text, never as markup.
	title := "Reviewed at home <script>alert(1)</script>"
	status, page = gp.post("/app/patient/"+p1+"/note", url.Values{"csrf": {gp.csrf}, "title": {title}, "text": {"Well; daughter visiting daily."}})
	if status != 200 || !strings.Contains(page, "Your note was added") {
		t.Fatalf("adding a note: %d\n%.500s", status, page)
	}
	if strings.Contains(page, "<script>alert(1)") || !strings.Contains(page, "Reviewed at home &lt;script&gt;") {
		t.Errorf("the note's title is not escaped in the timeline")
	}
	// An observation joins its trend; bad values are explained.
	if status, page = gp.post("/app/patient/"+p1+"/observation", url.Values{"csrf": {gp.csrf}, "kind": {"bp"}, "value": {"80"}, "value2": {"120"}}); status != 400 || !strings.Contains(page, "systolic the higher") {
		t.Errorf("a diastolic above the systolic: %d", status)
	}
	if status, page = gp.post("/app/patient/"+p1+"/observation", url.Values{"csrf": {gp.csrf}, "kind": {"bp"}, "value": {"133"}, "value2": {"77"}}); status != 200 || !strings.Contains(page, "133/77") {
		t.Errorf("recording a blood pressure: %d (the latest should show 133/77)", status)
	}
	if status, _ = gp.post("/app/patient/"+p1+"/flag", url.Values{"csrf": {gp.csrf}, "kind": {"falls"}, "detail": {"two falls this month"}}); status != 200 {
		t.Errorf("raising a flag: %d", status)
	}
	if status, page = gp.post("/app/patient/"+p1+"/careplan", url.Values{"csrf": {gp.csrf}, "kind": {"end-of-life"}, "description": {"Wishes to stay at home."}}); status != 200 || !strings.Contains(page, "Wishes to stay at home.") {
		t.Errorf("adding a care plan: %d", status)
	}
	// No CSRF token, a wrong one, or a form from another site: refused.
	if status, _ = gp.post("/app/patient/"+p1+"/note", url.Values{"text": {"forged"}}); status != 403 {
		t.Errorf("a note without the CSRF token: %d", status)
	}
	if status, _ = gp.post("/app/patient/"+p1+"/note", url.Values{"csrf": {"wrong"}, "text": {"forged"}}); status != 403 {
		t.Errorf("a note with a wrong CSRF token: %d", status)
	}
	req, _ := http.NewRequest("POST", d.root+"/app/patient/"+p1+"/note", strings.NewReader(url.Values{"csrf": {gp.csrf}, "text": {"x"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if resp, err := gp.c.Do(req); err != nil || resp.StatusCode != 403 {
		t.Errorf("a cross-site form: %v %v", err, resp.Status)
	}

	// Friendly pages for what cannot be shown.
	for _, c := range []struct {
		path   string
		status int
	}{{"/app/patient/does-not-exist", 404}, {"/app/patient/%3Cscript%3E", 404}, {"/app/nowhere", 404}, {"/app/patient/" + p1 + "/document/nope", 404}} {
		if status, page := gp.get(c.path); status != c.status || strings.Contains(page, "goroutine") || !strings.Contains(page, "Sign out") {
			t.Errorf("%s: %d, want %d with a page", c.path, status, c.status)
		}
	}

	// A consultant with no relationship with someone is refused, offered
	// break glass, opens the record with a reason, and the privacy
	// officer sees it in the queue.
	cons := d.signInPortal(t, "consultant")
	other := refusedPatient(t, d, "consultant")
	status, page = cons.get("/app/patient/" + other)
	if status != 403 || !strings.Contains(page, "break-glass") || !strings.Contains(page, "reviewed by a privacy officer") {
		t.Fatalf("a record without a relationship: %d\n%.600s", status, page)
	}
	if status, _ = cons.post("/app/patient/"+other+"/break-glass", url.Values{"csrf": {cons.csrf}, "reason": {"emergency"}}); status != 400 {
		t.Errorf("break glass without saying why: %d", status)
	}
	status, page = cons.post("/app/patient/"+other+"/break-glass", url.Values{"csrf": {cons.csrf}, "reason": {"emergency"}, "text": {"Unconscious in resus"}})
	if status != 200 || !strings.Contains(page, "privacy officer will review") || !strings.Contains(page, "Encounters and events") {
		t.Fatalf("after break glass: %d\n%.600s", status, page)
	}
	po := d.signInPortal(t, "privacy-officer")
	status, page = po.get("/app/privacy/break-glass")
	if status != 200 || !strings.Contains(page, "Unconscious in resus") || !strings.Contains(page, d.accounts["consultant"].Name) {
		t.Errorf("the privacy officer's queue: %d\n%.800s", status, page)
	}
	task := regexp.MustCompile(`action="/app/privacy/break-glass/([^"]+)"`).FindStringSubmatch(page)
	if task == nil {
		t.Fatalf("no review form in the queue")
	}
	if status, page = po.post("/app/privacy/break-glass/"+task[1], url.Values{"csrf": {po.csrf}, "outcome": {"appropriate"}, "note": {"Confirmed with the ED consultant"}}); status != 200 || !strings.Contains(page, "Reviewed: appropriate") {
		t.Errorf("reviewing the break-glass event: %d\n%s", status, regexp.MustCompile(`(?s)<main.*</main>`).FindString(page))
	}
	if status, _ = po.post("/app/privacy/break-glass/"+task[1], url.Values{"csrf": {po.csrf}, "outcome": {"maybe"}}); status != 400 {
		t.Errorf("a review with no outcome: %d", status)
	}
	status, page = po.get("/app/privacy/audit?patient=" + other + "&purpose=ETREAT")
	if status != 200 || !strings.Contains(page, d.accounts["consultant"].Name) {
		t.Errorf("the audit search for break-glass on the record: %d\n%.800s", status, page)
	}
	if status, _ = po.get("/app/privacy/audit?from=notadate"); status != 400 {
		t.Errorf("an audit search with a bad date: %d", status)
	}
	// Roles: the privacy officer reads no records here; an administrator
	// finds nobody.
	if status, _ = po.get("/app/patient/" + p1); status != 403 {
		t.Errorf("the privacy officer opened a record: %d", status)
	}
	if status, _ = d.signInPortal(t, "admin").get("/app/search?nhs=" + nhs); status != 403 {
		t.Errorf("an administrator searched for a person: %d", status)
	}

	// The demo admitted patient1 to the consultant's trust: the GP's
	// practice has the alert in its inbox.
	deadline := time.Now().Add(30 * time.Second)
	for {
		status, page = gp.get("/app/inbox")
		if status == 200 && strings.Contains(page, "Admitted") && strings.Contains(page, "/app/patient/"+p1) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the GP's inbox has no admission of patient1: %d\n%.1500s", status, page)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// A local EPR opens the portal on patient1 (SMART EHR launch): the
	// user signs in and lands on the record.
	launch := ehrLaunch(t, d, p1)
	epr := &portalUser{t: t, root: d.root}
	jar, _ := cookiejar.New(nil)
	epr.c = &http.Client{Jar: jar}
	status, page = epr.get("/app/launch?iss=" + url.QueryEscape(d.root+"/fhir") + "&launch=" + url.QueryEscape(launch))
	form := func(name string) string {
		m := regexp.MustCompile(`name="` + name + `" value="([^"]*)"`).FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("EHR launch: no sign-in form (%d):\n%.500s", status, page)
		}
		return m[1]
	}
	status, page = epr.post("/auth/login", url.Values{"id": {form("id")}, "csrf": {form("csrf")}, "username": {"gp"}, "password": {d.password}})
	if status != 200 || !strings.Contains(page, "Encounters and events") || !strings.Contains(page, nhs[:3]+" "+nhs[3:6]) {
		t.Errorf("EHR launch did not land on patient1's record: %d\n%.500s", status, page)
	}
	if status, _ = epr.get("/app/launch?iss=" + url.QueryEscape(d.root+"/fhir") + "&launch=" + url.QueryEscape(launch)); status != 400 {
		// The launch was used: the provider refuses it again, and the
		// portal says sign-in did not complete.
		t.Logf("a used launch: %d", status)
	}
	if status, _ = epr.get("/app/launch?iss=" + url.QueryEscape("https://elsewhere.example/fhir") + "&launch=x"); status != 400 {
		t.Errorf("a launch for another server: %d", status)
	}

	// Sign out ends the session.
	if status, _ = gp.post("/app/signout", url.Values{"csrf": {gp.csrf}}); status != 200 {
		t.Errorf("sign out: %d", status)
	}
	if _, page = gp.get("/app/patient/" + p1); strings.Contains(page, "Encounters and events") {
		t.Errorf("the record is still shown after signing out")
	}
}

// ehrLaunch makes an EHR launch on patient as the test's local EPR.
func ehrLaunch(t *testing.T, d *demoServer, patient string) string {
	t.Helper()
	tok, err := clientToken(context.Background(), d.root+"/fhir", eprClient.ID, eprClient.Secret, "system/Patient.rs")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", d.root+"/auth/launch", strings.NewReader(url.Values{"patient": {patient}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var l struct{ Launch string }
	if err := json.NewDecoder(resp.Body).Decode(&l); err != nil || l.Launch == "" {
		t.Fatalf("POST /auth/launch: %d %v", resp.StatusCode, err)
	}
	return l.Launch
}

// nhsOf reads a Patient's NHS number through the API as the demo's GP.
func nhsOf(t *testing.T, u *portalUser, id string) string {
	t.Helper()
	_, page := u.get("/app/patient/" + id)
	m := regexp.MustCompile(`id="nhs-number">(\d{3}) (\d{3}) (\d{4})<`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no NHS number on %s's record", id)
	}
	return m[1] + m[2] + m[3]
}

// refusedPatient finds a person whose record username may not open.
func refusedPatient(t *testing.T, d *demoServer, username string) string {
	t.Helper()
	tok := signIn(t, d.root+"/auth", d.root+"/fhir", username, d.password, "openid fhirUser user/*.cruds")
	get := func(path string) (int, []byte) {
		req, _ := http.NewRequest("GET", d.root+"/fhir/"+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	_, b := get("Patient?_count=100&_elements=id")
	var bundle struct {
		Entry []struct{ Resource struct{ ID string } }
	}
	json.Unmarshal(b, &bundle)
	for _, e := range bundle.Entry {
		if st, _ := get("Patient/" + e.Resource.ID + "/$everything?_count=1"); st == 403 {
			return e.Resource.ID
		}
	}
	t.Fatalf("%s may open every record", username)
	return ""
}

// chromium finds the browser for the browser tests: skipped where there
// is none, except in CI, where it must be.
func chromium(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"} {
		if p == "" {
			continue
		}
		if _, err := exec.LookPath(p); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("CI=true and no Chromium: .ci/run installs Debian's chromium")
	}
	t.Skip("no Chromium on this machine (apt-get install chromium)")
	return ""
}

// screenshotDir is where the browser test saves its screenshots: the
// docs with -update-screenshots, else the test's own directory.
func screenshotDir(t *testing.T) string {
	if *updateScreenshots {
		dir, _ := filepath.Abs("../../docs/screenshots")
		os.MkdirAll(dir, 0o755)
		return dir
	}
	return t.TempDir()
}
