package idp

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sharedcare/sharedcare/internal/access"
)

const (
	carerUsr   = "carer"
	parentUsr  = "parent"
	portalScop = "openid fhirUser offline_access launch/patient patient/*.rs"
	dadLabel   = "Roy Jessop (your father)"
)

// addActingUsers adds a carer with a record of their own who acts for
// their father and a neighbour, and a parent who only acts for a child.
func (e *env) addActingUsers() {
	e.t.Helper()
	ctx := context.Background()
	if _, err := e.p.Store().AddUser(ctx, User{Username: carerUsr, Password: password, Name: "Jo Jessop", Role: access.RolePatient, Patient: "pt-c",
		ActsFor: []ActsFor{{RelatedPerson: "RelatedPerson/rp-dad", Patient: "pt-dad", Label: dadLabel}}}); err != nil {
		e.t.Fatal(err)
	}
	if err := e.p.Store().SetActsFor(ctx, carerUsr, []ActsFor{
		{RelatedPerson: "RelatedPerson/rp-dad", Patient: "pt-dad", Label: dadLabel},
		{RelatedPerson: "RelatedPerson/rp-nb", Patient: "pt-nb", Label: "Ann <b>Lee</b>"},
	}); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.p.Store().AddUser(ctx, User{Username: parentUsr, Password: password, Name: "Pat Parent", Role: access.RolePatient, FHIRUser: "RelatedPerson/rp-kid",
		ActsFor: []ActsFor{{RelatedPerson: "RelatedPerson/rp-kid", Patient: "pt-kid", Label: "Kim (your daughter)"}}}); err != nil {
		e.t.Fatal(err)
	}
}

// chooser signs username in and returns the page that follows, and the
// browser to go on with.
func (e *env) chooser(scope, username string) (*http.Client, form) {
	e.t.Helper()
	c := e.browser()
	f := e.startSignIn(c, authorizeQuery(publicApp, scope))
	return c, readForm(e.t, e.post(c, "/login", url.Values{"id": {f.id}, "csrf": {f.csrf}, "username": {username}, "password": {password}}))
}

// jwtPayload decodes a JWT's claims without verifying it.
func jwtPayload(t *testing.T, raw string) map[string]any {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", raw)
	}
	b, err := base64RawURL(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func (e *env) refresh(rt string) tokenResp {
	return e.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {publicApp}}, "", "")
}

func (e *env) userinfo(access string) map[string]any {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.url("/userinfo"), nil)
	req.Header.Set("Authorization", "Bearer "+access)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	return m
}

func TestIDPActsFor(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		e.addActingUsers()
		t.Run("acting for another", func(t *testing.T) {
			c, page := e.chooser(portalScop, carerUsr)
			if page.status != 200 || !strings.Contains(page.body, "Whose record?") || !strings.Contains(page.body, "Your own record") ||
				!strings.Contains(page.body, dadLabel) || !strings.Contains(page.body, "Ann &lt;b&gt;Lee&lt;/b&gt;") || strings.Contains(page.body, `<label for="patient">`) {
				t.Fatalf("want the chooser, got %d %.600s", page.status, page.body)
			}
			code := codeFrom(t, e.post(c, "/login/patient", url.Values{"id": {page.id}, "csrf": {page.csrf}, "patient": {"pt-dad"}}))
			tr := e.exchange(code, verifier)
			m := jwtPayload(t, tr.AccessToken)
			if tr.Patient != "pt-dad" || m["patient"] != "pt-dad" || m["fhirUser"] != "RelatedPerson/rp-dad" || m["sharedcare_role"] != "patient" {
				t.Fatalf("tokens: %+v %v", tr, m)
			}
			checkContract(t, e.claims(tr.AccessToken), map[string]any{"fhirUser": "RelatedPerson/rp-dad", "patient": "pt-dad", "name": "Jo Jessop"})
			if id := jwtPayload(t, tr.IDToken); id["fhirUser"] != "RelatedPerson/rp-dad" {
				t.Errorf("id token fhirUser %v", id["fhirUser"])
			}
			if ui := e.userinfo(tr.AccessToken); ui["fhirUser"] != "RelatedPerson/rp-dad" {
				t.Errorf("userinfo %v", ui)
			}
			// Refresh keeps the choice.
			tr2 := e.refresh(tr.RefreshToken)
			m2 := jwtPayload(t, tr2.AccessToken)
			if tr2.status != 200 || tr2.Patient != "pt-dad" || m2["patient"] != "pt-dad" || m2["fhirUser"] != "RelatedPerson/rp-dad" {
				t.Fatalf("refreshed: %+v %v", tr2, m2)
			}
			// No longer acting for him, the refresh token stops working.
			if err := e.p.Store().SetActsFor(context.Background(), carerUsr, []ActsFor{{RelatedPerson: "RelatedPerson/rp-nb", Patient: "pt-nb", Label: "Ann Lee"}}); err != nil {
				t.Fatal(err)
			}
			if tr3 := e.refresh(tr2.RefreshToken); tr3.AccessToken != "" {
				t.Errorf("refresh after the delegation was removed: %+v", tr3)
			}
			if err := e.p.Store().SetActsFor(context.Background(), carerUsr, []ActsFor{
				{RelatedPerson: "RelatedPerson/rp-dad", Patient: "pt-dad", Label: dadLabel},
				{RelatedPerson: "RelatedPerson/rp-nb", Patient: "pt-nb", Label: "Ann <b>Lee</b>"},
			}); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("own record", func(t *testing.T) {
			c, page := e.chooser(portalScop, carerUsr)
			code := codeFrom(t, e.post(c, "/login/patient", url.Values{"id": {page.id}, "csrf": {page.csrf}, "patient": {"pt-c"}}))
			tr := e.exchange(code, verifier)
			m := jwtPayload(t, tr.AccessToken)
			if tr.Patient != "pt-c" || m["patient"] != "pt-c" || m["fhirUser"] != "Patient/pt-c" {
				t.Fatalf("own record: %+v %v", tr, m)
			}
			tr2 := e.refresh(tr.RefreshToken)
			if m2 := jwtPayload(t, tr2.AccessToken); m2["patient"] != "pt-c" || m2["fhirUser"] != "Patient/pt-c" {
				t.Fatalf("refreshed own record: %v", m2)
			}
		})
		t.Run("forged choices refused", func(t *testing.T) {
			c, page := e.chooser(portalScop, carerUsr)
			for _, forged := range []string{"pt-1", "pt-kid", "", "RelatedPerson/rp-dad", "<script>"} {
				got := readForm(t, e.post(c, "/login/patient", url.Values{"id": {page.id}, "csrf": {page.csrf}, "patient": {forged}}))
				if got.status != 400 || strings.Contains(got.body, "<script>") {
					t.Errorf("choice %q: got %d %.300s", forged, got.status, got.body)
				}
			}
			if got := readForm(t, e.post(c, "/login/patient", url.Values{"id": {page.id}, "patient": {"pt-dad"}})); got.status != 403 {
				t.Errorf("no csrf: %d", got.status)
			}
			other := e.browser() // the right form from a browser without the cookie
			if got := readForm(t, e.post(other, "/login/patient", url.Values{"id": {page.id}, "csrf": {page.csrf}, "patient": {"pt-dad"}})); got.status != 403 {
				t.Errorf("no cookie: %d", got.status)
			}
			// The sign-in still completes with a listed choice.
			code := codeFrom(t, e.post(c, "/login/patient", url.Values{"id": {page.id}, "csrf": {page.csrf}, "patient": {"pt-nb"}}))
			if tr := e.exchange(code, verifier); tr.Patient != "pt-nb" || jwtPayload(t, tr.AccessToken)["fhirUser"] != "RelatedPerson/rp-nb" {
				t.Fatalf("after refusals: %+v", tr)
			}
		})
		t.Run("no own record", func(t *testing.T) {
			c, page := e.chooser(portalScop, parentUsr)
			if page.status != 200 || !strings.Contains(page.body, "Kim (your daughter)") || strings.Contains(page.body, "Your own record") {
				t.Fatalf("parent's chooser: %d %.600s", page.status, page.body)
			}
			if got := readForm(t, e.post(c, "/login/patient", url.Values{"id": {page.id}, "csrf": {page.csrf}, "patient": {""}})); got.status != 400 {
				t.Errorf("empty choice: %d", got.status)
			}
			code := codeFrom(t, e.post(c, "/login/patient", url.Values{"id": {page.id}, "csrf": {page.csrf}, "patient": {"pt-kid"}}))
			if m := jwtPayload(t, e.exchange(code, verifier).AccessToken); m["patient"] != "pt-kid" || m["fhirUser"] != "RelatedPerson/rp-kid" {
				t.Fatalf("parent: %v", m)
			}
		})
		t.Run("no chooser without patient context", func(t *testing.T) {
			tr := e.exchange(e.signIn(authorizeQuery(publicApp, "openid fhirUser patient/*.rs"), carerUsr), verifier)
			if m := jwtPayload(t, tr.AccessToken); m["fhirUser"] != "Patient/pt-c" || m["patient"] != nil {
				t.Fatalf("without launch/patient: %v", m)
			}
		})
		t.Run("no chooser for others", func(t *testing.T) {
			tr := e.exchange(e.signIn(authorizeQuery(publicApp, portalScop), patientUsr), verifier)
			if m := jwtPayload(t, tr.AccessToken); tr.Patient != "pt-1" || m["fhirUser"] != "Patient/pt-1" {
				t.Fatalf("patient without ActsFor: %+v %v", tr, m)
			}
			c, pick := e.chooser("openid fhirUser launch/patient patient/*.rs", gpUser)
			if pick.status != 200 || strings.Contains(pick.body, "Whose record?") || !strings.Contains(pick.body, `<label for="patient">`) {
				t.Fatalf("professional: want the patient page, got %d %.300s", pick.status, pick.body)
			}
			code := codeFrom(t, e.post(c, "/login/patient", url.Values{"id": {pick.id}, "csrf": {pick.csrf}, "patient": {"pt-dad"}}))
			tr = e.exchange(code, verifier)
			if m := jwtPayload(t, tr.AccessToken); tr.Patient != "pt-dad" || m["fhirUser"] != "Practitioner/p1" {
				t.Fatalf("professional: %+v %v", tr, m)
			}
		})
		t.Run("users list", func(t *testing.T) {
			us, err := e.p.Store().Users(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			for _, u := range us {
				if u.Username == carerUsr && (len(u.ActsFor) != 2 || u.ActsFor[0].Label != dadLabel || u.ActsFor[1].Patient != "pt-nb") {
					t.Errorf("carer's ActsFor: %+v", u.ActsFor)
				}
				if u.Username == gpUser && u.ActsFor != nil {
					t.Errorf("gp acts for %+v", u.ActsFor)
				}
			}
		})
	})
}

func TestIDPActsForValidation(t *testing.T) {
	st, err := OpenStore(context.Background(), SQLitePath(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ok := ActsFor{RelatedPerson: "RelatedPerson/rp-1", Patient: "pt-2", Label: "Roy"}
	tests := []struct {
		name string
		u    User
		want string
	}{
		{"professional", User{Username: "a", Name: "A", Role: access.RoleGP, Org: "A81001", ActsFor: []ActsFor{ok}}, "only patient users"},
		{"not a RelatedPerson", User{Username: "b", Name: "B", Role: access.RolePatient, Patient: "pt-1", ActsFor: []ActsFor{{RelatedPerson: "Patient/pt-2", Patient: "pt-2", Label: "x"}}}, "RelatedPerson/<id>"},
		{"bad patient", User{Username: "c", Name: "C", Role: access.RolePatient, Patient: "pt-1", ActsFor: []ActsFor{{RelatedPerson: "RelatedPerson/r", Patient: "a b", Label: "x"}}}, "not a Patient id"},
		{"long label", User{Username: "d", Name: "D", Role: access.RolePatient, Patient: "pt-1", ActsFor: []ActsFor{{RelatedPerson: "RelatedPerson/r", Patient: "pt-2", Label: strings.Repeat("x", 201)}}}, "label"},
		{"own patient again", User{Username: "e", Name: "E", Role: access.RolePatient, Patient: "pt-2", ActsFor: []ActsFor{ok}}, "listed twice"},
		{"no record and nobody", User{Username: "f", Name: "F", Role: access.RolePatient}, "needs the id of their Patient"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.u.Password = password
			if _, err := st.AddUser(context.Background(), tt.u); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
		})
	}
	if _, err := st.AddUser(context.Background(), User{Username: "g", Password: password, Name: "G", Role: access.RolePatient, Patient: "pt-1",
		ActsFor: []ActsFor{{RelatedPerson: "RelatedPerson/r", Patient: "pt-2", Label: strings.Repeat("é", 200)}}}); err != nil {
		t.Errorf("200-character label: %v", err)
	}
	if err := st.SetActsFor(context.Background(), "nobody", []ActsFor{ok}); err == nil {
		t.Error("SetActsFor for an unknown user")
	}
	if err := st.SetActsFor(context.Background(), "g", nil); err != nil {
		t.Errorf("clearing: %v", err)
	}
}

func base64RawURL(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }
