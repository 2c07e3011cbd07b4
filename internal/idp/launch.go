package idp

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"

	"github.com/sharedcare/sharedcare/internal/access"
)

// launchTTL is how long a launch made over HTTP waits for its app.
const launchTTL = 5 * time.Minute

// launchHandler is POST /auth/launch for a local EPR opening a SMART app
// on a patient: form field patient=<Patient id>, answered with
// {"launch": "<id>", "expires_in": 300}. The caller authenticates with a
// bearer access token from this provider, issued by client credentials
// and granting read of Patient in the system context (system/Patient.r,
// system/*.rs, …): the EPR could read that patient anyway, so naming it
// in a launch gives it nothing more.
func (p *Provider) launchHandler(w http.ResponseWriter, r *http.Request) {
	fail := func(status int, code, desc string) {
		if status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Bearer error="`+code+`"`)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
	}
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		fail(http.StatusUnauthorized, "invalid_token", "a bearer token is required")
		return
	}
	v := gooidc.NewVerifier(p.cfg.Issuer, p.KeySet(), &gooidc.Config{SkipClientIDCheck: true, SupportedSigningAlgs: []string{"ES256"}})
	tok, err := v.Verify(r.Context(), raw)
	if err != nil {
		fail(http.StatusUnauthorized, "invalid_token", "the token is not valid")
		return
	}
	var claims struct {
		Role  string `json:"sharedcare_role"`
		Scope string `json:"scope"`
		JTI   string `json:"jti"`
	}
	if err := tok.Claims(&claims); err != nil {
		fail(http.StatusUnauthorized, "invalid_token", "the token is not valid")
		return
	}
	var revoked int
	if err := p.store.db.queryRow(r.Context(), "SELECT revoked FROM idp_access_token WHERE id = ?", claims.JTI).Scan(&revoked); err != nil || revoked != 0 {
		fail(http.StatusUnauthorized, "invalid_token", "the token has been revoked")
		return
	}
	scopes, err := access.ParseScopes(claims.Scope)
	if err != nil || claims.Role != string(access.RoleSystem) || scopes.Grants(access.CtxSystem, "Patient")&access.Read == 0 {
		fail(http.StatusForbidden, "insufficient_scope", "a system client token that reads Patient is required")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	patient := strings.TrimSpace(r.PostFormValue("patient"))
	if !ValidPatientID(patient) {
		fail(http.StatusBadRequest, "invalid_request", "patient must be a Patient id")
		return
	}
	id, err := p.NewLaunch(r.Context(), patient, launchTTL)
	if err != nil {
		p.cfg.Log.Error("idp: launch", "err", err)
		fail(http.StatusInternalServerError, "server_error", "the launch could not be made")
		return
	}
	p.cfg.Log.Info("idp: EHR launch made", "patient", patient, "by", tok.Subject)
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"launch": id, "expires_in": int(launchTTL / time.Second)})
}
