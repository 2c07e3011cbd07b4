package rest_test

import (
	"crypto/ed25519"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sharedcare/sharedcare/internal/access"
	"github.com/sharedcare/sharedcare/internal/audit"
	"github.com/sharedcare/sharedcare/internal/bulk"
	"github.com/sharedcare/sharedcare/internal/fhir"
	"github.com/sharedcare/sharedcare/internal/rest"
	"github.com/sharedcare/sharedcare/internal/rest/resttest"
	"github.com/sharedcare/sharedcare/internal/store"
)

// The access test matrix: every path (read, vread, history, search with
// chains, _has, _include, _revinclude and counts, $everything, writes,
// transactions, operations) for principals of every kind and role,
// against people with and without a legitimate relationship, with each
// sharing choice, and items sealed or not; on both stores. Each case
// says exactly what the principal gets, so a leak on any path fails it.

// The organisations (ODS codes) of the test world.
const (
	odsGP1   = "C84001" // a GP practice
	odsGP2   = "C84002" // another practice
	odsTrust = "RHQ"    // an acute trust
	odsWard  = "RHQ01"  // a site of the trust (partOf it)
	odsICB   = "QF7"    // the integrated care board: not a provider
)

var principals = map[string]*access.Principal{
	"gp1":     {Kind: access.User, Subject: "gp1", Role: access.RoleGP, Org: odsGP1, FHIRUser: "Practitioner/gp1", Unscoped: true},
	"gp2":     {Kind: access.User, Subject: "gp2", Role: access.RoleGP, Org: odsGP2, Unscoped: true},
	"cons":    {Kind: access.User, Subject: "cons", Role: access.RoleConsultant, Org: odsTrust, Unscoped: true},
	"icb":     {Kind: access.User, Subject: "icb", Role: access.RoleGP, Org: odsICB, Unscoped: true},
	"social":  {Kind: access.User, Subject: "social", Role: access.RoleSocialWorker, Org: "LA1", Unscoped: true},
	"admin":   {Kind: access.User, Subject: "admin", Role: access.RoleAdmin, Org: odsICB, Unscoped: true},
	"analyst": {Kind: access.User, Subject: "analyst", Role: access.RoleAnalyst, Org: odsICB, Unscoped: true},
	"officer": {Kind: access.User, Subject: "officer", Role: access.RolePrivacyOfficer, Org: odsICB, Unscoped: true},
	"norole":  {Kind: access.User, Subject: "norole", Org: odsGP1, Unscoped: true},
	"patA":    {Kind: access.PatientUser, Subject: "patA", Role: access.RolePatient, FHIRUser: "Patient/pA", Unscoped: true},
	"sys":     {Kind: access.System, Subject: "feed", Role: access.RoleSystem, Unscoped: true},
	// A SMART app launched by gp1 on pA, with patient/ scopes only.
	"appA": {Kind: access.User, Subject: "gp1", Role: access.RoleGP, Org: odsGP1, Patient: "pA", Scopes: mustScopes("launch/patient patient/Observation.rs patient/Patient.rs")},
	// A system client allowed to read Observations only.
	"sysObs": {Kind: access.System, Subject: "obs-reader", Role: access.RoleSystem, Scopes: mustScopes("system/Observation.rs")},
}

func mustScopes(s string) access.Scopes {
	sc, err := access.ParseScopes(s)
	if err != nil {
		panic(err)
	}
	return sc
}

// asHeader names the test principal of a request; the test server's edge
// puts it in the context as the sign-in middleware would.
const asHeader = "X-Test-As"

type accessWorld struct {
	*client
	mu     sync.Mutex
	audits []access.NoteSummary
}

func newAccessWorld(t *testing.T, st store.Store, with ...func(*rest.Server)) *accessWorld {
	w := &accessWorld{}
	h, svc := resttest.Handler(t, st, func(s *rest.Server) {
		m, err := bulk.NewManager(s.Svc, bulk.Options{Dir: filepath.Join(t.TempDir(), "bulk"), Access: rest.SecondaryUse(s.Svc)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(m.Close)
		s.Bulk = m
		s.Audit = func(_ *http.Request, _ int, n access.NoteSummary, _ bool) {
			w.mu.Lock()
			w.audits = append(w.audits, n)
			w.mu.Unlock()
		}
		for _, f := range with {
			f(s)
		}
	})
	svc.SetAccess(&access.Policy{})
	edge := http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if pr := principals[r.Header.Get(asHeader)]; pr != nil {
			r = r.WithContext(access.WithPrincipal(r.Context(), pr))
		}
		h.ServeHTTP(rw, r)
	})
	srv := httptest.NewServer(edge)
	t.Cleanup(srv.Close)
	w.client = &client{t: t, srv: srv, st: st, svc: svc, base: srv.URL + "/fhir"}
	w.seed()
	return w
}

// as sends a request as a principal, from an organisation's system when
// writing as "sys" (src is then the X-Source-Organization).
func (w *accessWorld) as(who, method, path, body string, headers ...string) *response {
	w.t.Helper()
	return w.do(method, path, body, append([]string{asHeader, who}, headers...)...)
}

func (w *accessWorld) put(src, typ, id, body string) {
	w.t.Helper()
	r := w.as("sys", "PUT", "/"+typ+"/"+id, `{"resourceType":"`+typ+`","id":"`+id+`",`+body+`}`, rest.SourceHeader, src)
	if r.Status != 200 && r.Status != 201 {
		w.t.Fatalf("seed %s/%s: %d %s", typ, id, r.Status, r.Raw)
	}
}

func org(id, ods, typ, partOf string) string {
	s := `"identifier":[{"system":"https://fhir.nhs.uk/Id/ods-organization-code","value":"` + ods + `"}],"type":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/organization-type","code":"` + typ + `"}]}],"name":"` + id + `"`
	if partOf != "" {
		s += `,"partOf":{"reference":"Organization/` + partOf + `"}`
	}
	return s
}

// seed builds the world: four people and their records from several
// organisations.
//   - pA: registered at GP1, shares (the default). Items from GP1 and the
//     trust, one of the trust's sealed (a sexually transmitted infection).
//   - pB: registered at GP2, in a ward of the trust now; shares only in
//     an emergency.
//   - pC: registered at GP1, dissents from sharing.
//   - pD: registered at GP1, national data opt-out (direct care goes on).
func (w *accessWorld) seed() {
	w.put(odsICB, "Organization", "icb", org("icb", odsICB, "govt", ""))
	w.put(odsGP1, "Organization", "gp1", org("gp1", odsGP1, "prov", "icb"))
	w.put(odsGP2, "Organization", "gp2", org("gp2", odsGP2, "prov", "icb"))
	w.put(odsTrust, "Organization", "trust", org("trust", odsTrust, "prov", "icb"))
	w.put(odsTrust, "Organization", "ward", org("ward", odsWard, "prov", "trust"))
	patient := func(gp string) string {
		return `"name":[{"family":"Test","given":["P"]}],"birthDate":"1970-01-01","generalPractitioner":[{"reference":"Organization/` + gp + `"}]`
	}
	w.put(odsGP1, "Patient", "pA", patient("gp1"))
	w.put(odsGP2, "Patient", "pB", patient("gp2"))
	w.put(odsGP1, "Patient", "pC", patient("gp1"))
	w.put(odsGP1, "Patient", "pD", patient("gp1"))
	obs := func(p, code string) string {
		return `"status":"final","code":{"coding":[{"system":"http://loinc.org","code":"` + code + `"}]},"subject":{"reference":"Patient/` + p + `"}`
	}
	w.put(odsGP1, "Observation", "a1", obs("pA", "8867-4"))
	w.put(odsTrust, "Observation", "a2", obs("pA", "8867-4"))
	w.put(odsTrust, "Condition", "a3", `"code":{"coding":[{"system":"http://snomed.info/sct","code":"105629000"}]},"subject":{"reference":"Patient/pA"}`)
	w.put(odsGP1, "Condition", "a4", `"code":{"coding":[{"system":"http://snomed.info/sct","code":"38341003"}]},"subject":{"reference":"Patient/pA"}`)
	w.put(odsGP2, "Observation", "b1", obs("pB", "8867-4"))
	w.put(odsTrust, "Encounter", "b2", `"status":"in-progress","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"IMP"},"subject":{"reference":"Patient/pB"},"serviceProvider":{"reference":"Organization/ward"},"period":{"start":"2026-11-20T10:00:00Z"}`)
	w.put(odsGP1, "Observation", "c1", obs("pC", "8867-4"))
	w.put(odsTrust, "Observation", "c2", obs("pC", "8867-4"))
	w.put(odsGP1, "Observation", "d1", obs("pD", "8867-4"))
	consent := func(id, src, p string, s access.Sharing) {
		obj := access.SharingConsent(p, s, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		obj["id"] = id
		b, err := fhir.Marshal(obj)
		if err != nil {
			w.t.Fatal(err)
		}
		if r := w.as("sys", "PUT", "/Consent/"+id, string(b), rest.SourceHeader, src); r.Status != 201 {
			w.t.Fatalf("seed consent: %d %s", r.Status, r.Raw)
		}
	}
	consent("kB", odsGP2, "pB", access.Sharing{Choice: access.EmergencyOnly})
	consent("kC", odsGP1, "pC", access.Sharing{Choice: access.Dissent})
	w.put(odsGP1, "Consent", "kD", `"status":"active","scope":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/consentscope","code":"patient-privacy"}]},"category":[{"coding":[{"system":"https://fhir.nhs.uk/ndop-categories-1","code":"NDOP"}]}],"patient":{"reference":"Patient/pD"},"provision":{"type":"deny"}`)
}

// ids returns the type/id of a Bundle's entries, sorted.
func entryIDs(r *response) []string {
	var out []string
	for _, e := range bundleEntries(r) {
		res, _ := get(e, "resource").(map[string]any)
		if res["resourceType"] == "OperationOutcome" {
			continue
		}
		out = append(out, str(res, "resourceType")+"/"+str(res, "id"))
	}
	slices.Sort(out)
	return out
}

type accessCase struct {
	method, path, body string
	// want is the status; for a 200 search, ids are the entries and
	// total the count, when given.
	want  int
	ids   []string
	total string
}

func TestAccessMatrix(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *client) {
		w := newAccessWorld(t, c.st)
		obsA := []string{"Observation/a1", "Observation/a2"}
		matrix := map[string][]accessCase{
			"gp1": { // registered practice of pA, pC (dissent), pD
				{"GET", "/Observation/a1", "", 200, nil, ""},
				{"GET", "/Observation/a2", "", 200, nil, ""},
				{"GET", "/Condition/a3", "", 403, nil, ""}, // sealed by the trust
				{"GET", "/Condition/a3/_history/1", "", 403, nil, ""},
				{"GET", "/Condition/a3/_history", "", 403, nil, ""},
				{"GET", "/Observation?patient=pA", "", 200, obsA, "2"},
				{"GET", "/Observation?patient=Patient/pA&_summary=count", "", 200, nil, "2"},
				{"GET", "/Condition?patient=pA", "", 200, []string{"Condition/a4"}, "1"},
				{"GET", "/Condition?patient=pA&_summary=count", "", 200, nil, "1"},
				{"GET", "/Condition?patient=pA&code=105629000&_total=accurate", "", 200, nil, "0"},
				{"GET", "/Patient/pA/Condition", "", 200, []string{"Condition/a4"}, ""},
				{"GET", "/Patient/pA/$everything", "", 200, nil, ""},
				// The chain names all four: pB is left out, and pC's dissent
				// narrows the page to GP1's own entries.
				{"GET", "/Observation?patient.name=Test&patient.birthdate=1970-01-01", "", 200, []string{"Observation/a1", "Observation/c1", "Observation/d1"}, ""},
				{"GET", "/Observation?patient=pC", "", 200, []string{"Observation/c1"}, "1"}, // dissent: only GP1's own
				{"GET", "/Observation/c2", "", 403, nil, ""},
				{"GET", "/Observation?patient=pD", "", 200, []string{"Observation/d1"}, ""}, // opt-out: direct care unaffected
				{"GET", "/Observation?patient=pB", "", 403, nil, ""},
				{"GET", "/Observation/b1", "", 403, nil, ""},
				{"GET", "/Observation?code=8867-4", "", 403, nil, ""}, // whose?
				{"GET", "/Observation?code=8867-4&_summary=count", "", 403, nil, ""},
				{"GET", "/Patient?_has:Condition:patient:code=105629000", "", 403, nil, ""},
				{"GET", "/Patient?name=Test&_revinclude=Observation:patient", "", 200, []string{"Observation/a1", "Observation/a2", "Observation/c1", "Observation/d1", "Patient/pA", "Patient/pB", "Patient/pC", "Patient/pD"}, ""},
				{"GET", "/Patient?_id=pA&_revinclude=Condition:patient", "", 200, []string{"Condition/a4", "Patient/pA"}, ""},
				{"GET", "/Observation?patient=pA&_include=Observation:patient", "", 200, append(slices.Clone(obsA), "Patient/pA"), ""},
				{"GET", "/Observation/_history", "", 403, nil, ""},
				{"GET", "/_history", "", 403, nil, ""},
				{"GET", "/Organization/gp1", "", 200, nil, ""},
				{"GET", "/?_type=Observation&patient=pA", "", 200, obsA, ""},
				{"GET", "/", "", 403, nil, ""},
				{"POST", "/Observation", `{"resourceType":"Observation","status":"final","code":{"text":"pulse"},"subject":{"reference":"Patient/pD"}}`, 201, nil, ""},
				{"POST", "/Observation", `{"resourceType":"Observation","status":"final","code":{"text":"pulse"},"subject":{"reference":"Patient/pB"}}`, 403, nil, ""},
				{"POST", "/Observation", `{"resourceType":"Observation","status":"final","code":{"text":"pulse"}}`, 403, nil, ""},
				{"POST", "/Organization", `{"resourceType":"Organization","name":"x"}`, 403, nil, ""},
				// Demographics are readable by all professionals, changed
				// only with a relationship.
				{"PUT", "/Patient/pB", `{"resourceType":"Patient","id":"pB","name":[{"family":"Changed"}]}`, 403, nil, ""},
				{"PATCH", "/Patient/pB", `[{"op":"replace","path":"/birthDate","value":"1971-01-01"}]`, 403, nil, ""},
				{"PATCH", "/Patient/pD", `[{"op":"replace","path":"/birthDate","value":"1970-01-02"}]`, 200, nil, ""},
				{"POST", "/Patient", `{"resourceType":"Patient","name":[{"family":"Newborn"}]}`, 201, nil, ""},
				// Conditional interactions would probe everyone's records.
				{"PUT", "/Observation?code=8867-4&patient=pB", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/pA"}}`, 403, nil, ""},
				{"DELETE", "/Observation?patient=pB", "", 403, nil, ""},
				{"POST", "/", `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient?_id=pB"}},"request":{"method":"POST","url":"Observation"}}]}`, 403, nil, ""},
				{"PATCH", "/Observation/b1", `[{"op":"replace","path":"/status","value":"amended"}]`, 403, nil, ""},
				{"PATCH", "/Condition/a3", `[{"op":"replace","path":"/clinicalStatus/text","value":"x"}]`, 403, nil, ""},
				{"DELETE", "/Observation/b1", "", 403, nil, ""},
				{"DELETE", "/Condition/a3", "", 403, nil, ""},
				{"POST", "/", `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/pB"}},"request":{"method":"POST","url":"Observation"}}]}`, 403, nil, ""},
				{"POST", "/", `{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"GET","url":"Observation/b1"}}]}`, 200, nil, ""},
			},
			"cons": { // the trust: pB is on its ward, but shares only in an emergency
				{"GET", "/Observation?patient=pB", "", 403, nil, ""},
				{"GET", "/Observation/a2", "", 403, nil, ""}, // no relationship with pA
				{"GET", "/Observation?patient=pC", "", 403, nil, ""},
				{"GET", "/Patient/pA", "", 200, nil, ""}, // demographics, to find a person
				{"GET", "/Patient?name=Test", "", 200, []string{"Patient/pA", "Patient/pB", "Patient/pC", "Patient/pD"}, ""},
			},
			"icb": { // the board is not a provider: the hierarchy stops there
				{"GET", "/Observation?patient=pB", "", 403, nil, ""},
				{"GET", "/Observation?patient=pA", "", 403, nil, ""},
			},
			"social": {
				{"GET", "/Observation?patient=pA", "", 403, nil, ""},
				{"GET", "/Observation/a1", "", 403, nil, ""},
			},
			"admin": {
				{"GET", "/Observation/a1", "", 403, nil, ""},
				{"GET", "/Observation?patient=pA", "", 403, nil, ""},
				{"GET", "/Patient/pA", "", 200, nil, ""},
				{"GET", "/Patient/pA/$everything", "", 403, nil, ""},
				{"POST", "/Organization", `{"resourceType":"Organization","name":"new practice"}`, 201, nil, ""},
			},
			"analyst": {
				{"GET", "/Observation/a1", "", 403, nil, ""},
				{"GET", "/Patient/pA", "", 403, nil, ""},
				{"GET", "/Patient?name=Test", "", 403, nil, ""},
			},
			"officer": {
				{"GET", "/Observation/a1", "", 403, nil, ""},
				{"GET", "/Condition?patient=pA", "", 403, nil, ""},
			},
			"norole": {
				{"GET", "/Observation/a1", "", 403, nil, ""},
				{"GET", "/Patient/pA", "", 403, nil, ""},
			},
			"patA": {
				{"GET", "/Observation/a1", "", 200, nil, ""},
				{"GET", "/Condition/a3", "", 200, nil, ""}, // their own record: nothing sealed from them
				{"GET", "/Observation/c1", "", 403, nil, ""},
				{"GET", "/Patient/pB", "", 403, nil, ""},
				{"GET", "/Observation", "", 200, obsA, "2"},
				{"GET", "/Observation?code=8867-4&_summary=count", "", 200, nil, "2"},
				{"GET", "/Observation?patient=pC", "", 403, nil, ""},
				{"GET", "/Patient", "", 200, []string{"Patient/pA"}, ""},
				{"GET", "/Patient?name=Test", "", 200, []string{"Patient/pA"}, ""},
				{"GET", "/Patient/pC/$everything", "", 403, nil, ""},
				{"POST", "/Observation", `{"resourceType":"Observation","status":"final","code":{"text":"home BP"},"subject":{"reference":"Patient/pA"}}`, 201, nil, ""},
				{"POST", "/Observation", `{"resourceType":"Observation","status":"final","code":{"text":"home BP"},"subject":{"reference":"Patient/pC"}}`, 403, nil, ""},
				{"POST", "/Condition", `{"resourceType":"Condition","code":{"text":"x"},"subject":{"reference":"Patient/pA"}}`, 403, nil, ""},
				{"DELETE", "/Observation/a1", "", 403, nil, ""},
			},
			"appA": { // patient/ scopes on pA: no further, whatever gp1 may do
				{"GET", "/Observation?patient=pA", "", 200, obsA, ""},
				{"GET", "/Observation?patient=pD", "", 403, nil, ""},
				{"GET", "/Observation/d1", "", 403, nil, ""},
				{"GET", "/Condition?patient=pA", "", 403, nil, ""}, // not in its scopes
				{"POST", "/Observation", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/pA"}}`, 403, nil, ""},
			},
			"sysObs": {
				{"GET", "/Observation/c2", "", 200, nil, ""},
				{"GET", "/Condition/a3", "", 403, nil, ""},
				{"PUT", "/Observation/a1", `{"resourceType":"Observation","id":"a1","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/pA"}}`, 403, nil, ""},
			},
			"sys": {
				{"GET", "/Condition/a3", "", 200, nil, ""},
				{"GET", "/Observation?code=8867-4&_summary=count", "", 200, nil, "6"},
				{"GET", "/_history?_count=1", "", 200, nil, ""},
			},
			"": { // nobody signed in
				{"GET", "/Observation/a1", "", 401, nil, ""},
				{"GET", "/Observation?patient=pA", "", 401, nil, ""},
				{"GET", "/Patient/pA/$everything", "", 401, nil, ""},
				{"POST", "/Observation", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/pA"}}`, 401, nil, ""},
			},
		}
		whos := slices.Sorted(maps.Keys(matrix))
		for _, who := range whos {
			for _, tc := range matrix[who] {
				var headers []string
				if tc.method == "PATCH" {
					headers = []string{"Content-Type", "application/json-patch+json"}
				}
				r := w.as(who, tc.method, tc.path, tc.body, headers...)
				if r.Status != tc.want {
					t.Errorf("%s %s %s: status %d, want %d\n%s", who, tc.method, tc.path, r.Status, tc.want, r.Raw)
					continue
				}
				if r.Status >= 400 && r.Body["resourceType"] != "OperationOutcome" {
					t.Errorf("%s %s %s: a refusal is not an OperationOutcome: %s", who, tc.method, tc.path, r.Raw)
				}
				if tc.ids != nil {
					if got := entryIDs(r); !slices.Equal(got, tc.ids) {
						t.Errorf("%s %s %s: entries %v, want %v", who, tc.method, tc.path, got, tc.ids)
					}
				}
				if tc.total != "" && str(r.Body, "total") != tc.total {
					t.Errorf("%s %s %s: total %s, want %s", who, tc.method, tc.path, str(r.Body, "total"), tc.total)
				}
				if r.Status == 200 && tc.method == "GET" {
					for _, id := range entryIDs(r) {
						if id == "Condition/a3" && who != "patA" && who != "sys" {
							t.Errorf("%s %s: the sealed item leaked", who, tc.path)
						}
					}
				}
			}
		}
	})
}

// TestAccessOverTime: break-glass, a new sharing choice taking effect on
// the next request, the social care view, and what the audit is told.
func TestAccessOverTime(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *client) {
		w := newAccessWorld(t, c.st)
		expect := func(who, method, path, body string, want int, ids ...string) *response {
			t.Helper()
			r := w.as(who, method, path, body)
			if r.Status != want {
				t.Fatalf("%s %s %s: status %d, want %d\n%s", who, method, path, r.Status, want, r.Raw)
			}
			if ids != nil {
				if got := entryIDs(r); !slices.Equal(got, ids) {
					t.Fatalf("%s %s %s: entries %v, want %v", who, method, path, got, ids)
				}
			}
			return r
		}
		glass := func(who, patient, reason string) *response {
			return w.as(who, "POST", "/Patient/"+patient+"/$break-glass", `{"resourceType":"Parameters","parameter":[{"name":"reason","valueCode":"`+reason+`"},{"name":"text","valueString":"came in by ambulance"}]}`)
		}

		// A search of a record with sealed items says something is
		// withheld, not what; with none, it says nothing.
		if r := expect("gp1", "GET", "/Observation?patient=pA", "", 200); !strings.Contains(string(r.Raw), "withheld") {
			t.Errorf("no word of withheld items: %s", r.Raw)
		}
		if r := expect("gp1", "GET", "/Observation?patient=pD", "", 200); strings.Contains(string(r.Raw), "withheld") {
			t.Errorf("withheld items claimed where there are none: %s", r.Raw)
		}

		// The trust has pB on a ward, but pB shares only in an emergency.
		r := expect("cons", "GET", "/Observation?patient=pB", "", 403)
		if !strings.Contains(string(r.Raw), "$break-glass") {
			t.Errorf("the refusal does not offer break-glass: %s", r.Raw)
		}
		if r := glass("cons", "pB", "direct-care"); r.Status != 200 {
			t.Fatalf("break-glass: %d %s", r.Status, r.Raw)
		}
		expect("cons", "GET", "/Observation?patient=pB", "", 403) // direct care is not an emergency
		if r := glass("cons", "pB", "emergency"); r.Status != 200 {
			t.Fatalf("break-glass: %d %s", r.Status, r.Raw)
		}
		expect("cons", "GET", "/Observation?patient=pB", "", 200, "Observation/b1")
		w.mu.Lock()
		last := w.audits[len(w.audits)-1]
		w.mu.Unlock()
		if last.BreakGlass == nil || last.BreakGlass.Reason != "emergency" || last.Purpose != "ETREAT" || !slices.Contains(last.Patients, "pB") || !slices.Contains(last.Entities, "Observation/b1/_history/1") {
			t.Errorf("the audit was not told of the break-glass: %+v", last)
		}
		expect("gp1", "GET", "/Observation?patient=pB", "", 403) // the grant is the consultant's alone
		// Who may not break glass, and bad reasons.
		for _, who := range []string{"admin", "patA", "analyst", "officer", "sys"} {
			if r := glass(who, "pA", "emergency"); r.Status != 403 {
				t.Errorf("%s broke glass: %d %s", who, r.Status, r.Raw)
			}
		}
		if r := glass("cons", "pA", "curiosity"); r.Status != 400 {
			t.Errorf("a bad reason: %d %s", r.Status, r.Raw)
		}
		if r := glass("cons", "nobody", "emergency"); r.Status != 404 {
			t.Errorf("break-glass on nobody: %d %s", r.Status, r.Raw)
		}

		// Break-glass on pA opens it, but the trust's sealed item is the
		// trust's own, so it sees it; GP1 still does not.
		expect("cons", "GET", "/Condition/a3", "", 403)
		glass("cons", "pA", "direct-care")
		expect("cons", "GET", "/Condition/a3", "", 200)
		expect("cons", "GET", "/Condition?patient=pA", "", 200, "Condition/a3", "Condition/a4")
		expect("gp1", "GET", "/Condition/a3", "", 403)

		// The privacy officer's queue: every break-glass, nothing else.
		r = expect("officer", "GET", "/Task?code="+access.SysBreakGlass+"|break-glass", "", 200)
		if n := len(entryIDs(r)); n != 3 {
			t.Errorf("review queue holds %d tasks, want 3: %s", n, r.Raw)
		}
		expect("officer", "GET", "/"+entryIDs(r)[0], "", 200)
		// The officer closes a review, and may do nothing else with it:
		// not delete it, not make it another kind of Task, not move it to
		// another person's record.
		first := entryIDs(r)[0]
		cur := expect("officer", "GET", "/"+first, "", 200)
		var task map[string]any
		json.Unmarshal(cur.Raw, &task)
		task["status"] = "completed"
		task["businessStatus"] = map[string]any{"text": "Reviewed: appropriate"}
		b, _ := json.Marshal(task)
		expect("officer", "PUT", "/"+first, string(b), 200)
		other := map[string]any{}
		for k, v := range task {
			other[k] = v
		}
		other["code"] = map[string]any{"text": "anything else"}
		b, _ = json.Marshal(other)
		expect("officer", "PUT", "/"+first, string(b), 403)
		other["code"] = task["code"]
		forRef, _ := task["for"].(map[string]any)
		if forRef["reference"] == "Patient/pA" {
			other["for"] = map[string]any{"reference": "Patient/pB"}
		} else {
			other["for"] = map[string]any{"reference": "Patient/pA"}
		}
		b, _ = json.Marshal(other)
		expect("officer", "PUT", "/"+first, string(b), 403)
		expect("officer", "DELETE", "/"+first, "", 403)
		// Narrowed to one person, still only the queue's tasks.
		expect("officer", "GET", "/Task?patient=pA", "", 200, entryIDs(w.as("sys", "GET", "/Task?patient=pA&code="+access.SysBreakGlass+"|break-glass", ""))...)

		// pA changes their mind: dissent takes effect on the next request.
		expect("gp1", "GET", "/Observation?patient=pA", "", 200, "Observation/a1", "Observation/a2")
		obj := access.SharingConsent("pA", access.Sharing{Choice: access.Dissent}, time.Now())
		b, _ = fhir.Marshal(obj)
		expect("patA", "POST", "/Consent", string(b), 201)
		r = expect("gp1", "GET", "/Observation?patient=pA", "", 200, "Observation/a1")
		if !strings.Contains(string(r.Raw), "not be shared") {
			t.Errorf("the page does not say entries are held back: %s", r.Raw)
		}
		expect("gp1", "GET", "/Observation/a2", "", 403)
		expect("gp1", "GET", "/Observation?patient=pA&_summary=count", "", 200)
		if r := w.as("gp1", "GET", "/Observation?patient=pA&_summary=count", ""); str(r.Body, "total") != "1" {
			t.Errorf("count under dissent: %s", r.Raw)
		}

		// A conditional create would say whether pB has such an item.
		if r := w.as("gp1", "POST", "/Observation", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/pA"}}`, "If-None-Exist", "patient=pB&code=8867-4"); r.Status != 403 {
			t.Errorf("a conditional create by a user: %d %s", r.Status, r.Raw)
		}
		// A professional writes for their own organisation, whatever a
		// header says.
		obs := `{"resourceType":"Observation","status":"final","code":{"text":"pulse"},"subject":{"reference":"Patient/pD"}}`
		if r := w.as("gp1", "POST", "/Observation", obs, rest.SourceHeader, odsTrust); r.Status != 403 {
			t.Errorf("gp1 wrote as the trust: %d %s", r.Status, r.Raw)
		}
		r = expect("gp1", "POST", "/Observation", obs, 201)
		if !strings.Contains(string(r.Raw), `"code":"`+odsGP1+`"`) || !strings.Contains(string(r.Raw), "ods-organization-code|"+odsGP1) {
			t.Errorf("gp1's write is not attributed to GP1: %s", r.Raw)
		}

		// The social care view: a care team membership relates the
		// council; it sees the social care types, and other items only
		// when shared with social care.
		w.put("LA1", "Organization", "la", org("la", "LA1", "prov", ""))
		w.put("LA1", "Patient", "pE", `"name":[{"family":"Social"}],"generalPractitioner":[{"reference":"Organization/gp2"}]`)
		w.put("LA1", "CareTeam", "tE", `"status":"active","subject":{"reference":"Patient/pE"},"participant":[{"member":{"reference":"Organization/la"}}]`)
		w.put(odsGP2, "Condition", "e1", `"code":{"text":"frailty"},"subject":{"reference":"Patient/pE"},"meta":{"tag":[{"system":"`+access.SysShareWith+`","code":"social-care"}]}`)
		w.put(odsGP2, "Condition", "e2", `"code":{"text":"other"},"subject":{"reference":"Patient/pE"}`)
		expect("social", "GET", "/Condition?patient=pE", "", 200, "Condition/e1")
		expect("social", "GET", "/CareTeam?patient=pE", "", 200, "CareTeam/tE")
		expect("social", "GET", "/Condition/e2", "", 403)
		expect("social", "GET", "/Condition/e1", "", 200)
		expect("social", "POST", "/Condition", `{"resourceType":"Condition","code":{"text":"x"},"subject":{"reference":"Patient/pE"}}`, 403)
		expect("social", "POST", "/Flag", `{"resourceType":"Flag","status":"active","code":{"text":"lives alone"},"subject":{"reference":"Patient/pE"}}`, 201)
	})
}

// TestAccessBulk: an analyst's export leaves out the people who opted out
// and sealed items, without naming them; only the one who started a job
// sees it; people in care roles and patients run no bulk jobs.
func TestAccessBulk(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *client) {
		w := newAccessWorld(t, c.st)
		kick := func(who string) *response {
			return w.as(who, "GET", "/$export?_type=Patient,Observation,Condition", "", "Prefer", "respond-async")
		}
		for _, who := range []string{"gp1", "patA", "admin", "officer", ""} {
			if r := kick(who); r.Status != 403 && r.Status != 401 {
				t.Errorf("%s started an export: %d %s", who, r.Status, r.Raw)
			}
		}
		if r := w.as("gp1", "POST", "/$import", `{"resourceType":"Parameters"}`, "Prefer", "respond-async"); r.Status != 403 {
			t.Errorf("gp1 started an import: %d %s", r.Status, r.Raw)
		}
		r := kick("analyst")
		if r.Status != 202 {
			t.Fatalf("analyst export: %d %s", r.Status, r.Raw)
		}
		status := strings.TrimPrefix(r.Header.Get("Content-Location"), w.base)
		if r := w.as("gp1", "GET", status, ""); r.Status != 404 {
			t.Errorf("someone else's job: %d %s", r.Status, r.Raw)
		}
		var m *response
		for deadline := time.Now().Add(30 * time.Second); ; {
			m = w.as("analyst", "GET", status, "")
			if m.Status == 200 {
				break
			}
			if m.Status != 202 || time.Now().After(deadline) {
				t.Fatalf("status: %d %s", m.Status, m.Raw)
			}
			time.Sleep(20 * time.Millisecond)
		}
		var got []string
		files, _ := get(m.Body, "output").([]any)
		for _, f := range files {
			path := strings.TrimPrefix(str(f, "url"), w.base)
			if r := w.as("gp1", "GET", path, ""); r.Status != 404 {
				t.Errorf("someone else's file: %d", r.Status)
			}
			req, _ := http.NewRequest("GET", str(f, "url"), nil)
			req.Header.Set(asHeader, "analyst")
			resp, err := w.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
				var res map[string]any
				if err := json.Unmarshal([]byte(line), &res); err != nil {
					t.Fatalf("%s: %v", line, err)
				}
				got = append(got, str(res, "resourceType")+"/"+str(res, "id"))
			}
		}
		if errs, _ := get(m.Body, "error").([]any); len(errs) > 0 {
			t.Errorf("the export names what it left out: %s", m.Raw)
		}
		slices.Sort(got)
		want := []string{"Condition/a4", "Observation/a1", "Observation/a2", "Observation/b1", "Observation/c1", "Observation/c2",
			"Patient/pA", "Patient/pB", "Patient/pC"}
		if !slices.Equal(got, want) {
			t.Errorf("analyst export:\n got %v\nwant %v", got, want)
		}
	})
}

// TestAccessAuditLog: every access lands in the audit log; a patient
// lists who has looked at their own record (break-glass reasons
// included) and nobody else's; the privacy officer finds the
// break-glass accesses; others may not read the log.
func TestAccessAuditLog(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *client) {
		_, key, _ := ed25519.GenerateKey(nil)
		alog, err := audit.OpenSQLite(t.Context(), t.TempDir(), audit.Options{Key: key})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { alog.Close() })
		w := newAccessWorld(t, c.st, func(s *rest.Server) { s.Audit, s.AuditLog = s.AuditTo(alog), alog })
		w.as("gp1", "GET", "/Observation?patient=pA", "")
		w.as("gp1", "GET", "/Observation/b1", "") // refused: audited too
		w.as("cons", "POST", "/Patient/pA/$break-glass", `{"resourceType":"Parameters","parameter":[{"name":"reason","valueCode":"emergency"},{"name":"text","valueString":"unconscious in A&E"}]}`)
		w.as("cons", "GET", "/Observation/a2", "")
		if err := alog.Flush(t.Context()); err != nil {
			t.Fatal(err)
		}
		agents := func(r *response) (who []string, reasons string) {
			for _, e := range bundleEntries(r) {
				for _, a := range get(e, "resource", "agent").([]any) {
					if get(a, "requestor") == true {
						who = append(who, str(a, "who", "identifier", "value"))
					}
				}
				reasons += string(mustJSON(t, get(e, "resource")))
			}
			return who, reasons
		}
		r := w.as("patA", "GET", "/AuditEvent", "")
		if r.Status != 200 {
			t.Fatalf("patA's access log: %d %s", r.Status, r.Raw)
		}
		who, all := agents(r)
		if !slices.Contains(who, "gp1") || !slices.Contains(who, "cons") {
			t.Errorf("patA's log names %v, want gp1 and cons", who)
		}
		if !strings.Contains(all, "unconscious in A") {
			t.Errorf("patA's log lacks the break-glass reason")
		}
		if strings.Contains(all, "Observation/b1") {
			t.Errorf("patA's log shows an access to someone else's record")
		}
		if r := w.as("patA", "GET", "/AuditEvent?patient=pB", ""); r.Status != 403 {
			t.Errorf("patA read pB's access log: %d", r.Status)
		}
		r = w.as("officer", "GET", "/AuditEvent?purpose=ETREAT", "")
		if who, _ := agents(r); r.Status != 200 || len(who) == 0 || slices.ContainsFunc(who, func(s string) bool { return s != "cons" }) {
			t.Errorf("the break-glass report: %d %v", r.Status, who)
		}
		r = w.as("officer", "GET", "/AuditEvent?agent=gp1", "")
		if who, all := agents(r); len(who) != 2 || !strings.Contains(all, "Forbidden") {
			t.Errorf("gp1's accesses, refusal included: %v", who)
		}
		for _, who := range []string{"gp1", "admin", "analyst", ""} {
			if r := w.as(who, "GET", "/AuditEvent", ""); r.Status != 403 && r.Status != 401 {
				t.Errorf("%s read the access log: %d", who, r.Status)
			}
		}
		// An access shows at once, though reads are logged in batches up
		// to 50 ms apart: the search waits for what is queued.
		before, _ := agents(w.as("patA", "GET", "/AuditEvent", ""))
		w.as("gp1", "GET", "/Observation?patient=pA", "")
		if after, _ := agents(w.as("patA", "GET", "/AuditEvent", "")); len(after) != len(before)+1 {
			t.Errorf("patA's log right after another access: %d entries, want %d", len(after), len(before)+1)
		}
		if rep, err := alog.Verify(t.Context()); err != nil || !rep.OK() {
			t.Errorf("the log does not verify: %v %+v", err, rep)
		}
	})
}
