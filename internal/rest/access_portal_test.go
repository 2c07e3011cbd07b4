package rest_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sharedcare/sharedcare/internal/access"
	"github.com/sharedcare/sharedcare/internal/fhir"
	"github.com/sharedcare/sharedcare/internal/rest"
)

// The rules the patient portal stands on, on both stores: delegation with
// rights, shares with a named organisation, the privacy officer's one
// queue, the "not yet available" warning, and the platform's mark on what
// a person entered themselves.

const odsPhysio, odsPhysio2 = "PHY1", "PHY2" // private physiotherapists, outside the care system

func init() {
	for name, pr := range map[string]*access.Principal{
		// Delegates of pA, signed in as the identity provider makes them:
		// role patient, fhirUser the RelatedPerson, patient the person.
		"momA":  {Kind: access.PatientUser, Subject: "momA", Role: access.RolePatient, FHIRUser: "RelatedPerson/rFull", Patient: "pA", Unscoped: true},
		"dadA":  {Kind: access.PatientUser, Subject: "dadA", Role: access.RolePatient, FHIRUser: "RelatedPerson/rRead", Patient: "pA", Unscoped: true},
		"granA": {Kind: access.PatientUser, Subject: "granA", Role: access.RolePatient, FHIRUser: "RelatedPerson/rOld", Patient: "pA", Unscoped: true},
		"auntA": {Kind: access.PatientUser, Subject: "auntA", Role: access.RolePatient, FHIRUser: "RelatedPerson/rNone", Patient: "pA", Unscoped: true},
		"patD":  {Kind: access.PatientUser, Subject: "patD", Role: access.RolePatient, FHIRUser: "Patient/pD", Unscoped: true},
		// Professionals of organisations the person may share with.
		"physio":  {Kind: access.User, Subject: "physio", Role: access.RoleNurse, Org: odsPhysio, Unscoped: true},
		"physio2": {Kind: access.User, Subject: "physio2", Role: access.RoleNurse, Org: odsPhysio2, Unscoped: true},
	} {
		principals[name] = pr
	}
}

// portalWorld is the access world with pA's delegates and an item held
// back from pA's view.
func portalWorld(t *testing.T, c *client) *accessWorld {
	w := newAccessWorld(t, c.st)
	now := time.Now()
	rp := func(id string, obj fhir.Object) {
		obj["id"] = id
		b, err := fhir.Marshal(obj)
		if err != nil {
			t.Fatal(err)
		}
		if r := w.as("sys", "PUT", "/RelatedPerson/"+id, string(b), rest.SourceHeader, odsGP1); r.Status != 201 {
			t.Fatalf("seed %s: %d %s", id, r.Status, r.Raw)
		}
	}
	rp("rFull", access.Delegation("pA", "Mum", "MTH", "mother", access.ProxyFull, time.Time{}))
	rp("rRead", access.Delegation("pA", "Dad", "FTH", "father", access.ProxyRead, now.Add(30*24*time.Hour)))
	rp("rOld", access.Delegation("pA", "Gran", "GRMTH", "grandmother", access.ProxyFull, now.Add(-time.Hour)))
	none := access.Delegation("pA", "Aunt", "AUNT", "aunt", access.ProxyFull, time.Time{})
	delete(none, "extension")
	rp("rNone", none)
	w.put(odsGP1, "Observation", "a5", `"status":"final","code":{"coding":[{"system":"http://loinc.org","code":"2345-7"}]},"subject":{"reference":"Patient/pA"},"meta":{"tag":[{"system":"`+access.SysPatientView+`","code":"withhold"}]}`)
	return w
}

func (w *accessWorld) expect(who, method, path, body string, want int, ids ...string) *response {
	w.t.Helper()
	var headers []string
	if method == "PATCH" {
		headers = []string{"Content-Type", "application/json-patch+json"}
	}
	r := w.as(who, method, path, body, headers...)
	if r.Status != want {
		w.t.Fatalf("%s %s %s: status %d, want %d\n%s", who, method, path, r.Status, want, r.Raw)
	}
	if r.Status >= 400 && r.Body["resourceType"] != "OperationOutcome" {
		w.t.Fatalf("%s %s %s: a refusal is not an OperationOutcome: %s", who, method, path, r.Raw)
	}
	if ids != nil {
		if got := entryIDs(r); !slices.Equal(got, ids) {
			w.t.Fatalf("%s %s %s: entries %v, want %v", who, method, path, got, ids)
		}
	}
	return r
}

func marshal(t *testing.T, obj fhir.Object) string {
	t.Helper()
	b, err := fhir.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func hasTag(res any, system, code string) bool {
	tags, _ := get(res, "meta", "tag").([]any)
	for _, tg := range tags {
		if str(tg, "system") == system && str(tg, "code") == code {
			return true
		}
	}
	return false
}

const sealedWarning = "sealed by the organisation"
const notYetWarning = "not yet available"

func TestAccessPortalDelegation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *client) {
		w := portalWorld(t, c)
		obs := `{"resourceType":"Observation","status":"final","code":{"text":"home BP"},"subject":{"reference":"Patient/pA"}}`

		// A full delegate reads and writes as the person, sealed items
		// excepted, and is not told they exist.
		w.expect("momA", "GET", "/Observation/a1", "", 200)
		w.expect("momA", "GET", "/Condition/a3", "", 403) // sealed: the person's alone
		r := w.expect("momA", "GET", "/Condition?patient=pA", "", 200, "Condition/a4")
		if strings.Contains(string(r.Raw), sealedWarning) {
			t.Errorf("a delegate was told that sealed items exist: %s", r.Raw)
		}
		w.expect("momA", "GET", "/Patient/pA/$everything?_type=Condition", "", 200, "Condition/a4")
		w.expect("momA", "GET", "/Condition", "", 200, "Condition/a4") // their person's record, named or not
		w.expect("momA", "GET", "/Observation/b1", "", 403)
		w.expect("momA", "GET", "/Observation?patient=pB", "", 403)
		r = w.expect("momA", "POST", "/Observation", obs, 201)
		if !hasTag(r.Body, access.SysProvenance, access.PatientEntered) || str(r.Body, "meta", "source") != "RelatedPerson/rFull" {
			t.Errorf("a delegate's write is not marked as entered by them: %s", r.Raw)
		}
		w.expect("momA", "POST", "/Consent", marshal(t, access.SharingConsent("pA", access.Sharing{Choice: access.Share}, time.Now())), 201)
		w.expect("momA", "POST", "/Observation", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/pB"}}`, 403)

		// A read-only delegate reads, and changes nothing.
		w.expect("dadA", "GET", "/Observation/a1", "", 200)
		w.expect("dadA", "GET", "/Condition/a3", "", 403)
		r = w.expect("dadA", "POST", "/Observation", obs, 403)
		if !strings.Contains(string(r.Raw), "not change it") {
			t.Errorf("the refusal does not say why: %s", r.Raw)
		}
		w.expect("dadA", "POST", "/Consent", marshal(t, access.SharingConsent("pA", access.Sharing{Choice: access.Dissent}, time.Now())), 403)
		w.expect("dadA", "PATCH", "/Observation/a1", `[{"op":"replace","path":"/status","value":"amended"}]`, 403)
		w.expect("dadA", "POST", "/", `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":`+obs+`,"request":{"method":"POST","url":"Observation"}}]}`, 403)

		// An ended delegation, and a related person without proxy access.
		for _, who := range []string{"granA", "auntA"} {
			w.expect(who, "GET", "/Observation/a1", "", 403)
			w.expect(who, "GET", "/Observation?patient=pA", "", 403)
			w.expect(who, "POST", "/Observation", obs, 403)
		}
		// The person themselves still sees their sealed item.
		w.expect("patA", "GET", "/Condition/a3", "", 200)
	})
}

func TestAccessPortalOrgShare(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *client) {
		w := portalWorld(t, c)
		now := time.Now()
		// Nothing before the person shares.
		w.expect("physio", "GET", "/Observation?patient=pA", "", 403)
		w.expect("physio", "GET", "/Observation/a1", "", 403)

		share := access.OrgShareConsent("pA", odsPhysio, "Physio Ltd", []string{"Observation"}, now.Add(7*24*time.Hour), now)
		// Only the person (or a full delegate) makes a share.
		w.expect("gp1", "POST", "/Consent", marshal(t, share), 403)
		w.expect("dadA", "POST", "/Consent", marshal(t, share), 403)
		r := w.expect("patA", "POST", "/Consent", marshal(t, share), 201)
		shareID := str(r.Body, "id")

		obsA := []string{"Observation/a1", "Observation/a2", "Observation/a5"}
		w.expect("physio", "GET", "/Observation/a1", "", 200)
		w.expect("physio", "GET", "/Observation?patient=pA", "", 200, obsA...)
		w.expect("physio", "GET", "/Observation?patient=pA&_include=Observation:patient", "", 200, append(slices.Clone(obsA), "Patient/pA")...)
		r = w.expect("physio", "GET", "/Condition/a4", "", 403)
		if !strings.Contains(string(r.Raw), "shared only Observation") {
			t.Errorf("the refusal does not say what was shared: %s", r.Raw)
		}
		w.expect("physio", "GET", "/Condition/a3", "", 403)
		w.expect("physio", "GET", "/Condition?patient=pA", "", 403)
		w.expect("physio", "GET", "/?_type=Observation,Condition&patient=pA", "", 403)
		w.expect("physio", "GET", "/Patient/pA/Condition", "", 403)
		w.expect("physio", "GET", "/Patient/pA/$everything?_type=Condition", "", 403)
		w.expect("physio", "GET", "/Patient/pA/$everything", "", 200, append(slices.Clone(obsA), "Organization/gp1", "Patient/pA")...) // and the directory entries it refers to
		w.expect("physio", "GET", "/Patient/pA/*", "", 200, append(slices.Clone(obsA), "Patient/pA")...)
		w.expect("physio", "GET", "/Patient?_id=pA&_revinclude=Condition:patient", "", 200, "Patient/pA")
		w.expect("physio", "GET", "/Condition/a4/_history", "", 403)
		// Read only: a share discloses, it does not let the organisation write.
		w.expect("physio", "POST", "/Observation", `{"resourceType":"Observation","status":"final","code":{"text":"gait"},"subject":{"reference":"Patient/pA"}}`, 403)
		// Another organisation gets nothing; nor does a share already ended.
		w.expect("patA", "POST", "/Consent", marshal(t, access.OrgShareConsent("pA", odsPhysio2, "Other Physio", []string{"Observation"}, now.Add(-time.Hour), now.Add(-48*time.Hour))), 201)
		w.expect("physio2", "GET", "/Observation?patient=pA", "", 403)
		w.expect("physio2", "GET", "/Observation/a1", "", 403)
		// The audit is told of the share.
		w.expect("physio", "GET", "/Observation/a1", "", 200)
		w.mu.Lock()
		last := w.audits[len(w.audits)-1]
		w.mu.Unlock()
		if !strings.Contains(last.Grounds, "Physio Ltd (PHY1)") || !strings.Contains(last.Grounds, "Consent/"+shareID) {
			t.Errorf("the audit note does not name the share: %+v", last)
		}

		// A professional with a real relationship is not narrowed by a
		// share with their organisation.
		w.expect("patA", "POST", "/Consent", marshal(t, access.OrgShareConsent("pA", odsGP1, "GP1", []string{"Observation"}, now.Add(time.Hour), now)), 201)
		w.expect("gp1", "GET", "/Condition/a4", "", 200)
		w.expect("gp1", "GET", "/Condition?patient=pA", "", 200, "Condition/a4")

		// The share stands under the person's dissent: they chose it.
		w.expect("patA", "POST", "/Consent", marshal(t, access.SharingConsent("pA", access.Sharing{Choice: access.Dissent}, now)), 201)
		w.expect("physio", "GET", "/Observation/a2", "", 200)

		// Revoked: the portal writes it back inactive.
		cur := w.expect("patA", "GET", "/Consent/"+shareID, "", 200)
		var k map[string]any
		json.Unmarshal(cur.Raw, &k)
		k["status"] = "inactive"
		b, _ := json.Marshal(k)
		w.expect("gp1", "PUT", "/Consent/"+shareID, string(b), 403) // not the GP's to change
		w.expect("patA", "PUT", "/Consent/"+shareID, string(b), 200)
		w.expect("physio", "GET", "/Observation/a1", "", 403)
		w.expect("physio", "GET", "/Observation?patient=pA", "", 403)
	})
}

func TestAccessPortalPrivacyQueue(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *client) {
		w := portalWorld(t, c)
		now := time.Now()
		queue := "/Task?_tag=" + access.SysPrivacyReview + "|" + access.ReviewTag
		w.expect("officer", "GET", queue, "", 200, []string{}...)

		q := access.AccessQuery("pA", []string{"ae-1"}, "I do not know this nurse", now)
		w.expect("patA", "POST", "/Task", marshal(t, access.AccessQuery("pB", nil, "not mine", now)), 403)
		w.expect("dadA", "POST", "/Task", marshal(t, q), 403)
		r := w.expect("patA", "POST", "/Task", marshal(t, q), 201)
		query := "Task/" + str(r.Body, "id")
		w.expect("momA", "POST", "/Task", marshal(t, q), 201)
		// A professional's Task with the tag, or a forged break-glass
		// review, gets nowhere.
		forged := access.AccessQuery("pA", nil, "x", now)
		w.expect("gp1", "POST", "/Task", marshal(t, forged), 403)
		forged["code"] = map[string]any{"text": "a clinical task"}
		w.expect("gp1", "POST", "/Task", marshal(t, forged), 403)
		w.expect("gp1", "POST", "/Task", `{"resourceType":"Task","status":"requested","intent":"order","code":{"coding":[{"system":"`+access.SysBreakGlass+`","code":"break-glass"}]},"for":{"reference":"Patient/pA"},"requester":{"identifier":{"system":"https://sharedcare.example/principal","value":"cons"}}}`, 403)
		w.expect("cons", "GET", "/Observation/a2", "", 403) // no grant came of it
		w.expect("patA", "POST", "/Task", `{"resourceType":"Task","status":"requested","intent":"order","code":{"coding":[{"system":"`+access.SysBreakGlass+`","code":"break-glass"}]},"for":{"reference":"Patient/pA"}}`, 403)
		// A clinical Task is unaffected.
		w.expect("gp1", "POST", "/Task", `{"resourceType":"Task","status":"requested","intent":"order","code":{"text":"call back"},"for":{"reference":"Patient/pA"}}`, 201)

		// A break-glass review lands in the same queue.
		if r := w.as("cons", "POST", "/Patient/pB/$break-glass", `{"resourceType":"Parameters","parameter":[{"name":"reason","valueCode":"emergency"},{"name":"text","valueString":"collapsed"}]}`); r.Status != 200 {
			t.Fatalf("break-glass: %d %s", r.Status, r.Raw)
		}
		r = w.expect("officer", "GET", queue, "", 200)
		if n := len(entryIDs(r)); n != 3 || !slices.Contains(entryIDs(r), query) {
			t.Fatalf("the queue holds %v, want two queries and a review", entryIDs(r))
		}
		r = w.expect("officer", "GET", "/Task?code="+access.SysBreakGlass+"|break-glass", "", 200)
		if n := len(entryIDs(r)); n != 1 || !hasTag(get(bundleEntries(r)[0], "resource"), access.SysPrivacyReview, access.ReviewTag) {
			t.Fatalf("the break-glass search: %s", r.Raw)
		}
		// The officer reads and closes a query, and does nothing else
		// with it; nor with the rest of the record.
		cur := w.expect("officer", "GET", "/"+query, "", 200)
		var task map[string]any
		json.Unmarshal(cur.Raw, &task)
		task["status"] = "completed"
		task["businessStatus"] = map[string]any{"text": "Explained: the district nurse's visit"}
		b, _ := json.Marshal(task)
		w.expect("officer", "PUT", "/"+query, string(b), 200)
		other := map[string]any{}
		for k, v := range task {
			other[k] = v
		}
		other["code"] = map[string]any{"coding": []any{map[string]any{"system": access.SysBreakGlass, "code": "break-glass"}}}
		b, _ = json.Marshal(other)
		w.expect("officer", "PUT", "/"+query, string(b), 403)
		w.expect("officer", "PATCH", "/"+query, `[{"op":"replace","path":"/code","value":{"text":"other"}}]`, 403)
		w.expect("officer", "DELETE", "/"+query, "", 403)
		w.expect("officer", "GET", "/Observation/a1", "", 403)
		w.expect("officer", "GET", "/Task?patient=pA&code=call", "", 200)
		if r := w.as("officer", "GET", "/Task?patient=pA", ""); slices.ContainsFunc(entryIDs(r), func(id string) bool {
			return !strings.HasPrefix(id, "Task/") || id != query && !slices.Contains(entryIDs(w.as("sys", "GET", queue+"&patient=pA", "")), id)
		}) {
			t.Errorf("the officer sees Tasks outside the queue: %v", entryIDs(r))
		}
		// Once sent, a query is the officer's to answer.
		w.expect("patA", "PUT", "/"+query, string(b), 403)
		w.expect("patA", "GET", "/"+query, "", 200)
	})
}

func TestAccessPortalNotYetAvailable(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *client) {
		w := portalWorld(t, c)
		for _, who := range []string{"patA", "momA"} {
			r := w.expect(who, "GET", "/Observation", "", 200, "Observation/a1", "Observation/a2")
			if !strings.Contains(string(r.Raw), notYetWarning) {
				t.Errorf("%s is not told something is not yet available: %s", who, r.Raw)
			}
			// Said of the record, not of the search.
			if r := w.expect(who, "GET", "/Condition?patient=pA", "", 200); !strings.Contains(string(r.Raw), notYetWarning) {
				t.Errorf("%s: the warning depends on the search: %s", who, r.Raw)
			}
			if r := w.expect(who, "GET", "/Patient/pA/$everything", "", 200); !strings.Contains(string(r.Raw), notYetWarning) || slices.Contains(entryIDs(r), "Observation/a5") {
				t.Errorf("%s $everything: %s", who, r.Raw)
			}
			w.expect(who, "GET", "/Observation/a5", "", 403)
		}
		if r := w.expect("patD", "GET", "/Observation", "", 200, "Observation/d1"); strings.Contains(string(r.Raw), notYetWarning) {
			t.Errorf("the warning where nothing is withheld: %s", r.Raw)
		}
		if r := w.expect("gp1", "GET", "/Observation?patient=pA", "", 200, "Observation/a1", "Observation/a2", "Observation/a5"); strings.Contains(string(r.Raw), notYetWarning) {
			t.Errorf("a professional is told what the person is: %s", r.Raw)
		}
	})
}

func TestAccessPortalPatientEntered(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *client) {
		w := portalWorld(t, c)
		entered := `{"system":"` + access.SysProvenance + `","code":"` + access.PatientEntered + `"}`
		// A person's write is marked, and claims no organisation.
		r := w.expect("patA", "POST", "/Observation", `{"resourceType":"Observation","meta":{"source":"https://fhir.nhs.uk/Id/ods-organization-code|`+odsGP1+`","tag":[{"system":"https://fhir.nhs.uk/Id/ods-organization-code","code":"`+odsGP1+`"}]},"status":"final","code":{"text":"home BP"},"subject":{"reference":"Patient/pA"}}`, 201)
		if !hasTag(r.Body, access.SysProvenance, access.PatientEntered) || hasTag(r.Body, access.SysODS, odsGP1) || str(r.Body, "meta", "source") != "Patient/pA" {
			t.Fatalf("the person's write: %s", r.Raw)
		}
		mine := "/Observation/" + str(r.Body, "id")
		// Under dissent, GP1 sees only its own: the person's entry is not GP1's.
		w.expect("patA", "POST", "/Consent", marshal(t, access.SharingConsent("pA", access.Sharing{Choice: access.Dissent}, time.Now())), 201)
		w.expect("gp1", "GET", mine, "", 403)
		w.expect("patA", "POST", "/Consent", marshal(t, access.SharingConsent("pA", access.Sharing{Choice: access.Share}, time.Now())), 201)
		w.expect("patA", "GET", "/Observation?_tag="+access.SysProvenance+"|"+access.PatientEntered, "", 200, strings.TrimPrefix(mine, "/"))
		// A professional's write cannot forge the mark, and their change
		// of the person's entry removes it.
		r = w.expect("gp1", "POST", "/Observation", `{"resourceType":"Observation","meta":{"tag":[`+entered+`]},"status":"final","code":{"text":"pulse"},"subject":{"reference":"Patient/pA"}}`, 201)
		if hasTag(r.Body, access.SysProvenance, access.PatientEntered) {
			t.Errorf("a professional forged the mark: %s", r.Raw)
		}
		r = w.expect("gp1", "PATCH", mine, `[{"op":"replace","path":"/status","value":"amended"}]`, 200)
		if hasTag(r.Body, access.SysProvenance, access.PatientEntered) || !hasTag(r.Body, access.SysODS, odsGP1) {
			t.Errorf("the GP's version keeps the person's mark: %s", r.Raw)
		}
		// A system's feed cannot carry it either.
		w.put(odsTrust, "Observation", "t1", `"meta":{"tag":[`+entered+`]},"status":"final","code":{"text":"x"},"subject":{"reference":"Patient/pA"}`)
		if r := w.expect("sys", "GET", "/Observation/t1", "", 200); hasTag(r.Body, access.SysProvenance, access.PatientEntered) {
			t.Errorf("a feed forged the mark: %s", r.Raw)
		}
		// A transaction by the person is marked too.
		r = w.expect("patA", "POST", "/", `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Goal","lifecycleStatus":"active","description":{"text":"walk daily"},"subject":{"reference":"Patient/pA"}},"request":{"method":"POST","url":"Goal"}}]}`, 200)
		loc := str(r.Body, "entry", 0, "response", "location")
		id := strings.Split(strings.TrimPrefix(loc, "Goal/"), "/")[0]
		if r := w.expect("patA", "GET", "/Goal/"+id, "", 200); !hasTag(r.Body, access.SysProvenance, access.PatientEntered) {
			t.Errorf("the person's transaction is not marked: %s", r.Raw)
		}
	})
}
