package cli

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// browser is headless Chromium for a test, with the steps the tests
// share: each fails the test with where the page was and what it said.
type browser struct {
	t     *testing.T
	ctx   context.Context
	root  string
	shots string
}

func newBrowser(t *testing.T, root string) *browser {
	t.Helper()
	exe := chromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1000),
	)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelA)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	return &browser{t: t, ctx: ctx, root: root, shots: screenshotDir(t)}
}

func (b *browser) fail(what string, err error) {
	b.t.Helper()
	c2, c := context.WithTimeout(b.ctx, 5*time.Second)
	defer c()
	loc, _ := chromedp.Run(c2, chromedp.Location())
	body, _ := chromedp.Run(c2, chromedp.Text(chromedp.CSS("body")))
	b.t.Fatalf("%s: %v\nat %s:\n%.1500s", what, err, loc, body)
}

// run does the steps, each within 30 seconds.
func (b *browser) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	sctx, c := context.WithTimeout(b.ctx, 30*time.Second)
	defer c()
	if err := chromedp.Do(sctx, actions...); err != nil {
		b.fail(what, err)
	}
}

// shot saves a screenshot of what the window shows.
func (b *browser) shot(name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.fail("screenshot "+name, err)
	}
	if err := os.WriteFile(filepath.Join(b.shots, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// text is the text of the first element sel selects.
func (b *browser) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.fail("read "+sel, err)
	}
	return s
}

// fitsPhone loads path at a phone's width (375 px) and fails the test
// if anything on it is wider than the screen; it leaves the phone width
// set, for a screenshot.
func (b *browser) fitsPhone(path, ready string) {
	b.t.Helper()
	b.run("phone width", chromedp.EmulateViewport(375, 800), chromedp.Navigate(b.root+path), chromedp.WaitVisible(chromedp.CSS(ready)))
	// The page must not scroll sideways (a table may, inside its own
	// scrolling box).
	overflow, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 2`))
	if err != nil {
		b.fail("phone width", err)
	}
	if overflow {
		wide, _ := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > window.innerWidth + 2).slice(0, 8).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))`))
		b.t.Errorf("%s is wider than a phone's screen: %v", path, wide)
	}
}

// signIn signs username in to the portal at prefix through the
// identity provider's page.
func (b *browser) signIn(prefix, username, password string) {
	b.t.Helper()
	b.run("sign in as "+username+" at "+prefix,
		chromedp.Navigate(b.root+prefix+"/"),
		chromedp.Click(chromedp.CSS("#signin")),
		chromedp.WaitVisible(chromedp.CSS("#username")),
		chromedp.SendKeys(chromedp.CSS("#username"), username),
		chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.Submit(chromedp.CSS("#password")),
		chromedp.WaitVisible(chromedp.CSS(".sc-user__name")),
	)
}

// signOut signs out of the portal at prefix.
func (b *browser) signOut(prefix string) {
	b.t.Helper()
	b.run("sign out", chromedp.Navigate(b.root+prefix+"/"), chromedp.Click(chromedp.CSS(".sc-user button")),
		chromedp.WaitVisible(chromedp.CSS(`a[href="`+prefix+`/signin"]`)))
}

// TestClinicianPortalBrowser is the clinician portal in headless Chromium
// against the demo: a GP signs in, finds patient1 by NHS number, opens
// their record with items from several organisations, adds a note and
// finds it in the timeline; a consultant breaks glass on someone else's
// record; the privacy officer finds it in the review queue. Screenshots
// of the main pages are saved (to docs/screenshots with
// -update-screenshots).
func TestClinicianPortalBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo and a browser")
	}
	chromium(t)
	d := startDemo(t, 20, 3)
	p1 := d.accounts["patient1"].Patient
	other := refusedPatient(t, d, "consultant")
	b := newBrowser(t, d.root)

	// The GP: sign in, the banner, search by NHS number with spaces.
	b.signIn("/app", "gp", d.password)
	if banner := b.text(".sc-user"); !strings.Contains(banner, d.accounts["gp"].Name) || !strings.Contains(banner, d.accounts["gp"].Org) {
		t.Errorf("the banner shows %q", banner)
	}
	b.run("patient1's record", chromedp.Navigate(d.root+"/app/patient/"+p1))
	nhs := b.text("#nhs-number")
	b.run("search by NHS number",
		chromedp.Navigate(d.root+"/app/search"),
		chromedp.SendKeys(chromedp.CSS("#nhs"), nhs),
		chromedp.Submit(chromedp.CSS("#nhs")),
		chromedp.WaitVisible(chromedp.CSS(".sc-result")),
	)
	b.shot("search")
	b.run("open the record", chromedp.Click(chromedp.CSS(".sc-result a")), chromedp.WaitVisible(chromedp.CSS("#timeline")))
	sources, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](`[...new Set([...document.querySelectorAll('.app-source[title]')].map(e => e.title))]`))
	if err != nil {
		b.fail("the record's sources", err)
	}
	if len(sources) < 2 {
		t.Errorf("the record shows items from %d organisations: %v", len(sources), sources)
	}
	b.shot("record")

	// A note, found in the timeline.
	b.run("add a note",
		chromedp.Click(chromedp.CSS("#add-note summary")),
		chromedp.SendKeys(chromedp.CSS("#note-title"), "Home visit"),
		chromedp.SendKeys(chromedp.CSS("#note-text"), "Seen at home. Breathing easier; daughter visiting daily."),
		chromedp.Click(chromedp.CSS("#save-note")),
		chromedp.WaitVisible(chromedp.CSS(".sc-flash")),
	)
	if tl := b.text("#timeline"); !strings.Contains(tl, "Home visit") {
		t.Errorf("the note is not in the timeline:\n%.600s", tl)
	}
	// At phone width the record fits the screen.
	b.fitsPhone("/app/patient/"+p1, "#timeline")
	b.shot("record-phone")
	b.run("desktop width", chromedp.EmulateViewport(1280, 1000))
	b.run("inbox", chromedp.Navigate(d.root+"/app/inbox"), chromedp.WaitVisible(chromedp.CSS("#inbox")))
	b.shot("inbox")
	b.signOut("/app")

	// The consultant, without a relationship, breaks glass.
	b.signIn("/app", "consultant", d.password)
	b.run("a record without a relationship", chromedp.Navigate(d.root+"/app/patient/"+other), chromedp.WaitVisible(chromedp.CSS("#break-glass")))
	b.shot("break-glass")
	b.run("break glass",
		chromedp.Click(chromedp.CSS("#reason-emergency")),
		chromedp.SendKeys(chromedp.CSS("#bg-text"), "Collapsed in the emergency department"),
		chromedp.Submit(chromedp.CSS("#bg-text")),
		chromedp.WaitVisible(chromedp.CSS("#timeline")),
	)
	if f := b.text(".sc-flash"); !strings.Contains(f, "privacy officer will review") {
		t.Errorf("after break glass the page says %q", f)
	}
	b.signOut("/app")

	// The privacy officer sees it in the queue.
	b.signIn("/app", "privacy-officer", d.password)
	b.run("review queue", chromedp.Navigate(d.root+"/app/privacy/break-glass"), chromedp.WaitVisible(chromedp.CSS("#review-queue")))
	if q := b.text("#review-queue"); !strings.Contains(q, "Collapsed in the emergency department") || !strings.Contains(q, d.accounts["consultant"].Name) {
		t.Errorf("the queue shows:\n%s", q)
	}
	b.shot("privacy-queue")
}

// TestPatientPortalBrowser is the patient portal in headless Chromium
// against the demo: patient1 signs in, reads a letter, records a blood
// pressure and sees it on the chart, and (signed in as their GP in the
// clinician portal, in the same browser) the GP sees it marked as the
// person's; patient1 changes their sharing choice and the GP is refused
// without break glass, and finds the GP's access in "who has looked"; a
// parent acts for their child; and no address shows another person's
// record.
func TestPatientPortalBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo and a browser")
	}
	chromium(t)
	d := startDemo(t, 20, 3)
	p1 := d.accounts["patient1"].Patient
	b := newBrowser(t, d.root)

	b.signIn("/my", "patient1", d.password)
	b.run("my record", chromedp.WaitVisible(chromedp.CSS("#problems")))
	b.shot("my-record")
	b.fitsPhone("/my/record", "#problems")
	b.fitsPhone("/my/sharing", "#sharing-choice")
	b.run("desktop width", chromedp.EmulateViewport(1280, 1000))

	// A letter: new, then read.
	b.run("letters", chromedp.Navigate(d.root+"/my/letters"), chromedp.WaitVisible(chromedp.CSS("#letters")))
	b.shot("my-letters")
	first := b.text("#letters li.sc-unread a")
	b.run("read a letter", chromedp.Click(chromedp.CSS("#letters li.sc-unread a")), chromedp.WaitVisible(chromedp.CSS("#letter-text")))
	if b.text("h1") != first {
		t.Errorf("opened %q, the letter is %q", first, b.text("h1"))
	}

	// A blood pressure at home, on the chart.
	b.run("record a blood pressure",
		chromedp.Navigate(d.root+"/my/readings"),
		chromedp.SetValue(chromedp.CSS("#reading-kind"), "bp"),
		chromedp.SendKeys(chromedp.CSS("#reading-value"), "126"),
		chromedp.SendKeys(chromedp.CSS("#reading-value2"), "81"),
		chromedp.Click(chromedp.CSS("#save-reading")),
		chromedp.WaitVisible(chromedp.CSS(".sc-flash")),
		chromedp.WaitVisible(chromedp.CSS("#chart-bp")),
	)
	if c := b.text("#chart-bp"); !strings.Contains(c, "126") {
		t.Errorf("the blood pressure chart does not show 126: %.300s", c)
	}
	b.shot("my-readings")

	// The GP, in the clinician portal (its own session in the same
	// browser), sees it marked as entered by the person.
	b.signIn("/app", "gp", d.password)
	b.run("the GP opens patient1", chromedp.Navigate(d.root+"/app/patient/"+p1), chromedp.WaitVisible(chromedp.CSS("#results")))
	if r := b.text("#results"); !strings.Contains(r, "126/81") || !strings.Contains(r, "Entered by the person") {
		t.Errorf("the GP's results do not show the home reading marked as the person's:\n%.800s", r)
	}

	// Sharing only in an emergency: the GP is refused, offered break glass.
	b.run("sharing: emergency only",
		chromedp.Navigate(d.root+"/my/sharing"),
		chromedp.Click(chromedp.CSS("#choice-emergency")),
		chromedp.Click(chromedp.CSS("#save-choice")),
		chromedp.WaitVisible(chromedp.CSS(".sc-flash")),
	)
	b.shot("my-sharing")
	b.run("the GP is refused", chromedp.Navigate(d.root+"/app/patient/"+p1), chromedp.WaitVisible(chromedp.CSS("#break-glass")))

	// Who has looked: the GP, and their refused attempt.
	deadline := time.Now().Add(10 * time.Second)
	for {
		b.run("who has looked", chromedp.Navigate(d.root+"/my/access"), chromedp.WaitVisible(chromedp.CSS("h1")))
		if l := b.text("main"); strings.Contains(l, d.accounts["gp"].Name) && strings.Contains(l, "refused") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("who has looked lacks the GP's refused access:\n%.1500s", b.text("main"))
		}
		time.Sleep(200 * time.Millisecond)
	}
	b.shot("my-access")
	b.run("share again", chromedp.Navigate(d.root+"/my/sharing"), chromedp.Click(chromedp.CSS("#choice-share")), chromedp.Click(chromedp.CSS("#save-choice")), chromedp.WaitVisible(chromedp.CSS(".sc-flash")))

	// No address shows another person's record: another person's letter
	// by id is refused.
	other := refusedLetter(t, d, "patient2")
	b.run("another person's letter", chromedp.Navigate(d.root+"/my/letters/"+other), chromedp.WaitVisible(chromedp.CSS("h1")))
	if h := b.text("h1"); h != "You do not have access" && h != "Not found" {
		t.Errorf("another person's letter: %q", h)
	}
	b.signOut("/my")

	// A parent acts for their child.
	if _, ok := d.accounts["child1"]; ok {
		b.signIn("/my", "parent", d.password)
		b.run("the child's record", chromedp.WaitVisible(chromedp.CSS("#problems")))
		if h := b.text(".sc-user"); !strings.Contains(h, "acting for") {
			t.Errorf("the parent's header says %q", h)
		}
		b.shot("my-record-parent")
	}
}

// refusedLetter is the id of one of username's letters, found through
// their own letters page: another person's, for the test's patient.
func refusedLetter(t *testing.T, d *demoServer, username string) string {
	t.Helper()
	u := d.signInAt(t, "/my", username)
	_, page := u.get("/my/letters")
	m := regexp.MustCompile(`href="/my/letters/([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("%s has no letters", username)
	}
	return m[1]
}
