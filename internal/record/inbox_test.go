package record_test

import (
	"context"
	"io"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/sharedcare/sharedcare/internal/access"
	"github.com/sharedcare/sharedcare/internal/fhir"
	"github.com/sharedcare/sharedcare/internal/fhirdef"
	"github.com/sharedcare/sharedcare/internal/record"
	"github.com/sharedcare/sharedcare/internal/store"
	"github.com/sharedcare/sharedcare/internal/store/postgres"
	"github.com/sharedcare/sharedcare/internal/store/sqlite"
	"github.com/sharedcare/sharedcare/internal/validate"
)

// accessService opens the record service with access control on over a
// fresh store of each kind, as serve builds it.
func forEachAccessStore(t *testing.T, f func(t *testing.T, svc *record.Service)) {
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

const (
	inboxGP1   = "C84001"
	inboxGP2   = "C84002"
	inboxTrust = "RHQ"
)

var (
	inboxSys    = access.SystemPrincipal("test-feed", "")
	inboxGP1Usr = &access.Principal{Kind: access.User, Subject: "gp1", Role: access.RoleGP, Org: inboxGP1, Unscoped: true}
	inboxGP2Usr = &access.Principal{Kind: access.User, Subject: "gp2", Role: access.RoleGP, Org: inboxGP2, Unscoped: true}
	inboxAdmin  = &access.Principal{Kind: access.User, Subject: "admin", Role: access.RoleAdmin, Org: inboxGP1, Unscoped: true}
	inboxPat1   = &access.Principal{Kind: access.PatientUser, Subject: "p1", Role: access.RolePatient, FHIRUser: "Patient/p1", Unscoped: true}
	// A SMART app on p1 with patient/ scopes only.
	inboxApp = &access.Principal{Kind: access.User, Subject: "gp1", Role: access.RoleGP, Org: inboxGP1, Patient: "p1",
		Scopes: mustInboxScopes("launch/patient patient/Communication.rs")}
)

func mustInboxScopes(s string) access.Scopes {
	sc, err := access.ParseScopes(s)
	if err != nil {
		panic(err)
	}
	return sc
}

func addressed(typ, id, patient, to, from string, extra string) string {
	meta := `"meta":{"tag":[{"system":"` + access.SysAddressedTo + `","code":"` + to + `"},{"system":"` + access.SysODS + `","code":"` + from + `"}]` + extra + `}`
	if typ == "Task" {
		return `{"resourceType":"Task","id":"` + id + `",` + meta + `,"status":"requested","intent":"order","for":{"reference":"Patient/` + patient + `"}}`
	}
	return `{"resourceType":"Communication","id":"` + id + `",` + meta + `,"status":"completed","subject":{"reference":"Patient/` + patient + `"},
		"about":[{"reference":"Encounter/e-` + patient + `"}],"encounter":{"reference":"Encounter/e-` + patient + `"},"payload":[{"contentString":"alert ` + id + `"}]}`
}

// seedInbox writes three people (p1, p2 registered at GP1; p3 at GP2),
// an encounter of each at the trust, and items addressed to the GPs.
func seedInbox(t *testing.T, svc *record.Service) {
	ctx := access.WithPrincipal(t.Context(), inboxSys)
	put := func(typ, id, body string) {
		t.Helper()
		if _, err := svc.Update(ctx, typ, id, []byte(body), ""); err != nil {
			t.Fatalf("PUT %s/%s: %v", typ, id, err)
		}
	}
	for id, ods := range map[string]string{"gp1": inboxGP1, "gp2": inboxGP2, "trust": inboxTrust} {
		put("Organization", id, `{"resourceType":"Organization","id":"`+id+`","identifier":[{"system":"`+access.SysODS+`","value":"`+ods+`"}],"name":"`+id+`"}`)
	}
	for id, gp := range map[string]string{"p1": "gp1", "p2": "gp1", "p3": "gp2"} {
		put("Patient", id, `{"resourceType":"Patient","id":"`+id+`","generalPractitioner":[{"reference":"Organization/`+gp+`"}]}`)
		put("Encounter", "e-"+id, `{"resourceType":"Encounter","id":"e-`+id+`","status":"finished","class":{"system":"`+access.SysActCode+`","code":"AMB"},
			"subject":{"reference":"Patient/`+id+`"},"serviceProvider":{"reference":"Organization/trust"},"period":{"start":"2020-01-01","end":"2020-01-02"}}`)
	}
	put("Communication", "c1", addressed("Communication", "c1", "p1", inboxGP1, inboxTrust, ""))
	put("Communication", "c2", addressed("Communication", "c2", "p2", inboxGP1, inboxTrust, ""))
	put("Communication", "c3", addressed("Communication", "c3", "p3", inboxGP2, inboxTrust, ""))
	put("Communication", "c4", addressed("Communication", "c4", "p1", inboxGP2, inboxTrust, ""))
	// Sealed by the trust: withheld from GP1's inbox like anywhere else.
	put("Communication", "c5", addressed("Communication", "c5", "p1", inboxGP1, inboxTrust, `,"security":[{"system":"`+access.SysConfidentiality+`","code":"R"}]`))
	// About p3, with whom GP1 has no relationship, yet addressed to GP1.
	put("Communication", "c6", addressed("Communication", "c6", "p3", inboxGP1, inboxTrust, ""))
	// Not addressed to anyone.
	put("Communication", "c7", `{"resourceType":"Communication","id":"c7","status":"completed","subject":{"reference":"Patient/p1"}}`)
	// Replies, not addressed: for _revinclude.
	put("Communication", "c8", `{"resourceType":"Communication","id":"c8","status":"completed","subject":{"reference":"Patient/p1"},"partOf":[{"reference":"Communication/c1"}]}`)
	put("Communication", "c9", `{"resourceType":"Communication","id":"c9","status":"completed","subject":{"reference":"Patient/p3"},"partOf":[{"reference":"Communication/c6"}]}`)
	put("Task", "t1", addressed("Task", "t1", "p2", inboxGP1, inboxTrust, ""))
	put("Task", "t2", addressed("Task", "t2", "p3", inboxGP2, inboxTrust, ""))
}

func TestInboxSearch(t *testing.T) {
	tag := func(ods string) string { return access.SysAddressedTo + "|" + ods }
	tests := []struct {
		name     string
		who      *access.Principal
		typ      string
		params   url.Values
		want     []string // ids of the matches, sorted
		included []string // "Type/id" of the included resources, sorted
		count    int64    // with _summary=count, when want is set
		refused  bool
	}{
		{name: "GP1's inbox across several people", who: inboxGP1Usr, typ: "Communication", params: url.Values{"_tag": {tag(inboxGP1)}}, want: []string{"c1", "c2", "c6"}},
		{name: "GP2's inbox", who: inboxGP2Usr, typ: "Communication", params: url.Values{"_tag": {tag(inboxGP2)}}, want: []string{"c3", "c4"}},
		{name: "tasks addressed to GP1", who: inboxGP1Usr, typ: "Task", params: url.Values{"_tag": {tag(inboxGP1)}}, want: []string{"t1"}},
		{name: "other criteria narrow the inbox", who: inboxGP1Usr, typ: "Communication", params: url.Values{"_tag": {tag(inboxGP1)}, "subject:missing": {"false"}, "status": {"completed"}}, want: []string{"c1", "c2", "c6"}},
		{name: "another organisation's inbox", who: inboxGP1Usr, typ: "Communication", params: url.Values{"_tag": {tag(inboxGP2)}}, refused: true},
		{name: "widened with another organisation's tag", who: inboxGP1Usr, typ: "Communication", params: url.Values{"_tag": {tag(inboxGP1) + "," + tag(inboxGP2)}}, refused: true},
		{name: "and another organisation's tag", who: inboxGP1Usr, typ: "Communication", params: url.Values{"_tag": {tag(inboxGP1), tag(inboxGP2)}}, refused: true},
		{name: "negated tag", who: inboxGP1Usr, typ: "Communication", params: url.Values{"_tag:not": {tag(inboxGP2)}}, refused: true},
		{name: "no tag", who: inboxGP1Usr, typ: "Communication", params: url.Values{"status": {"completed"}}, refused: true},
		{name: "some other tag", who: inboxGP1Usr, typ: "Communication", params: url.Values{"_tag": {access.SysODS + "|" + inboxTrust}}, refused: true},
		{name: "not a type of the inbox", who: inboxGP1Usr, typ: "Observation", params: url.Values{"_tag": {tag(inboxGP1)}}, refused: true},
		{name: "role without access to care records", who: inboxAdmin, typ: "Communication", params: url.Values{"_tag": {tag(inboxGP1)}}, refused: true},
		{name: "patient-scoped app", who: inboxApp, typ: "Communication", params: url.Values{"_tag": {tag(inboxGP1)}}, want: []string{"c1"}},
		{name: "patient sees only their own record", who: inboxPat1, typ: "Communication", params: url.Values{"_tag": {tag(inboxGP1)}}, want: []string{"c1", "c5"}},
		{name: "include subject: the Patients (demographics)", who: inboxGP1Usr, typ: "Communication", params: url.Values{"_tag": {tag(inboxGP1)}, "_include": {"Communication:subject"}},
			want: []string{"c1", "c2", "c6"}, included: []string{"Patient/p1", "Patient/p2", "Patient/p3"}},
		{name: "include encounter: only the encounters of people GP1 may see", who: inboxGP1Usr, typ: "Communication", params: url.Values{"_tag": {tag(inboxGP1)}, "_include": {"Communication:encounter"}},
			want: []string{"c1", "c2", "c6"}, included: []string{"Encounter/e-p1", "Encounter/e-p2"}},
		{name: "revinclude: only what GP1 may see", who: inboxGP1Usr, typ: "Communication", params: url.Values{"_tag": {tag(inboxGP1)}, "_revinclude": {"Communication:part-of"}},
			want: []string{"c1", "c2", "c6"}, included: []string{"Communication/c8"}},
	}
	forEachAccessStore(t, func(t *testing.T, svc *record.Service) {
		seedInbox(t, svc)
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				ctx := access.WithPrincipal(context.Background(), tc.who)
				res, err := svc.Search(ctx, record.SearchRequest{Type: tc.typ, Params: tc.params})
				if tc.refused {
					if !isForbidden(err) {
						t.Fatalf("got %v, want refused", err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				var got, inc []string
				for _, r := range res.Matches {
					got = append(got, r.ID)
				}
				for _, r := range res.Included {
					inc = append(inc, r.Type+"/"+r.ID)
				}
				slices.Sort(got)
				slices.Sort(inc)
				if !slices.Equal(got, tc.want) {
					t.Errorf("matches %q, want %q", got, tc.want)
				}
				if !slices.Equal(inc, tc.included) {
					t.Errorf("included %q, want %q", inc, tc.included)
				}
				cp := url.Values{"_summary": {"count"}}
				for k, v := range tc.params {
					if !strings.HasPrefix(k, "_include") && !strings.HasPrefix(k, "_revinclude") {
						cp[k] = v
					}
				}
				cres, err := svc.Search(ctx, record.SearchRequest{Type: tc.typ, Params: cp})
				if err != nil {
					t.Fatal(err)
				}
				if cres.Total == nil || *cres.Total != int64(len(tc.want)) {
					t.Errorf("count %v, want %d", cres.Total, len(tc.want))
				}
			})
		}
		t.Run("reading an addressed item by id keeps to the person rules", func(t *testing.T) {
			ctx := access.WithPrincipal(context.Background(), inboxGP1Usr)
			if _, err := svc.Read(ctx, "Communication", "c1"); err != nil {
				t.Errorf("c1 (about a person registered at GP1): %v", err)
			}
			if _, err := svc.Read(ctx, "Communication", "c6"); !isForbidden(err) {
				t.Errorf("c6 (about a person GP1 has no relationship with): %v, want refused", err)
			}
		})
	})
}

func isForbidden(err error) bool { return err != nil && fhir.KindOf(err) == fhir.Forbidden }
