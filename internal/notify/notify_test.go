package notify_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sharedcare/sharedcare/internal/access"
	"github.com/sharedcare/sharedcare/internal/fhir"
	"github.com/sharedcare/sharedcare/internal/fhirdef"
	"github.com/sharedcare/sharedcare/internal/notify"
	"github.com/sharedcare/sharedcare/internal/record"
	"github.com/sharedcare/sharedcare/internal/store"
	"github.com/sharedcare/sharedcare/internal/store/postgres"
	"github.com/sharedcare/sharedcare/internal/store/sqlite"
	"github.com/sharedcare/sharedcare/internal/validate"
)

const (
	practiceA = "C84001" // the GP practice the people are registered with
	trustB    = "RHQ"    // the hospital trust that sends the events
)

func forEachStore(t *testing.T, f func(t *testing.T, svc *record.Service)) {
	open := map[string]func(t *testing.T) store.Store{
		"sqlite": func(t *testing.T) store.Store {
			st, err := sqlite.Open(t.Context(), t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		},
		"postgres": func(t *testing.T) store.Store { return postgres.OpenTest(t) },
	}
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			svc := record.New(open[name](t), validate.Resource, fhirdef.IsResourceType)
			svc.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
			wait, err := svc.StartReindex(t.Context(), record.ReindexOptions{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(wait)
			svc.SetAccess(&access.Policy{})
			f(t, svc)
		})
	}
}

// world writes as the system, attributed to an organisation.
type world struct {
	t   *testing.T
	svc *record.Service
}

func (w *world) put(src, typ, id, body string) {
	w.t.Helper()
	ctx := access.WithPrincipal(context.Background(), access.SystemPrincipal("test-feed", src))
	if src != "" {
		ctx = record.WithSource(ctx, record.Source{ODS: src})
	}
	if _, err := w.svc.Update(ctx, typ, id, []byte(`{"resourceType":"`+typ+`","id":"`+id+`",`+body+`}`), ""); err != nil {
		w.t.Fatalf("PUT %s/%s: %v", typ, id, err)
	}
}

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// encounter is an inpatient encounter at the trust's Ward 12 (and, for a
// transfer, Ward 7 after).
func encounter(patient, status, class string, start, end time.Time, moved bool, extra string) string {
	period := `"start":"` + ts(start) + `"`
	if !end.IsZero() {
		period += `,"end":"` + ts(end) + `"`
	}
	loc := `[{"location":{"reference":"Location/ward12"},"status":"active"}]`
	if moved {
		loc = `[{"location":{"reference":"Location/ward12"},"status":"completed"},{"location":{"reference":"Location/ward7"},"status":"active","period":{"start":"` + ts(start.Add(time.Hour)) + `"}}]`
	}
	return `"status":"` + status + `","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"` + class + `"},
		"subject":{"reference":"Patient/` + patient + `"},"period":{` + period + `},"location":` + loc + `,
		"serviceProvider":{"reference":"Organization/trust"}` + extra
}

type sent struct{ Kind, To, Text, Recipient, Sender string }

// alerts returns the alerts about item, read as the system.
func alerts(t *testing.T, svc *record.Service, about string) []sent {
	t.Helper()
	ctx := access.WithPrincipal(context.Background(), access.SystemPrincipal("test", ""))
	res, err := svc.Search(ctx, record.SearchRequest{Type: "Communication", Params: url.Values{"_count": {"500"}}})
	if err != nil {
		t.Fatal(err)
	}
	var out []sent
	for _, r := range res.Matches {
		c, err := fhir.DecodeResource(r.Body)
		if err != nil {
			t.Fatal(err)
		}
		if get(c, "about", 0, "reference") != about {
			continue
		}
		out = append(out, sent{Kind: get(c, "category", 0, "coding", 0, "code"), To: get(c, "meta", "tag", 0, "code"),
			Text: get(c, "payload", 0, "contentString"), Recipient: get(c, "recipient", 0, "reference"), Sender: get(c, "sender", "reference")})
	}
	slices.SortFunc(out, func(a, b sent) int { return strings.Compare(a.Kind+a.To, b.Kind+b.To) })
	return out
}

func get(v any, path ...any) string {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			a, _ := v.([]any)
			if k >= len(a) {
				return ""
			}
			v = a[k]
		}
	}
	s, _ := v.(string)
	return s
}

func TestAlerts(t *testing.T) {
	forEachStore(t, func(t *testing.T, svc *record.Service) {
		w := &world{t, svc}
		now := time.Now()
		w.put("", "Organization", "practice", `"identifier":[{"system":"`+access.SysODS+`","value":"`+practiceA+`"}],"name":"Broomhill Surgery"`)
		w.put("", "Organization", "trust", `"identifier":[{"system":"`+access.SysODS+`","value":"`+trustB+`"}],"name":"Sheffield Teaching Hospitals"`)
		w.put(trustB, "Location", "ngh", `"name":"Northern General Hospital","managingOrganization":{"reference":"Organization/trust"}`)
		w.put(trustB, "Location", "ward12", `"name":"Ward 12","partOf":{"reference":"Location/ngh"},"managingOrganization":{"reference":"Organization/trust"}`)
		w.put(trustB, "Location", "ward7", `"name":"Ward 7","partOf":{"reference":"Location/ngh"},"managingOrganization":{"reference":"Organization/trust"}`)
		for _, p := range []string{"p1", "p2", "p3"} {
			w.put(practiceA, "Patient", p, `"generalPractitioner":[{"reference":"Organization/practice"}]`)
		}

		// Committed before the notifier starts: found by the catch-up.
		w.put(trustB, "Encounter", "e0", encounter("p3", "in-progress", "IMP", now.Add(-time.Hour), time.Time{}, false, ""))

		n := notify.New(svc, notify.Options{Log: svc.Log})
		if err := n.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		defer n.Close()
		n.Flush()
		if got, want := alerts(t, svc, "Encounter/e0"), []sent{{notify.KindAdmission, practiceA, "Admitted to Ward 12, Northern General Hospital", "Organization/practice", "Organization/trust"}}; !slices.Equal(got, want) {
			t.Errorf("catch-up: %+v, want %+v", got, want)
		}

		steps := []struct {
			name  string
			write func()
			about string
			want  []sent
		}{
			{"admission: told to the practice, not to the sending trust", func() {
				w.put(trustB, "Encounter", "e1", encounter("p1", "in-progress", "IMP", now.Add(-10*time.Minute), time.Time{}, false, ""))
			}, "Encounter/e1", []sent{{notify.KindAdmission, practiceA, "Admitted to Ward 12, Northern General Hospital", "Organization/practice", "Organization/trust"}}},
			{"re-sent (A08): no second alert", func() {
				w.put(trustB, "Encounter", "e1", encounter("p1", "in-progress", "IMP", now.Add(-10*time.Minute), time.Time{}, false, `,"priority":{"text":"urgent"}`))
			}, "Encounter/e1", []sent{{notify.KindAdmission, practiceA, "Admitted to Ward 12, Northern General Hospital", "Organization/practice", "Organization/trust"}}},
			{"discharge: a second alert", func() {
				w.put(trustB, "Encounter", "e1", encounter("p1", "finished", "IMP", now.Add(-10*time.Minute), now, false,
					`,"hospitalization":{"dischargeDisposition":{"coding":[{"system":"http://snomed.info/sct","code":"306689006","display":"Discharge to home"}]}}`))
			}, "Encounter/e1", []sent{
				{notify.KindAdmission, practiceA, "Admitted to Ward 12, Northern General Hospital", "Organization/practice", "Organization/trust"},
				{notify.KindDischarge, practiceA, "Discharged from Ward 12, Northern General Hospital (discharge destination: Discharge to home)", "Organization/practice", "Organization/trust"},
			}},
			{"transfer", func() {
				w.put(trustB, "Encounter", "e2", encounter("p1", "in-progress", "IMP", now.Add(-2*time.Hour), time.Time{}, true, ""))
			}, "Encounter/e2", []sent{
				{notify.KindAdmission, practiceA, "Admitted to Ward 12, Northern General Hospital", "Organization/practice", "Organization/trust"},
				{notify.KindTransfer, practiceA, "Moved to Ward 7, Northern General Hospital", "Organization/practice", "Organization/trust"},
			}},
			{"A&E attendance", func() {
				w.put(trustB, "Encounter", "e3", encounter("p1", "arrived", "EMER", now.Add(-time.Hour), time.Time{}, false, ""))
			}, "Encounter/e3", []sent{{notify.KindAdmission, practiceA, "Attended A&E at Northern General Hospital", "Organization/practice", "Organization/trust"}}},
			{"cancelled admission", func() {
				w.put(trustB, "Encounter", "e0", encounter("p3", "cancelled", "IMP", now.Add(-time.Hour), time.Time{}, false, ""))
			}, "Encounter/e0", []sent{
				{notify.KindAdmission, practiceA, "Admitted to Ward 12, Northern General Hospital", "Organization/practice", "Organization/trust"},
				{notify.KindCancelled, practiceA, "Admission cancelled: Northern General Hospital", "Organization/practice", "Organization/trust"},
			}},
			{"dissent: nobody told", func() {
				c, _ := json.Marshal(access.SharingConsent("p2", access.Sharing{Choice: access.Dissent}, now.Add(-time.Hour)))
				w.put(practiceA, "Consent", "dissent", consentBody(c))
				w.put(trustB, "Encounter", "e4", encounter("p2", "in-progress", "IMP", now.Add(-time.Minute), time.Time{}, false, ""))
			}, "Encounter/e4", nil},
			{"sealed: nobody told", func() {
				w.put(trustB, "Encounter", "e5", encounter("p1", "in-progress", "IMP", now.Add(-time.Minute), time.Time{}, false,
					`,"meta":{"security":[{"system":"`+access.SysConfidentiality+`","code":"R"}]}`))
			}, "Encounter/e5", nil},
			{"outside the window: nobody told", func() {
				w.put(trustB, "Encounter", "e6", encounter("p1", "finished", "IMP", now.Add(-11*24*time.Hour), now.Add(-10*24*time.Hour), false, ""))
			}, "Encounter/e6", nil},
			{"outpatient: nobody told", func() {
				w.put(trustB, "Encounter", "e7", encounter("p1", "in-progress", "AMB", now.Add(-time.Minute), time.Time{}, false, ""))
			}, "Encounter/e7", nil},
			{"result", func() {
				w.put(trustB, "Observation", "hb", `"status":"final","code":{"text":"Haemoglobin"},"subject":{"reference":"Patient/p1"},"valueQuantity":{"value":173,"unit":"g/L"},
					"interpretation":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation","code":"H"}]}]`)
				w.put(trustB, "DiagnosticReport", "fbc", `"status":"final","code":{"coding":[{"system":"urn:x","code":"FBC","display":"Full blood count"}]},
					"subject":{"reference":"Patient/p1"},"issued":"`+ts(now)+`","result":[{"reference":"Observation/hb"}]`)
			}, "DiagnosticReport/fbc", []sent{{notify.KindResult, practiceA, "New result: Full blood count (abnormal)", "Organization/practice", "Organization/trust"}}},
			{"preliminary result: nobody told", func() {
				w.put(trustB, "DiagnosticReport", "cxr", `"status":"preliminary","code":{"text":"Chest X-ray"},"subject":{"reference":"Patient/p1"},"issued":"`+ts(now)+`"`)
			}, "DiagnosticReport/cxr", nil},
		}
		for _, s := range steps {
			s.write()
			n.Flush()
			if got := alerts(t, svc, s.about); !slices.Equal(got, s.want) {
				t.Errorf("%s: %+v, want %+v", s.name, got, s.want)
			}
		}
		if got := n.Sent(); got != 8 {
			t.Errorf("Sent() = %d, want 8", got)
		}
		if n.Dropped() != 0 || n.Failed() != 0 {
			t.Errorf("dropped %d, failed %d", n.Dropped(), n.Failed())
		}

		// The practice's GP reads them in one inbox search; another
		// practice sees none of them.
		inbox := func(org string) []string {
			ctx := access.WithPrincipal(context.Background(), &access.Principal{Kind: access.User, Subject: "gp", Role: access.RoleGP, Org: org, Unscoped: true})
			res, err := svc.Search(ctx, record.SearchRequest{Type: "Communication", Params: url.Values{
				"_tag": {access.SysAddressedTo + "|" + org}, "_sort": {"-sent"}, "_include": {"Communication:subject"}}})
			if err != nil {
				t.Fatalf("inbox of %s: %v", org, err)
			}
			var got []string
			for _, r := range res.Matches {
				got = append(got, r.ID)
			}
			for _, r := range res.Included {
				if r.Type != "Patient" {
					t.Errorf("included %s/%s", r.Type, r.ID)
				}
			}
			return got
		}
		if got := inbox(practiceA); len(got) != 8 {
			t.Errorf("practice A's inbox holds %d alerts, want 8", len(got))
		}
		if got := inbox("C84002"); len(got) != 0 {
			t.Errorf("another practice's inbox holds %q", got)
		}

		// A restart: the catch-up writes nothing twice.
		n.Close()
		n2 := notify.New(svc, notify.Options{Log: svc.Log})
		if err := n2.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		n2.Flush()
		n2.Close()
		if n2.Sent() != 0 || n2.Failed() != 0 {
			t.Errorf("after a restart: sent %d, failed %d", n2.Sent(), n2.Failed())
		}
	})
}

// consentBody is the Consent's JSON without its opening brace and
// resourceType, for world.put.
func consentBody(c []byte) string {
	var m map[string]any
	if err := json.Unmarshal(c, &m); err != nil {
		panic(err)
	}
	delete(m, "resourceType")
	b, _ := json.Marshal(m)
	return strings.TrimSuffix(strings.TrimPrefix(string(b), "{"), "}")
}
