package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestClinicianPortalBrowser is the portal in headless Chromium against
// the demo: a GP signs in, finds patient1 by NHS number, opens their
// record with items from several organisations, adds a note and finds it
// in the timeline; a consultant breaks glass on someone else's record;
// the privacy officer finds it in the review queue. Screenshots of the
// main pages are saved (to docs/screenshots with -update-screenshots).
func TestClinicianPortalBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo and a browser")
	}
	exe := chromium(t)
	d := startDemo(t, 20, 3)
	p1 := d.accounts["patient1"].Patient
	other := refusedPatient(t, d, "consultant")
	shots := screenshotDir(t)

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
	defer cancelA()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}

	fail := func(what string, err error) {
		t.Helper()
		c2, c := context.WithTimeout(ctx, 5*time.Second)
		defer c()
		loc, _ := chromedp.Run(c2, chromedp.Location())
		body, _ := chromedp.Run(c2, chromedp.Text(chromedp.CSS("body")))
		t.Fatalf("%s: %v\nat %s:\n%.1500s", what, err, loc, body)
	}
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, c := context.WithTimeout(ctx, 30*time.Second)
		defer c()
		if err := chromedp.Do(sctx, actions...); err != nil {
			fail(what, err)
		}
	}
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err != nil {
			fail("screenshot "+name, err)
		}
		if err := os.WriteFile(filepath.Join(shots, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	signIn := func(username string) {
		t.Helper()
		run("sign in as "+username,
			chromedp.Navigate(d.root+"/app/"),
			chromedp.Click(chromedp.CSS("#signin")),
			chromedp.WaitVisible(chromedp.CSS("#username")),
			chromedp.SendKeys(chromedp.CSS("#username"), username),
			chromedp.SendKeys(chromedp.CSS("#password"), d.password),
			chromedp.Submit(chromedp.CSS("#password")),
			chromedp.WaitVisible(chromedp.CSS(".sc-user__name")),
		)
	}
	signOut := func() {
		t.Helper()
		run("sign out", chromedp.Click(chromedp.CSS(".sc-user button")), chromedp.WaitVisible(chromedp.CSS(`a[href="/app/signin"]`)))
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			fail("read "+sel, err)
		}
		return s
	}

	// The GP: sign in, the banner, search by NHS number with spaces.
	signIn("gp")
	if banner := text(".sc-user"); !strings.Contains(banner, d.accounts["gp"].Name) || !strings.Contains(banner, d.accounts["gp"].Org) {
		t.Errorf("the banner shows %q", banner)
	}
	run("patient1's record", chromedp.Navigate(d.root+"/app/patient/"+p1))
	nhs := text("#nhs-number")
	run("search by NHS number",
		chromedp.Navigate(d.root+"/app/search"),
		chromedp.SendKeys(chromedp.CSS("#nhs"), nhs),
		chromedp.Submit(chromedp.CSS("#nhs")),
		chromedp.WaitVisible(chromedp.CSS(".sc-result")),
	)
	shot("search")
	run("open the record", chromedp.Click(chromedp.CSS(".sc-result a")), chromedp.WaitVisible(chromedp.CSS("#timeline")))
	sources, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...new Set([...document.querySelectorAll('.app-source[title]')].map(e => e.title))]`))
	if err != nil {
		fail("the record's sources", err)
	}
	if len(sources) < 2 {
		t.Errorf("the record shows items from %d organisations: %v", len(sources), sources)
	}
	shot("record")

	// A note, found in the timeline.
	run("add a note",
		chromedp.Click(chromedp.CSS("#add-note summary")),
		chromedp.SendKeys(chromedp.CSS("#note-title"), "Home visit"),
		chromedp.SendKeys(chromedp.CSS("#note-text"), "Seen at home. Breathing easier; daughter visiting daily."),
		chromedp.Click(chromedp.CSS("#save-note")),
		chromedp.WaitVisible(chromedp.CSS(".sc-flash")),
	)
	if tl := text("#timeline"); !strings.Contains(tl, "Home visit") {
		t.Errorf("the note is not in the timeline:\n%.600s", tl)
	}
	// At phone width the record fits the screen.
	run("phone width", chromedp.EmulateViewport(375, 800), chromedp.Navigate(d.root+"/app/patient/"+p1), chromedp.WaitVisible(chromedp.CSS("#timeline")))
	overflow, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 2`))
	if err != nil {
		fail("phone width", err)
	}
	if overflow {
		wide, _ := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > window.innerWidth + 2).slice(0, 8).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))`))
		t.Errorf("the record is wider than a phone's screen: %v", wide)
	}
	shot("record-phone")
	run("desktop width", chromedp.EmulateViewport(1280, 1000))
	run("inbox", chromedp.Navigate(d.root+"/app/inbox"), chromedp.WaitVisible(chromedp.CSS("#inbox")))
	shot("inbox")
	signOut()

	// The consultant, without a relationship, breaks glass.
	signIn("consultant")
	run("a record without a relationship", chromedp.Navigate(d.root+"/app/patient/"+other), chromedp.WaitVisible(chromedp.CSS("#break-glass")))
	shot("break-glass")
	run("break glass",
		chromedp.Click(chromedp.CSS("#reason-emergency")),
		chromedp.SendKeys(chromedp.CSS("#bg-text"), "Collapsed in the emergency department"),
		chromedp.Submit(chromedp.CSS("#bg-text")),
		chromedp.WaitVisible(chromedp.CSS("#timeline")),
	)
	if f := text(".sc-flash"); !strings.Contains(f, "privacy officer will review") {
		t.Errorf("after break glass the page says %q", f)
	}
	signOut()

	// The privacy officer sees it in the queue.
	signIn("privacy-officer")
	run("review queue", chromedp.Navigate(d.root+"/app/privacy/break-glass"), chromedp.WaitVisible(chromedp.CSS("#review-queue")))
	if q := text("#review-queue"); !strings.Contains(q, "Collapsed in the emergency department") || !strings.Contains(q, d.accounts["consultant"].Name) {
		t.Errorf("the queue shows:\n%s", q)
	}
	shot("privacy-queue")
}
