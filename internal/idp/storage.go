package idp

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/sharedcare/sharedcare/internal/access"
)

// Lifetimes of the short-lived grants.
const (
	authRequestTTL = 10 * time.Minute // from authorize to signed in
	codeTTL        = time.Minute      // from redirect to code exchange
)

// authRequest is one authorization in progress (op.AuthRequest).
type authRequest struct {
	id, clientID, redirectURI, state, nonce string
	scopes                                  []string
	responseType, responseMode              string
	challenge, challengeMethod              string
	launchPatient                           string // from an EHR launch
	csrf                                    string
	userID, patient                         string
	fhirUser                                string // the RelatedPerson acting, when not the user's own
	authTime                                time.Time
	done                                    bool
	audience                                string
}

func (a *authRequest) GetID() string          { return a.id }
func (a *authRequest) GetACR() string         { return "" }
func (a *authRequest) GetAMR() []string       { return []string{"pwd"} }
func (a *authRequest) GetAudience() []string  { return audience(a.audience, a.clientID) }
func (a *authRequest) GetAuthTime() time.Time { return a.authTime }
func (a *authRequest) GetClientID() string    { return a.clientID }
func (a *authRequest) GetNonce() string       { return a.nonce }
func (a *authRequest) GetRedirectURI() string { return a.redirectURI }
func (a *authRequest) GetScopes() []string    { return a.scopes }
func (a *authRequest) GetState() string       { return a.state }
func (a *authRequest) GetSubject() string     { return a.userID }
func (a *authRequest) Done() bool             { return a.done }
func (a *authRequest) GetResponseType() oidc.ResponseType {
	return oidc.ResponseType(a.responseType)
}
func (a *authRequest) GetResponseMode() oidc.ResponseMode {
	return oidc.ResponseMode(a.responseMode)
}
func (a *authRequest) GetCodeChallenge() *oidc.CodeChallenge {
	if a.challenge == "" {
		return nil
	}
	return &oidc.CodeChallenge{Challenge: a.challenge, Method: oidc.CodeChallengeMethod(a.challengeMethod)}
}

// audience is a token's aud: the FHIR server it is for, and the client.
func audience(fhir, clientID string) []string {
	if fhir == "" || fhir == clientID {
		return []string{clientID}
	}
	return []string{fhir, clientID}
}

// refreshRequest is the grant a refresh token carries (op.RefreshTokenRequest).
type refreshRequest struct {
	id, clientID, userID, patient string
	fhirUser                      string // as authRequest's
	scopes                        []string
	authTime                      time.Time
	audience                      string
}

func (r *refreshRequest) GetAMR() []string                 { return []string{"pwd"} }
func (r *refreshRequest) GetAudience() []string            { return audience(r.audience, r.clientID) }
func (r *refreshRequest) GetAuthTime() time.Time           { return r.authTime }
func (r *refreshRequest) GetClientID() string              { return r.clientID }
func (r *refreshRequest) GetScopes() []string              { return r.scopes }
func (r *refreshRequest) GetSubject() string               { return r.userID }
func (r *refreshRequest) SetCurrentScopes(scopes []string) { r.scopes = scopes }

// systemRequest is a client credentials grant: the client is the subject.
type systemRequest struct {
	client   Client
	scopes   []string
	audience string
}

func (r *systemRequest) GetSubject() string    { return r.client.ID }
func (r *systemRequest) GetAudience() []string { return audience(r.audience, r.client.ID) }
func (r *systemRequest) GetScopes() []string   { return r.scopes }

// storage adapts Store to zitadel's op.Storage and op.ClientCredentialsStorage.
type storage struct {
	*Store
	cfg *Config
	key *signingKey
}

var (
	_ op.Storage                        = (*storage)(nil)
	_ op.ClientCredentialsStorage       = (*storage)(nil)
	_ op.CanGetPrivateClaimsFromRequest = (*storage)(nil)
	_ op.CanSetUserinfoFromRequest      = (*storage)(nil)
)

func (s *storage) CreateAuthRequest(ctx context.Context, req *oidc.AuthRequest, _ string) (op.AuthRequest, error) {
	return s.createAuthRequest(ctx, req, "")
}

func (s *storage) createAuthRequest(ctx context.Context, req *oidc.AuthRequest, launchPatient string) (*authRequest, error) {
	a := &authRequest{
		id: randomToken(18), clientID: req.ClientID, redirectURI: req.RedirectURI, state: req.State, nonce: req.Nonce,
		scopes: req.Scopes, responseType: string(req.ResponseType), responseMode: string(req.ResponseMode),
		challenge: req.CodeChallenge, challengeMethod: string(req.CodeChallengeMethod),
		launchPatient: launchPatient, csrf: randomToken(24),
	}
	_, err := s.db.exec(ctx, `INSERT INTO idp_auth_request (id, client_id, redirect_uri, state, nonce, scopes, response_type, response_mode,
		challenge, challenge_meth, launch_patient, csrf, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.id, a.clientID, a.redirectURI, a.state, a.nonce, strings.Join(a.scopes, " "), a.responseType, a.responseMode,
		a.challenge, a.challengeMethod, a.launchPatient, a.csrf, unix(time.Now().Add(authRequestTTL)))
	if err != nil {
		return nil, err
	}
	// The auth requests of abandoned sign-ins are cleared by the next ones.
	s.db.exec(ctx, "DELETE FROM idp_auth_request WHERE expires_at < ?", unix(time.Now()))
	return a, nil
}

const authRequestCols = `id, client_id, redirect_uri, state, nonce, scopes, response_type, response_mode, challenge, challenge_meth,
	launch_patient, csrf, user_id, patient, fhir_user, auth_time, done`

func (s *storage) scanAuthRequest(row *sql.Row) (*authRequest, error) {
	a := &authRequest{audience: s.cfg.Audience}
	var scopes string
	var authTime int64
	var done int
	err := row.Scan(&a.id, &a.clientID, &a.redirectURI, &a.state, &a.nonce, &scopes, &a.responseType, &a.responseMode,
		&a.challenge, &a.challengeMethod, &a.launchPatient, &a.csrf, &a.userID, &a.patient, &a.fhirUser, &authTime, &done)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errAuthRequestGone
	}
	if err != nil {
		return nil, err
	}
	a.scopes, a.done = strings.Fields(scopes), done != 0
	if authTime != 0 {
		a.authTime = time.Unix(authTime, 0)
	}
	return a, nil
}

var errAuthRequestGone = errors.New("idp: the sign-in request is unknown or has expired: go back to the application and start again")

func (s *storage) AuthRequestByID(ctx context.Context, id string) (op.AuthRequest, error) {
	return s.authRequest(ctx, id)
}

func (s *storage) authRequest(ctx context.Context, id string) (*authRequest, error) {
	return s.scanAuthRequest(s.db.queryRow(ctx, "SELECT "+authRequestCols+" FROM idp_auth_request WHERE id = ? AND expires_at >= ?", id, unix(time.Now())))
}

func (s *storage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	return s.authRequestByCode(ctx, code)
}

func (s *storage) authRequestByCode(ctx context.Context, code string) (*authRequest, error) {
	return s.scanAuthRequest(s.db.queryRow(ctx, "SELECT "+authRequestCols+" FROM idp_auth_request WHERE code_hash = ? AND code_expires >= ?", hashToken(code), unix(time.Now())))
}

// SaveAuthCode records the one code of a signed-in request: a second
// redirect to the callback gets none.
func (s *storage) SaveAuthCode(ctx context.Context, id, code string) error {
	n, err := s.db.exec(ctx, "UPDATE idp_auth_request SET code_hash = ?, code_expires = ? WHERE id = ? AND done = 1 AND code_hash IS NULL AND code_expires = 0",
		hashToken(code), unix(time.Now().Add(codeTTL)), id)
	if err == nil && n != 1 {
		err = errors.New("idp: this sign-in has already been used")
	}
	return err
}

// consumeCode takes the code off its request, so that of two exchanges
// of one code only one gets tokens.
func (s *storage) consumeCode(ctx context.Context, id, code string) bool {
	n, err := s.db.exec(ctx, "UPDATE idp_auth_request SET code_hash = NULL WHERE id = ? AND code_hash = ?", id, hashToken(code))
	return err == nil && n == 1
}

// completeSignIn records who signed in, the scopes that suit them and the
// patient in context; done says whether the code may now be issued.
func (s *storage) completeSignIn(ctx context.Context, a *authRequest, u User, scopes []string, patient string, done bool) error {
	n, err := s.db.exec(ctx, "UPDATE idp_auth_request SET user_id = ?, scopes = ?, patient = ?, auth_time = ?, done = ? WHERE id = ? AND done = 0",
		u.ID, strings.Join(scopes, " "), patient, unix(time.Now()), b2i(done), a.id)
	if err == nil && n != 1 {
		err = errAuthRequestGone
	}
	return err
}

// choosePatient puts a professional's chosen Patient in context, or the
// person a patient user chose to act for (fhirUser their RelatedPerson,
// "" for their own record).
func (s *storage) choosePatient(ctx context.Context, a *authRequest, patient, fhirUser string) error {
	n, err := s.db.exec(ctx, "UPDATE idp_auth_request SET patient = ?, fhir_user = ?, done = 1 WHERE id = ? AND done = 0 AND user_id <> ''", patient, fhirUser, a.id)
	if err == nil && n != 1 {
		err = errAuthRequestGone
	}
	return err
}

func (s *storage) DeleteAuthRequest(ctx context.Context, id string) error {
	_, err := s.db.exec(ctx, "DELETE FROM idp_auth_request WHERE id = ?", id)
	return err
}

func clientOf(req op.TokenRequest) string {
	switch r := req.(type) {
	case *authRequest:
		return r.clientID
	case *refreshRequest:
		return r.clientID
	case *systemRequest:
		return r.client.ID
	}
	return ""
}

// fhirUserOf is the fhirUser a grant overrides the user's with: the
// RelatedPerson a user chose to act as, or "".
func fhirUserOf(req any) string {
	switch r := req.(type) {
	case *authRequest:
		return r.fhirUser
	case *refreshRequest:
		return r.fhirUser
	}
	return ""
}

func (s *storage) CreateAccessToken(ctx context.Context, req op.TokenRequest) (string, time.Time, error) {
	id := uuid.NewString()
	exp := time.Now().Add(s.cfg.AccessTTL)
	_, err := s.db.exec(ctx, "INSERT INTO idp_access_token (id, client_id, subject, fhir_user, expires_at) VALUES (?, ?, ?, ?, ?)",
		id, clientOf(req), req.GetSubject(), fhirUserOf(req), unix(exp))
	s.db.exec(ctx, "DELETE FROM idp_access_token WHERE expires_at < ?", unix(time.Now()))
	return id, exp, err
}

// CreateAccessAndRefreshTokens rotates: the refresh token presented is
// deleted (and must have been there to delete), a new one replaces it.
func (s *storage) CreateAccessAndRefreshTokens(ctx context.Context, req op.TokenRequest, current string) (string, string, time.Time, error) {
	var userID, patient string
	var authTime time.Time
	switch r := req.(type) {
	case *authRequest:
		userID, patient, authTime = r.userID, r.patient, r.authTime
	case *refreshRequest:
		userID, patient, authTime = r.userID, r.patient, r.authTime
	default:
		return "", "", time.Time{}, fmt.Errorf("idp: no refresh token for a %T", req)
	}
	clientID := clientOf(req)
	if current != "" {
		n, err := s.db.exec(ctx, "DELETE FROM idp_refresh_token WHERE token_hash = ? AND client_id = ? AND expires_at >= ?", hashToken(current), clientID, unix(time.Now()))
		if err != nil {
			return "", "", time.Time{}, err
		}
		if n != 1 {
			return "", "", time.Time{}, oidc.ErrInvalidGrant().WithDescription("refresh token already used or revoked")
		}
	}
	id, exp, err := s.CreateAccessToken(ctx, req)
	if err != nil {
		return "", "", time.Time{}, err
	}
	refresh := randomToken(32)
	_, err = s.db.exec(ctx, `INSERT INTO idp_refresh_token (token_hash, id, client_id, user_id, scopes, patient, fhir_user, auth_time, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		hashToken(refresh), uuid.NewString(), clientID, userID, strings.Join(req.GetScopes(), " "), patient, fhirUserOf(req), unix(authTime), unix(time.Now().Add(s.cfg.RefreshTTL)))
	if err != nil {
		return "", "", time.Time{}, err
	}
	s.db.exec(ctx, "DELETE FROM idp_refresh_token WHERE expires_at < ?", unix(time.Now()))
	return id, refresh, exp, nil
}

func (s *storage) TokenRequestByRefreshToken(ctx context.Context, token string) (op.RefreshTokenRequest, error) {
	r := &refreshRequest{audience: s.cfg.Audience}
	var scopes string
	var authTime int64
	err := s.db.queryRow(ctx, `SELECT t.id, t.client_id, t.user_id, t.patient, t.fhir_user, t.scopes, t.auth_time FROM idp_refresh_token t
		JOIN idp_user u ON u.id = t.user_id WHERE t.token_hash = ? AND t.expires_at >= ? AND u.disabled = 0`,
		hashToken(token), unix(time.Now())).Scan(&r.id, &r.clientID, &r.userID, &r.patient, &r.fhirUser, &scopes, &authTime)
	if err != nil {
		return nil, op.ErrInvalidRefreshToken
	}
	r.scopes, r.authTime = strings.Fields(scopes), time.Unix(authTime, 0)
	return r, nil
}

// TerminateSession has nothing to end: the provider keeps no browser
// session, and every authorization asks for credentials.
func (s *storage) TerminateSession(context.Context, string, string) error { return nil }

func (s *storage) RevokeToken(ctx context.Context, token, userID, clientID string) *oidc.Error {
	var err error
	if userID != "" { // an access token's id
		_, err = s.db.exec(ctx, "UPDATE idp_access_token SET revoked = 1 WHERE id = ? AND client_id = ?", token, clientID)
	} else {
		_, err = s.db.exec(ctx, "DELETE FROM idp_refresh_token WHERE token_hash = ? AND client_id = ?", hashToken(token), clientID)
	}
	if err != nil {
		return oidc.ErrServerError().WithParent(err)
	}
	return nil
}

func (s *storage) GetRefreshTokenInfo(ctx context.Context, clientID, token string) (string, string, error) {
	var userID, id string
	err := s.db.queryRow(ctx, "SELECT user_id, id FROM idp_refresh_token WHERE token_hash = ? AND client_id = ?", hashToken(token), clientID).Scan(&userID, &id)
	if err != nil {
		return "", "", op.ErrInvalidRefreshToken
	}
	return userID, id, nil
}

func (s *storage) SigningKey(context.Context) (op.SigningKey, error) { return s.key, nil }
func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.ES256}, nil
}
func (s *storage) KeySet(context.Context) ([]op.Key, error) { return []op.Key{publicKey{s.key}}, nil }

func (s *storage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, err := s.Client(ctx, id)
	if err != nil {
		return nil, err
	}
	return &opClient{Client: c, cfg: s.cfg}, nil
}

func (s *storage) AuthorizeClientIDSecret(ctx context.Context, id, secret string) error {
	_, err := s.checkClientSecret(ctx, id, secret)
	if err != nil {
		return oidc.ErrInvalidClient().WithDescription("client authentication failed")
	}
	return nil
}

func (s *storage) ClientCredentials(ctx context.Context, id, secret string) (op.Client, error) {
	c, err := s.checkClientSecret(ctx, id, secret)
	if err != nil {
		return nil, oidc.ErrInvalidClient().WithDescription("client authentication failed")
	}
	if !slices.Contains(c.GrantTypes, GrantClientCredentials) {
		return nil, oidc.ErrUnauthorizedClient().WithDescription("client credentials are not allowed for this client")
	}
	return &opClient{Client: c, cfg: s.cfg}, nil
}

// ClientCredentialsTokenRequest grants the system scopes asked for that
// the client is allowed; none asked for means all it is allowed.
func (s *storage) ClientCredentialsTokenRequest(ctx context.Context, id string, scopes []string) (op.TokenRequest, error) {
	c, err := s.Client(ctx, id)
	if err != nil {
		return nil, oidc.ErrInvalidClient()
	}
	if len(scopes) == 0 {
		scopes = c.Scopes
	}
	granted, err := grantScopes(scopes, c.Scopes, granteeSystem)
	if err != nil {
		return nil, oidc.ErrInvalidScope().WithDescription("%s", scopeError(err))
	}
	if len(granted) == 0 {
		return nil, oidc.ErrInvalidScope().WithDescription("none of the requested scopes is allowed for this client")
	}
	return &systemRequest{client: c, scopes: granted, audience: s.cfg.Audience}, nil
}

// GetPrivateClaimsFromRequest writes the claims internal/auth reads:
// the contract in docs/IDP.md.
func (s *storage) GetPrivateClaimsFromRequest(ctx context.Context, req op.TokenRequest, _ []string) (map[string]any, error) {
	claims := map[string]any{"scope": strings.Join(req.GetScopes(), " ")}
	if r, ok := req.(*systemRequest); ok {
		claims["name"] = r.client.Name
		claims["sharedcare_role"] = string(access.RoleSystem)
		if r.client.Org != "" {
			claims["sharedcare_org"] = r.client.Org
		}
		return claims, nil
	}
	var patient string
	switch r := req.(type) {
	case *authRequest:
		patient = r.patient
	case *refreshRequest:
		patient = r.patient
	default:
		return nil, fmt.Errorf("idp: no claims for a %T", req)
	}
	u, err := s.User(ctx, req.GetSubject())
	if err != nil {
		return nil, err
	}
	if u.Disabled {
		return nil, oidc.ErrInvalidGrant().WithDescription("account disabled")
	}
	claims["name"] = u.Name
	claims["sharedcare_role"] = string(u.Role)
	if u.Org != "" {
		claims["sharedcare_org"] = u.Org
	}
	fhirUser, err := actingAs(u, patient, fhirUserOf(req))
	if err != nil {
		return nil, err
	}
	if fhirUser != "" {
		claims["fhirUser"] = fhirUser
	}
	if patient != "" {
		claims["patient"] = patient
	}
	return claims, nil
}

func (s *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, errors.New("idp: claims come from the request")
}

// actingAs is the fhirUser of a grant to u for patient: u's own, or the
// RelatedPerson override chosen at sign-in, while u still acts for that
// person (an override no longer in u's list, after SetActsFor, is refused).
func actingAs(u User, patient, override string) (string, error) {
	if override == "" {
		return u.FHIRUser, nil
	}
	for _, a := range u.ActsFor {
		if a.RelatedPerson == override && a.Patient == patient {
			return override, nil
		}
	}
	return "", oidc.ErrInvalidGrant().WithDescription("the user no longer acts for this person")
}

// SetUserinfoFromRequest puts the user's name and fhirUser in the ID token.
func (s *storage) SetUserinfoFromRequest(ctx context.Context, ui *oidc.UserInfo, req op.IDTokenRequest, _ []string) error {
	return s.setUserinfo(ctx, ui, req.GetSubject(), fhirUserOf(req))
}

func (s *storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

// setUserinfo describes subject; override is the fhirUser a grant acts
// as, when not the user's own.
func (s *storage) setUserinfo(ctx context.Context, ui *oidc.UserInfo, subject, override string) error {
	u, err := s.User(ctx, subject)
	if err != nil {
		return err
	}
	ui.Subject = u.ID
	ui.Name = u.Name
	ui.PreferredUsername = u.Username
	fhirUser := u.FHIRUser
	if override != "" {
		fhirUser = override
	}
	if fhirUser != "" {
		ui.AppendClaims("fhirUser", fhirUser)
	}
	return nil
}

// SetUserinfoFromToken answers the userinfo endpoint while the access
// token is neither revoked nor expired.
func (s *storage) SetUserinfoFromToken(ctx context.Context, ui *oidc.UserInfo, tokenID, subject, _ string) error {
	var revoked int
	var override string
	err := s.db.queryRow(ctx, "SELECT revoked, fhir_user FROM idp_access_token WHERE id = ? AND subject = ? AND expires_at >= ?", tokenID, subject, unix(time.Now())).Scan(&revoked, &override)
	if err != nil || revoked != 0 {
		return oidc.ErrAccessDenied().WithDescription("token revoked or expired")
	}
	if _, err := s.Client(ctx, subject); err == nil {
		ui.Subject = subject // a system client: no person to describe
		return nil
	}
	return s.setUserinfo(ctx, ui, subject, override)
}

func (s *storage) SetIntrospectionFromToken(context.Context, *oidc.IntrospectionResponse, string, string, string) error {
	return errors.New("idp: introspection is not offered")
}

func (s *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errors.New("idp: JWT profile grants are not offered")
}

func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errors.New("idp: JWT profile grants are not offered")
}

func (s *storage) Health(ctx context.Context) error { return s.db.sql.PingContext(ctx) }

// opClient is a Client as zitadel sees it.
type opClient struct {
	Client
	cfg *Config
}

func (c *opClient) GetID() string                    { return c.ID }
func (c *opClient) RedirectURIs() []string           { return c.Client.RedirectURIs }
func (c *opClient) PostLogoutRedirectURIs() []string { return c.Client.RedirectURIs }
func (c *opClient) LoginURL(id string) string        { return c.cfg.issuerPath() + "/login?id=" + id }
func (c *opClient) AccessTokenType() op.AccessTokenType {
	return op.AccessTokenTypeJWT
}
func (c *opClient) IDTokenLifetime() time.Duration { return c.cfg.AccessTTL }

// DevMode allows http redirect URIs (still matched exactly) on a demo or
// plain-http site.
func (c *opClient) DevMode() bool { return c.cfg.Demo || strings.HasPrefix(c.cfg.Issuer, "http://") }
func (c *opClient) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c *opClient) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

// IsScopeAllowed lets every scope through zitadel's filter: Authorize
// grants them (grantScopes), narrowing where it must.
func (c *opClient) IsScopeAllowed(string) bool           { return true }
func (c *opClient) IDTokenUserinfoClaimsAssertion() bool { return false }
func (c *opClient) ClockSkew() time.Duration             { return 0 }
func (c *opClient) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}
func (c *opClient) ApplicationType() op.ApplicationType {
	if c.Public {
		return op.ApplicationTypeNative
	}
	return op.ApplicationTypeWeb
}
func (c *opClient) AuthMethod() oidc.AuthMethod {
	if c.Public {
		return oidc.AuthMethodNone
	}
	return oidc.AuthMethodBasic
}
func (c *opClient) GrantTypes() []oidc.GrantType {
	var out []oidc.GrantType
	for _, g := range c.Client.GrantTypes {
		out = append(out, oidc.GrantType(g))
	}
	return out
}
