package record_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/sharedcare/sharedcare/internal/access"
	"github.com/sharedcare/sharedcare/internal/record"
	"github.com/sharedcare/sharedcare/internal/store"
)

// nhsLoginUser is a person signed in with NHS login: known by NHS number
// only, no fhirUser, no launch patient.
func nhsLoginUser(nhs string) *access.Principal {
	return &access.Principal{Kind: access.PatientUser, Role: access.RolePatient, Issuer: "https://auth.login.nhs.uk",
		Subject: "nhs-" + nhs, Name: "Mona Millar", NHSNumber: nhs, Unscoped: true}
}

func ids(rs []store.Resource) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Type+"/"+r.ID)
	}
	return out
}

func TestNHSLoginOwnRecord(t *testing.T) {
	forEachAccessStore(t, func(t *testing.T, svc *record.Service) {
		sys := access.WithPrincipal(t.Context(), inboxSys)
		put := func(typ, id, body string) {
			t.Helper()
			if _, err := svc.Update(sys, typ, id, []byte(body), ""); err != nil {
				t.Fatalf("PUT %s/%s: %v", typ, id, err)
			}
		}
		for id, nhs := range map[string]string{"mona": "9434765919", "other": "9000000009"} {
			put("Patient", id, `{"resourceType":"Patient","id":"`+id+`","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"`+nhs+`"}],"name":[{"family":"`+id+`"}]}`)
			put("Observation", "obs-"+id, `{"resourceType":"Observation","id":"obs-`+id+`","status":"final","code":{"text":"weight"},"subject":{"reference":"Patient/`+id+`"}}`)
		}
		// The same number in another system is not an NHS number.
		put("Patient", "lookalike", `{"resourceType":"Patient","id":"lookalike","identifier":[{"system":"urn:oid:1.2.3","value":"9876543210"}]}`)

		mona := nhsLoginUser("9434765919")
		ctx := access.WithPrincipal(t.Context(), mona)

		t.Run("reads own record", func(t *testing.T) {
			if _, err := svc.Read(ctx, "Patient", "mona"); err != nil {
				t.Errorf("own Patient: %v", err)
			}
			if _, err := svc.Read(ctx, "Observation", "obs-mona"); err != nil {
				t.Errorf("own Observation: %v", err)
			}
			if mona.Patient != "" {
				t.Errorf("the caller's principal was changed: Patient %q", mona.Patient)
			}
		})
		t.Run("$everything", func(t *testing.T) {
			r, err := svc.Everything(ctx, "mona", url.Values{})
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Join(append(ids(r.Matches), ids(r.Included)...), " ")
			if !strings.Contains(got, "Patient/mona") || !strings.Contains(got, "Observation/obs-mona") || strings.Contains(got, "other") {
				t.Errorf("$everything gave %s", got)
			}
		})
		t.Run("search without patient= is own record", func(t *testing.T) {
			r, err := svc.Search(ctx, record.SearchRequest{Type: "Observation", Params: url.Values{}})
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(ids(r.Matches), " "); got != "Observation/obs-mona" {
				t.Errorf("search gave %q", got)
			}
		})
		t.Run("another person's record refused", func(t *testing.T) {
			if _, err := svc.Read(ctx, "Patient", "other"); !isForbidden(err) {
				t.Errorf("other's Patient: %v, want refused", err)
			}
			if _, err := svc.Read(ctx, "Observation", "obs-other"); !isForbidden(err) {
				t.Errorf("other's Observation: %v, want refused", err)
			}
			if _, err := svc.Everything(ctx, "other", url.Values{}); !isForbidden(err) {
				t.Errorf("other's $everything: %v, want refused", err)
			}
			if _, err := svc.Search(ctx, record.SearchRequest{Type: "Observation", Params: url.Values{"patient": {"other"}}}); !isForbidden(err) {
				t.Errorf("search of other's record: %v, want refused", err)
			}
		})
		t.Run("no record with the number", func(t *testing.T) {
			for _, nhs := range []string{"4010232137", "9876543210"} {
				nobody := access.WithPrincipal(t.Context(), nhsLoginUser(nhs))
				for _, id := range []string{"mona", "other", "lookalike"} {
					_, err := svc.Read(nobody, "Patient", id)
					if !isForbidden(err) || !strings.Contains(err.Error(), "no record with your NHS number") {
						t.Errorf("%s reading %s: %v, want refused for no record", nhs, id, err)
					}
				}
				if _, err := svc.Search(nobody, record.SearchRequest{Type: "Observation", Params: url.Values{}}); !isForbidden(err) {
					t.Errorf("%s searching: %v, want refused", nhs, err)
				}
			}
		})
		t.Run("fhirUser wins over the NHS number", func(t *testing.T) {
			// A principal with both is decided by fhirUser alone, as before.
			pr := nhsLoginUser("9434765919")
			pr.FHIRUser = "Patient/other"
			c := access.WithPrincipal(t.Context(), pr)
			if _, err := svc.Read(c, "Patient", "mona"); !isForbidden(err) {
				t.Errorf("read mona as Patient/other: %v, want refused", err)
			}
			if _, err := svc.Read(c, "Patient", "other"); err != nil {
				t.Errorf("read other as Patient/other: %v", err)
			}
		})
	})
}
