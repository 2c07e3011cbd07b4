package idp

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"github.com/google/go-cmp/cmp"

	"github.com/sharedcare/sharedcare/internal/access"
	"github.com/sharedcare/sharedcare/internal/store/postgres"
)

const (
	fhirBase   = "http://fhir.test/fhir"
	appRedir   = "http://app.test/callback"
	password   = "correct horse battery"
	publicApp  = "smart-app"
	systemApp  = "lab-feed"
	confApp    = "web-app"
	verifier   = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-long-enough"
	gpUser     = "drgp"
	patientUsr = "pat1"
)

type env struct {
	t      *testing.T
	p      *Provider
	srv    *httptest.Server
	secret string // the confidential clients' secret
}

// backends runs f on SQLite and, when reachable, PostgreSQL.
func backends(t *testing.T, f func(t *testing.T, e *env)) {
	for _, b := range []string{"sqlite", "postgres"} {
		t.Run(b, func(t *testing.T) {
			store := SQLitePath(t.TempDir())
			if b == "postgres" {
				store = postgres.TestURL(t)
			}
			f(t, newEnv(t, store))
		})
	}
}

func newEnv(t *testing.T, store string) *env {
	t.Helper()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	p, err := New(context.Background(), Config{Issuer: srv.URL + "/auth", Audience: fhirBase, Store: store, KeyDir: t.TempDir(), Demo: true, DemoPassword: password})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	mux.Handle("/auth/", p.Handler())
	e := &env{t: t, p: p, srv: srv, secret: "s3cret-s3cret-s3cret"}
	err = p.SeedDemo(context.Background(), []User{
		{Username: gpUser, Password: password, Name: "Dr Ada Jones", Role: access.RoleGP, Org: "A81001", FHIRUser: "Practitioner/p1"},
		{Username: patientUsr, Password: password, Name: "Sam Smith", Role: access.RolePatient, Patient: "pt-1"},
		{Username: "gone", Password: password, Name: "Gone Away", Role: access.RoleNurse, Org: "A81001", FHIRUser: "Practitioner/p2"},
	}, []Client{
		{ID: publicApp, Name: "SMART app", Public: true, RedirectURIs: []string{appRedir},
			Scopes: []string{"openid", "fhirUser", "launch", "launch/patient", "offline_access", "patient/*.rs", "user/*.rs"}},
		{ID: confApp, Secret: e.secret, Name: "Web app", RedirectURIs: []string{appRedir}, GrantTypes: []string{GrantCode},
			Scopes: []string{"openid", "fhirUser", "user/*.cruds"}},
		{ID: systemApp, Secret: e.secret, Name: "Lab feed", Org: "RXX", GrantTypes: []string{GrantClientCredentials},
			Scopes: []string{"system/Observation.cruds", "system/Patient.rs"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Store().DisableUser(context.Background(), "gone"); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) url(path string) string { return e.srv.URL + "/auth" + path }

// browser is a user agent with cookies that stops at the app's redirect.
func (e *env) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if req.URL.Host != strings.TrimPrefix(e.srv.URL, "http://") {
			return http.ErrUseLastResponse
		}
		return nil
	}}
}

func challenge(v string) string {
	h := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

// authorizeQuery is a PKCE authorize request for the public app.
func authorizeQuery(client, scope string) url.Values {
	return url.Values{"response_type": {"code"}, "client_id": {client}, "redirect_uri": {appRedir}, "scope": {scope},
		"state": {"st8"}, "nonce": {"n0nce"}, "code_challenge": {challenge(verifier)}, "code_challenge_method": {"S256"}, "aud": {fhirBase}}
}

var (
	idRE   = regexp.MustCompile(`name="id" value="([^"]*)"`)
	csrfRE = regexp.MustCompile(`name="csrf" value="([^"]*)"`)
)

type form struct {
	action, id, csrf, body string
	status                 int
}

func readForm(t *testing.T, resp *http.Response) form {
	t.Helper()
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	f := form{body: string(b), status: resp.StatusCode, action: resp.Request.URL.Path}
	if m := idRE.FindStringSubmatch(f.body); m != nil {
		f.id = m[1]
	}
	if m := csrfRE.FindStringSubmatch(f.body); m != nil {
		f.csrf = m[1]
	}
	return f
}

// startSignIn follows authorize to the sign-in form.
func (e *env) startSignIn(c *http.Client, q url.Values) form {
	e.t.Helper()
	resp, err := c.Get(e.url("/authorize?" + q.Encode()))
	if err != nil {
		e.t.Fatal(err)
	}
	f := readForm(e.t, resp)
	if f.status != 200 || f.csrf == "" {
		e.t.Fatalf("authorize: want the sign-in form, got %d at %s: %.300s", f.status, resp.Request.URL, f.body)
	}
	return f
}

func (e *env) post(c *http.Client, path string, v url.Values) *http.Response {
	e.t.Helper()
	resp, err := c.PostForm(e.url(path), v)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp
}

// codeFrom returns the code of a redirect to the app, checking state.
func codeFrom(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode/100 != 3 || !strings.HasPrefix(loc.String(), appRedir) {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("want a redirect to the app, got %d %s: %.300s", resp.StatusCode, loc, b)
	}
	if loc.Query().Get("state") != "st8" || loc.Query().Get("code") == "" {
		t.Fatalf("redirect %s: want code and state", loc)
	}
	return loc.Query().Get("code")
}

// signIn runs authorize and sign-in and returns the code.
func (e *env) signIn(q url.Values, username string) string {
	e.t.Helper()
	c := e.browser()
	f := e.startSignIn(c, q)
	resp := e.post(c, "/login", url.Values{"id": {f.id}, "csrf": {f.csrf}, "username": {username}, "password": {password}})
	return codeFrom(e.t, resp)
}

type tokenResp struct {
	AccessToken  string `json:"access_token"`
	IDToken      string `json:"id_token"`
	RefreshToken string `json:"refresh_token"`
	Scope        string `json:"scope"`
	Patient      string `json:"patient"`
	Error        string `json:"error"`
	status       int
}

func (e *env) token(v url.Values, basicID, basicSecret string) tokenResp {
	e.t.Helper()
	req, _ := http.NewRequest("POST", e.url("/oauth/token"), strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basicID != "" {
		req.SetBasicAuth(basicID, basicSecret)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var tr tokenResp
	json.NewDecoder(resp.Body).Decode(&tr)
	tr.status = resp.StatusCode
	return tr
}

func (e *env) exchange(code, v string) tokenResp {
	return e.token(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {appRedir}, "client_id": {publicApp}, "code_verifier": {v}}, "", "")
}

// claims verifies a token with the provider's KeySet, as the FHIR server
// does, and returns its claims.
func (e *env) claims(raw string) map[string]any {
	e.t.Helper()
	v := gooidc.NewVerifier(e.p.Issuer(), e.p.KeySet(), &gooidc.Config{ClientID: fhirBase, SupportedSigningAlgs: []string{"ES256"}})
	tok, err := v.Verify(context.Background(), raw)
	if err != nil {
		e.t.Fatalf("verify: %v", err)
	}
	var m map[string]any
	tok.Claims(&m)
	return m
}

// contract is every claim an access token may carry (docs/IDP.md); nbf is
// zitadel's and harmless.
var contract = []string{"iss", "sub", "aud", "exp", "iat", "nbf", "jti", "client_id", "scope", "name", "fhirUser", "sharedcare_role", "sharedcare_org", "patient"}

func checkContract(t *testing.T, m map[string]any, want map[string]any) {
	t.Helper()
	for k := range m {
		if !slices.Contains(contract, k) {
			t.Errorf("claim %q is not in the contract", k)
		}
	}
	for _, k := range []string{"iss", "sub", "aud", "exp", "iat", "jti", "client_id", "scope", "sharedcare_role"} {
		if _, ok := m[k]; !ok {
			t.Errorf("claim %q missing", k)
		}
	}
	for k, v := range want {
		if diff := cmp.Diff(v, m[k]); diff != "" {
			t.Errorf("claim %s (-want +got):\n%s", k, diff)
		}
	}
}

func TestIDPAuthorizationCodePKCE(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		code := e.signIn(authorizeQuery(publicApp, "openid fhirUser user/*.rs patient/Observation.rs"), gpUser)
		tr := e.exchange(code, verifier)
		if tr.status != 200 || tr.AccessToken == "" || tr.IDToken == "" {
			t.Fatalf("exchange: %+v", tr)
		}
		m := e.claims(tr.AccessToken)
		u, _ := e.p.Store().authenticate(context.Background(), gpUser, password)
		checkContract(t, m, map[string]any{
			"iss": e.p.Issuer(), "sub": u.ID, "aud": []any{fhirBase, publicApp}, "client_id": publicApp,
			"scope": "openid fhirUser user/*.rs patient/Observation.rs", "name": "Dr Ada Jones", "fhirUser": "Practitioner/p1",
			"sharedcare_role": "gp", "sharedcare_org": "A81001", "patient": nil,
		})
		if tr.RefreshToken != "" {
			t.Error("refresh token without offline_access")
		}
		idv := gooidc.NewVerifier(e.p.Issuer(), e.p.KeySet(), &gooidc.Config{ClientID: publicApp, SupportedSigningAlgs: []string{"ES256"}})
		idt, err := idv.Verify(context.Background(), tr.IDToken)
		if err != nil {
			t.Fatal(err)
		}
		var idc map[string]any
		idt.Claims(&idc)
		if idc["fhirUser"] != "Practitioner/p1" || idc["nonce"] != "n0nce" || idc["sub"] != u.ID {
			t.Errorf("id token claims: %v", idc)
		}

		// The same code again is refused, even with the right verifier.
		if again := e.exchange(code, verifier); again.status != 400 || again.Error != "invalid_grant" {
			t.Errorf("code reused: %+v", again)
		}
	})
}

func TestIDPCodeExchangeRefusals(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		tests := []struct {
			name     string
			v        string
			redirect string
			want     string
		}{
			{"wrong verifier", "not-the-verifier-not-the-verifier-not-the-verifier", appRedir, "invalid_grant"},
			{"no verifier", "", appRedir, "invalid_request"},
			{"other redirect", verifier, "http://app.test/other", "invalid_grant"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				code := e.signIn(authorizeQuery(publicApp, "openid user/*.rs"), gpUser)
				tr := e.token(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {tt.redirect}, "client_id": {publicApp}, "code_verifier": {tt.v}}, "", "")
				if tr.status != 400 || tr.Error != tt.want || tr.AccessToken != "" {
					t.Fatalf("got %+v, want %s", tr, tt.want)
				}
				// A refused exchange used the code up.
				if tr := e.exchange(code, verifier); tr.AccessToken != "" {
					t.Fatal("code usable after a refused exchange")
				}
			})
		}
	})
}

func TestIDPAuthorizeRefusals(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		noPKCE := authorizeQuery(publicApp, "openid user/*.rs")
		noPKCE.Del("code_challenge")
		noPKCE.Del("code_challenge_method")
		plain := authorizeQuery(publicApp, "openid user/*.rs")
		plain.Set("code_challenge_method", "plain")
		plain.Set("code_challenge", verifier)
		otherAud := authorizeQuery(publicApp, "openid user/*.rs")
		otherAud.Set("aud", "http://elsewhere/fhir")
		tests := []struct {
			name string
			q    url.Values
			want string
		}{
			{"public client without PKCE", noPKCE, "invalid_request"},
			{"plain PKCE", plain, "invalid_request"},
			{"nothing allowed", authorizeQuery(publicApp, "system/*.rs"), "invalid_scope"},
			{"malformed scope", authorizeQuery(publicApp, "openid patient/Observation.xyz"), "invalid_scope"},
			{"another FHIR server", otherAud, "invalid_request"},
			{"unknown launch", func() url.Values {
				q := authorizeQuery(publicApp, "openid launch patient/*.rs")
				q.Set("launch", "nope")
				return q
			}(), "invalid_request"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				resp, err := e.browser().Get(e.url("/authorize?" + tt.q.Encode()))
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				loc, _ := url.Parse(resp.Header.Get("Location"))
				if resp.StatusCode/100 != 3 || loc.Query().Get("error") != tt.want {
					t.Fatalf("got %d %s, want error=%s", resp.StatusCode, loc, tt.want)
				}
			})
		}
	})
}

func TestIDPSignInRefusals(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		tests := []struct {
			name       string
			mutate     func(v url.Values)
			dropCookie bool
			status     int
			text       string
		}{
			{"wrong password", func(v url.Values) { v.Set("password", "wrong password") }, false, 401, "username or password is not right"},
			{"unknown user", func(v url.Values) { v.Set("username", "nobody") }, false, 401, "username or password is not right"},
			{"disabled user", func(v url.Values) { v.Set("username", "gone") }, false, 401, "disabled"},
			{"csrf missing", func(v url.Values) { v.Del("csrf") }, false, 403, "not sent from the sign-in page"},
			{"csrf wrong", func(v url.Values) { v.Set("csrf", "forged") }, false, 403, "not sent from the sign-in page"},
			{"cookie missing", func(url.Values) {}, true, 403, "not sent from the sign-in page"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				c := e.browser()
				f := e.startSignIn(c, authorizeQuery(publicApp, "openid user/*.rs"))
				if !strings.Contains(f.body, "password is <strong>"+password) || !strings.Contains(f.body, "Dr Ada Jones") {
					t.Error("demo page does not list the demo accounts")
				}
				v := url.Values{"id": {f.id}, "csrf": {f.csrf}, "username": {gpUser}, "password": {password}}
				tt.mutate(v)
				if tt.dropCookie {
					c.Jar, _ = cookiejar.New(nil)
				}
				resp := e.post(c, "/login", v)
				got := readForm(t, resp)
				if got.status != tt.status || !strings.Contains(got.body, tt.text) {
					t.Fatalf("got %d %.400s, want %d %q", got.status, got.body, tt.status, tt.text)
				}
				if strings.Contains(got.body, "wrong password") {
					t.Error("the page echoes the password")
				}
			})
		}
	})
}

func TestIDPClientCredentials(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		tests := []struct {
			name, scope, secret string
			status              int
			want                string // granted scope, or the error
		}{
			{"allowed", "system/Observation.cruds", e.secret, 200, "system/Observation.cruds"},
			{"escalation not granted", "system/Patient.rs system/Condition.rs", e.secret, 200, "system/Patient.rs"},
			{"wider narrowed", "system/*.rs", e.secret, 200, "system/Observation.rs system/Patient.rs"},
			{"default is all allowed", "", e.secret, 200, "system/Observation.cruds system/Patient.rs"},
			{"none left", "system/Condition.rs", e.secret, 400, "invalid_scope"},
			{"user scope", "user/*.rs", e.secret, 400, "invalid_scope"},
			{"wrong secret", "system/Patient.rs", "wrong", 400, "invalid_client"}, // zitadel answers 400, not RFC 6749's 401
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				v := url.Values{"grant_type": {"client_credentials"}}
				if tt.scope != "" {
					v.Set("scope", tt.scope)
				}
				tr := e.token(v, systemApp, tt.secret)
				if tr.status != tt.status {
					t.Fatalf("status %d (%+v), want %d", tr.status, tr, tt.status)
				}
				if tt.status != 200 {
					if tr.Error != tt.want {
						t.Fatalf("error %q, want %q", tr.Error, tt.want)
					}
					return
				}
				checkContract(t, e.claims(tr.AccessToken), map[string]any{
					"sub": systemApp, "client_id": systemApp, "scope": tt.want, "sharedcare_role": "system",
					"sharedcare_org": "RXX", "name": "Lab feed", "aud": []any{fhirBase, systemApp},
				})
			})
		}
		// A client without the grant type cannot use it.
		if tr := e.token(url.Values{"grant_type": {"client_credentials"}}, confApp, e.secret); tr.status == 200 {
			t.Error("client credentials for a client not allowed them")
		}
	})
}

func TestIDPUserScopes(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		tests := []struct {
			name, user, client, scope, want string
		}{
			{"escalation narrowed", gpUser, publicApp, "openid user/*.cruds", "openid user/*.rs"},
			{"not allowed dropped", gpUser, publicApp, "openid user/*.rs system/*.rs profile", "openid user/*.rs"},
			{"patient loses user scopes", patientUsr, publicApp, "openid patient/*.rs user/*.rs", "openid patient/*.rs"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				tr := e.exchange(e.signIn(authorizeQuery(tt.client, tt.scope), tt.user), verifier)
				if got := e.claims(tr.AccessToken)["scope"]; got != tt.want {
					t.Fatalf("scope %q, want %q", got, tt.want)
				}
			})
		}
		// A confidential client: secret and PKCE together.
		code := e.signIn(authorizeQuery(confApp, "openid user/*.cruds"), gpUser)
		tr := e.token(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {appRedir}, "code_verifier": {verifier}}, confApp, e.secret)
		if tr.status != 200 || e.claims(tr.AccessToken)["scope"] != "openid user/*.cruds" {
			t.Fatalf("confidential client: %+v", tr)
		}
	})
}

func TestIDPRefreshRotation(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		tr := e.exchange(e.signIn(authorizeQuery(publicApp, "openid offline_access launch/patient patient/*.rs"), patientUsr), verifier)
		if tr.RefreshToken == "" || tr.Patient != "pt-1" {
			t.Fatalf("first tokens: %+v", tr)
		}
		refresh := func(rt string) tokenResp {
			return e.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {publicApp}}, "", "")
		}
		tr2 := refresh(tr.RefreshToken)
		if tr2.status != 200 || tr2.RefreshToken == "" || tr2.RefreshToken == tr.RefreshToken {
			t.Fatalf("refresh: %+v", tr2)
		}
		if tr2.Patient != "pt-1" || e.claims(tr2.AccessToken)["patient"] != "pt-1" {
			t.Errorf("refreshed token lost the patient context: %+v", tr2)
		}
		if old := refresh(tr.RefreshToken); old.status != 400 || old.AccessToken != "" {
			t.Errorf("old refresh token accepted: %+v", old)
		}
		if tr3 := refresh(tr2.RefreshToken); tr3.status != 200 {
			t.Errorf("new refresh token refused: %+v", tr3)
		}
	})
}

func TestIDPLaunch(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		t.Run("EHR launch", func(t *testing.T) {
			launch, err := e.p.NewLaunch(context.Background(), "pt-42", time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			q := authorizeQuery(publicApp, "openid fhirUser launch patient/*.rs")
			q.Set("launch", launch)
			tr := e.exchange(e.signIn(q, gpUser), verifier)
			if tr.Patient != "pt-42" || e.claims(tr.AccessToken)["patient"] != "pt-42" {
				t.Fatalf("EHR launch: %+v", tr)
			}
			// Single use.
			resp, _ := e.browser().Get(e.url("/authorize?" + q.Encode()))
			resp.Body.Close()
			if loc, _ := url.Parse(resp.Header.Get("Location")); loc.Query().Get("error") != "invalid_request" {
				t.Errorf("launch reused: %s", loc)
			}
		})
		t.Run("EHR launch over HTTP", func(t *testing.T) {
			cc := e.token(url.Values{"grant_type": {"client_credentials"}, "scope": {"system/Patient.rs"}}, systemApp, e.secret)
			req, _ := http.NewRequest("POST", e.url("/launch"), strings.NewReader("patient=pt-7"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Authorization", "Bearer "+cc.AccessToken)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var out struct{ Launch string }
			json.NewDecoder(resp.Body).Decode(&out)
			resp.Body.Close()
			if resp.StatusCode != 200 || out.Launch == "" {
				t.Fatalf("POST /launch: %d %+v", resp.StatusCode, out)
			}
			q := authorizeQuery(publicApp, "openid launch patient/*.rs")
			q.Set("launch", out.Launch)
			if tr := e.exchange(e.signIn(q, gpUser), verifier); tr.Patient != "pt-7" {
				t.Fatalf("launch over HTTP: %+v", tr)
			}
			// Without a token, or with a user's token, no launch.
			req, _ = http.NewRequest("POST", e.url("/launch"), strings.NewReader("patient=pt-7"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, _ = http.DefaultClient.Do(req)
			resp.Body.Close()
			if resp.StatusCode != 401 {
				t.Errorf("no token: %d", resp.StatusCode)
			}
			user := e.exchange(e.signIn(authorizeQuery(publicApp, "openid user/*.rs"), gpUser), verifier)
			req, _ = http.NewRequest("POST", e.url("/launch"), strings.NewReader("patient=pt-7"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Authorization", "Bearer "+user.AccessToken)
			resp, _ = http.DefaultClient.Do(req)
			resp.Body.Close()
			if resp.StatusCode != 403 {
				t.Errorf("user token: %d", resp.StatusCode)
			}
		})
		t.Run("standalone patient user", func(t *testing.T) {
			tr := e.exchange(e.signIn(authorizeQuery(publicApp, "openid fhirUser launch/patient patient/*.rs"), patientUsr), verifier)
			m := e.claims(tr.AccessToken)
			if tr.Patient != "pt-1" || m["patient"] != "pt-1" || m["fhirUser"] != "Patient/pt-1" || m["sharedcare_role"] != "patient" {
				t.Fatalf("standalone patient: %+v %v", tr, m)
			}
		})
		t.Run("standalone professional picks a patient", func(t *testing.T) {
			c := e.browser()
			f := e.startSignIn(c, authorizeQuery(publicApp, "openid launch/patient patient/*.rs"))
			resp := e.post(c, "/login", url.Values{"id": {f.id}, "csrf": {f.csrf}, "username": {gpUser}, "password": {password}})
			pick := readForm(t, resp)
			if pick.status != 200 || !strings.Contains(pick.body, `<label for="patient">`) {
				t.Fatalf("want the patient page, got %d %.300s", pick.status, pick.body)
			}
			bad := readForm(t, e.post(c, "/login/patient", url.Values{"id": {pick.id}, "csrf": {pick.csrf}, "patient": {"<script>"}}))
			if bad.status != 400 || strings.Contains(bad.body, "<script>") {
				t.Fatalf("bad patient id: %d %.300s", bad.status, bad.body)
			}
			code := codeFrom(t, e.post(c, "/login/patient", url.Values{"id": {pick.id}, "csrf": {pick.csrf}, "patient": {"pt-9"}}))
			if tr := e.exchange(code, verifier); tr.Patient != "pt-9" {
				t.Fatalf("picked patient: %+v", tr)
			}
		})
	})
}

func TestIDPDiscoveryAndSmartConfiguration(t *testing.T) {
	e := newEnv(t, SQLitePath(t.TempDir()))
	resp, err := http.Get(e.url("/.well-known/openid-configuration"))
	if err != nil {
		t.Fatal(err)
	}
	var disc map[string]any
	json.NewDecoder(resp.Body).Decode(&disc)
	resp.Body.Close()
	for k, want := range map[string]string{"issuer": e.p.Issuer(), "authorization_endpoint": e.url("/authorize"), "token_endpoint": e.url("/oauth/token"),
		"jwks_uri": e.url("/keys"), "userinfo_endpoint": e.url("/userinfo"), "end_session_endpoint": e.url("/end_session"), "revocation_endpoint": e.url("/revoke")} {
		if disc[k] != want {
			t.Errorf("discovery %s = %v, want %s", k, disc[k], want)
		}
	}
	var smart map[string]any
	if err := json.Unmarshal(e.p.SmartConfiguration(fhirBase), &smart); err != nil {
		t.Fatal(err)
	}
	if smart["token_endpoint"] != disc["token_endpoint"] || smart["jwks_uri"] != disc["jwks_uri"] {
		t.Errorf("smart-configuration disagrees with discovery: %v", smart)
	}
	caps := smart["capabilities"].([]any)
	var got []string
	for _, c := range caps {
		got = append(got, c.(string))
	}
	sort.Strings(got)
	want := []string{"client-confidential-symmetric", "client-public", "context-ehr-patient", "context-standalone-patient", "launch-ehr", "launch-standalone",
		"permission-offline", "permission-patient", "permission-user", "permission-v1", "permission-v2", "sso-openid-connect"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("capabilities (-want +got):\n%s", diff)
	}
}

// TestIDPKeyKeptAcrossRestarts checks the key file: made once, mode 0600,
// the same key after a restart.
func TestIDPKeyKeptAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	k1, err := loadOrCreateKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := loadOrCreateKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	if k1.id != k2.id {
		t.Error("a restart made a new key")
	}
	fi, err := statKey(dir)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, %v", fi.Mode().Perm(), err)
	}
}
