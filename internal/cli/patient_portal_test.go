package cli

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestPatientPortal drives the patient portal over HTTP against the demo:
// a person reads a letter (new, then read), records a blood pressure that
// their GP sees marked as theirs, sets a goal, changes their sharing
// choice (and their GP is refused without break glass), finds the GP's
// access in "who has looked" and queries it (the privacy officer's
// queue), shares part of their record with an organisation and stops it,
// reports an error (the contributing organisation's inbox); a parent acts
// for a child; and nobody reaches another person's record by any URL.
func TestPatientPortal(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo")
	}
	d := startDemo(t, 20, 3)
	p1 := d.accounts["patient1"].Patient
	me := d.signInAt(t, "/my", "patient1")

	// My record, with items from several organisations.
	status, page := me.get("/my/record")
	if status != 200 || !strings.Contains(page, "My record") || !strings.Contains(page, "Health problems") || strings.Count(page, `class="app-source"`) < 3 {
		t.Fatalf("my record: %d\n%.800s", status, page)
	}

	// Letters: a new one, read, then not new.
	status, page = me.get("/my/letters")
	m := regexp.MustCompile(`<li class="sc-unread">.*?href="/my/letters/([^"]+)"`).FindStringSubmatch(page)
	if status != 200 || m == nil {
		t.Fatalf("no unread letter: %d\n%.1500s", status, page)
	}
	if status, page = me.get("/my/letters/" + m[1]); status != 200 || !strings.Contains(page, `id="letter-text"`) {
		t.Errorf("reading a letter: %d\n%.500s", status, page)
	}
	// The read reaches the audit log in the background: wait for it.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if _, page = me.get("/my/letters"); !strings.Contains(page, `New</strong> <a href="/my/letters/`+m[1]+`"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("the letter read is still new")
			break
		}
	}

	// A blood pressure at home: on my chart, and on the GP's view marked
	// as entered by the person.
	if status, page = me.post("/my/readings", url.Values{"csrf": {me.csrf}, "kind": {"bp"}, "value": {"90"}, "value2": {"120"}}); status != 400 {
		t.Errorf("the bottom number above the top: %d", status)
	}
	status, page = me.post("/my/readings", url.Values{"csrf": {me.csrf}, "kind": {"bp"}, "value": {"127"}, "value2": {"79"}})
	if status != 200 || !strings.Contains(page, "127/79") || !strings.Contains(page, `id="chart-bp"`) {
		t.Fatalf("recording a blood pressure: %d\n%.600s", status, page)
	}
	if status, page = me.post("/my/goals", url.Values{"csrf": {me.csrf}, "measure": {"bp"}, "target": {"135"}, "text": {"Keep my blood pressure down"}}); status != 200 || !strings.Contains(page, "Keep my blood pressure down") || !strings.Contains(page, "Goal 135") {
		t.Errorf("setting a goal: %d", status)
	}
	gp := d.signInPortal(t, "gp")
	if _, page = gp.get("/app/patient/" + p1); !strings.Contains(page, "127/79") || !strings.Contains(page, "Entered by the person") {
		t.Errorf("the GP does not see the home reading, marked as the person's")
	}

	// Report an error in an item: it lands in the recording
	// organisation's inbox.
	_, page = me.get("/my/record")
	rm := regexp.MustCompile(`href="report\?item=([^&]+)&amp;org=([^&]+)&amp;orgname=([^&]*)&amp;title=([^"]*)"`).FindStringSubmatch(page)
	if rm == nil {
		t.Fatalf("no report-an-error link")
	}
	item, _ := url.QueryUnescape(rm[1])
	org, _ := url.QueryUnescape(rm[2])
	if status, _ = me.post("/my/report", url.Values{"csrf": {me.csrf}, "item": {item}, "org": {org}, "title": {"x"}, "text": {""}}); status != 400 {
		t.Errorf("an empty report: %d", status)
	}
	if status, page = me.post("/my/report", url.Values{"csrf": {me.csrf}, "item": {item}, "org": {org}, "title": {"x"}, "text": {"I have never had this"}}); status != 200 || !strings.Contains(page, "Thank you") {
		t.Errorf("reporting an error on %s to %s: %d\n%s", item, org, status, mainOf(page))
	}
	// It reaches whoever works at the organisation that recorded it.
	for _, who := range []string{"gp", "consultant", "district-nurse", "pharmacist"} {
		if d.accounts[who].Org != org {
			continue
		}
		if _, page = d.signInPortal(t, who).get("/app/inbox"); !strings.Contains(page, "I have never had this") {
			t.Errorf("%s's inbox (%s) lacks the reported error:\n%s", who, org, mainOf(page))
		}
		break
	}

	// Sharing: emergency only; the GP is refused and offered break glass.
	status, page = me.post("/my/sharing", url.Values{"csrf": {me.csrf}, "choice": {"emergency"}})
	if status != 200 || !strings.Contains(page, "applies from now") || !strings.Contains(page, `id="choice-emergency" name="choice" type="radio" value="emergency" checked`) {
		t.Fatalf("changing the sharing choice: %d\n%.600s", status, page)
	}
	if status, page = gp.get("/app/patient/" + p1); status != 403 || !strings.Contains(page, "break-glass") {
		t.Errorf("the GP after 'emergency only': %d", status)
	}
	// Who has looked: the GP, refused; queried to the privacy officer.
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if _, page = me.get("/my/access"); strings.Contains(page, "refused") {
			break
		}
	}
	if !strings.Contains(page, d.accounts["gp"].Name) || !strings.Contains(page, "refused") {
		t.Errorf("who has looked lacks the GP's refused access:\n%.3000s", mainOf(page))
	}
	ev := regexp.MustCompile(`name="event" value="(\d+)"`).FindStringSubmatch(page)
	if ev == nil {
		t.Fatalf("no access to query")
	}
	if status, page = me.post("/my/access/query", url.Values{"csrf": {me.csrf}, "event": {ev[1]}, "text": {"Who is this?"}}); status != 200 || !strings.Contains(page, "privacy officer") {
		t.Errorf("querying an access: %d", status)
	}
	po := d.signInPortal(t, "privacy-officer")
	if _, page = po.get("/app/privacy/break-glass"); !strings.Contains(page, "Who is this?") {
		t.Errorf("the privacy officer's queue lacks the person's query:\n%.1500s", page)
	}
	if status, _ = me.post("/my/sharing", url.Values{"csrf": {me.csrf}, "choice": {"share"}}); status != 200 {
		t.Errorf("sharing again: %d", status)
	}
	if status, _ = me.post("/my/sharing/opt-out", url.Values{"csrf": {me.csrf}, "optout": {"yes"}}); status != 200 {
		t.Errorf("the national data opt-out: %d", status)
	}

	// Share results with an organisation that has no relationship (the
	// care home), then stop.
	ch := d.signInPortal(t, "care-home-nurse")
	if status, _ = ch.get("/app/patient/" + p1); status != 403 {
		t.Fatalf("the care home reads patient1 before any share: %d", status)
	}
	if status, _ = me.post("/my/shares", url.Values{"csrf": {me.csrf}, "ods": {d.accounts["care-home-nurse"].Org}, "name": {"Beech House"}, "until": {"2020-01-01"}, "part": {"results"}}); status != 400 {
		t.Errorf("a share ending in the past: %d", status)
	}
	status, page = me.post("/my/shares", url.Values{"csrf": {me.csrf}, "ods": {d.accounts["care-home-nurse"].Org}, "name": {"Beech House"}, "until": {"2099-01-01"}, "part": {"results", "medicines"}})
	if status != 400 { // more than a year ahead
		t.Errorf("a share beyond a year: %d", status)
	}
	until := time.Now().AddDate(0, 1, 0).Format("2006-01-02")
	status, page = me.post("/my/shares", url.Values{"csrf": {me.csrf}, "ods": {d.accounts["care-home-nurse"].Org}, "name": {"Beech House"}, "until": {until}, "part": {"results", "medicines"}})
	if status != 200 || !strings.Contains(page, "Stop sharing") {
		t.Fatalf("sharing with the care home: %d\n%.500s", status, page)
	}
	if status, _ = ch.get("/app/patient/" + p1); status != 200 {
		t.Errorf("the care home, shared with, opens patient1: %d", status)
	}
	revoke := regexp.MustCompile(`action="/my/shares/([^"]+)/revoke"`).FindStringSubmatch(page)
	if revoke == nil {
		t.Fatalf("no stop-sharing form")
	}
	if status, _ = me.post("/my/shares/"+revoke[1]+"/revoke", url.Values{"csrf": {me.csrf}}); status != 200 {
		t.Errorf("stopping the share: %d", status)
	}
	if status, _ = ch.get("/app/patient/" + p1); status != 403 {
		t.Errorf("the care home after the share stopped: %d", status)
	}

	// A parent acts for their child: the child's record, not their own.
	if child, ok := d.accounts["child1"]; ok {
		par := d.signInAt(t, "/my", "parent")
		status, page = par.get("/my/record")
		if status != 200 || !strings.Contains(page, "acting for") || !strings.Contains(page, "'s record") {
			t.Errorf("the parent's view of the child's record: %d\n%.800s", status, page)
		}
		if status, _ = par.post("/my/readings", url.Values{"csrf": {par.csrf}, "kind": {"weight"}, "value": {"15.2"}}); status != 200 {
			t.Errorf("the parent records the child's weight: %d", status)
		}
		if status, _ = par.get("/my/letters/" + m[1]); status == 200 {
			t.Errorf("the parent read patient1's letter")
		}
		_ = child
	}

	// patient2 looks after patient1 as well (read-only proxy): signing in,
	// they choose whose record; acting for patient1 they read but do not
	// write.
	carer := d.signInFor(t, "/my", "patient2", p1)
	if status, page = carer.get("/my/record"); status != 200 || !strings.Contains(page, "acting for") || !strings.Contains(page, "'s record") {
		t.Errorf("patient2 acting for patient1: %d\n%s", status, mainOf(page))
	}
	if status, _ = carer.post("/my/readings", url.Values{"csrf": {carer.csrf}, "kind": {"weight"}, "value": {"80"}}); status != 403 {
		t.Errorf("a read-only carer recorded a reading: %d", status)
	}
	if status, _ = carer.post("/my/switch", url.Values{"csrf": {carer.csrf}}); status != 200 {
		t.Errorf("switching person: %d", status)
	}

	// No URL reaches another person's record: the portal has no patient
	// in its paths, and the API refuses anything else.
	other := d.accounts["patient2"].Patient
	for _, path := range []string{
		"/my/record?patient=" + other, "/my/letters/" + m[1] + "?patient=" + other,
		"/my/report?item=Patient/" + other + "&org=X26",
	} {
		_, page := me.get(path)
		if strings.Contains(page, d.accounts["patient2"].Name) {
			t.Errorf("%s shows patient2", path)
		}
	}
	p2 := d.signInAt(t, "/my", "patient2")
	if status, _ = p2.get("/my/letters/" + m[1]); status != 403 && status != 404 {
		t.Errorf("patient2 read patient1's letter: %d", status)
	}
	if status, _ = p2.post("/my/shares/"+revoke[1]+"/revoke", url.Values{"csrf": {p2.csrf}}); status != 403 && status != 404 {
		t.Errorf("patient2 touched patient1's share: %d", status)
	}
	if status, _ = p2.post("/my/access/query", url.Values{"csrf": {p2.csrf}, "event": {ev[1]}}); status != 200 {
		t.Logf("patient2 querying an event id of patient1's: %d", status)
	}
}

// mainOf is a page's main element, for failure messages.
func mainOf(page string) string {
	return regexp.MustCompile(`(?s)<main.*</main>`).FindString(page)
}
