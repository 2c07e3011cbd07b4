package idp

import (
	"context"
	"slices"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// server is zitadel's protocol server with the steps SMART needs done our
// way: authorize grants scopes and takes the launch, the code exchange is
// single-use and holds PKCE to what was asked, and token responses carry
// the patient in context.
type server struct {
	*op.LegacyServer
	p *Provider
}

// tokenResponse is the token endpoint's answer with SMART's patient.
type tokenResponse struct {
	*oidc.AccessTokenResponse
	Patient string `json:"patient,omitempty"`
}

func (s *server) authorizeError(ctx context.Context, req *oidc.AuthRequest, err *oidc.Error) (*op.Redirect, error) {
	return op.TryErrorRedirect(ctx, req, err, s.p.op.Encoder(), s.p.cfg.Log)
}

func (s *server) Authorize(ctx context.Context, r *op.ClientRequest[oidc.AuthRequest]) (*op.Redirect, error) {
	req := r.Data
	client, ok := r.Client.(*opClient)
	if !ok {
		return nil, oidc.ErrServerError()
	}
	if slices.Contains(req.Prompt, oidc.PromptNone) {
		// No session is kept, so a sign-in without a page cannot be.
		return s.authorizeError(ctx, req, oidc.ErrLoginRequired())
	}
	if !slices.Contains(client.Client.GrantTypes, GrantCode) {
		return s.authorizeError(ctx, req, oidc.ErrUnauthorizedClient().WithDescription("this client may not use the authorization code flow"))
	}
	if req.CodeChallenge != "" && req.CodeChallengeMethod != oidc.CodeChallengeMethodS256 {
		return s.authorizeError(ctx, req, oidc.ErrInvalidRequest().WithDescription("code_challenge_method must be S256"))
	}
	if client.Public && req.CodeChallenge == "" {
		return s.authorizeError(ctx, req, oidc.ErrInvalidRequest().WithDescription("a public client must use PKCE (code_challenge with S256)"))
	}
	if aud := r.Form.Get("aud"); aud != "" && s.p.cfg.Audience != "" && aud != s.p.cfg.Audience {
		// SMART: the app names the FHIR server it means to call, so a
		// token for this one is not handed to an app that meant another.
		return s.authorizeError(ctx, req, oidc.ErrInvalidRequest().WithDescription("aud is not this server's FHIR base"))
	}
	scopes, err := grantScopes(req.Scopes, client.Scopes, granteeUnknown)
	if err != nil {
		return s.authorizeError(ctx, req, oidc.ErrInvalidScope().WithDescription("%s", scopeError(err)))
	}
	if len(scopes) == 0 {
		return s.authorizeError(ctx, req, oidc.ErrInvalidScope().WithDescription("none of the requested scopes is allowed for this client"))
	}
	var launchPatient string
	if launch := r.Form.Get("launch"); launch != "" {
		if !slices.Contains(scopes, "launch") {
			return s.authorizeError(ctx, req, oidc.ErrInvalidScope().WithDescription("launch given without the launch scope"))
		}
		if launchPatient, err = s.p.store.consumeLaunch(ctx, launch); err != nil {
			return s.authorizeError(ctx, req, oidc.ErrInvalidRequest().WithDescription("%s", err.Error()))
		}
	}
	req.Scopes = scopes
	a, err := s.p.st.createAuthRequest(ctx, req, launchPatient)
	if err != nil {
		return s.authorizeError(ctx, req, oidc.ErrServerError().WithParent(err))
	}
	return op.NewRedirect(client.LoginURL(a.id)), nil
}

func (s *server) CodeExchange(ctx context.Context, r *op.ClientRequest[oidc.AccessTokenRequest]) (*op.Response, error) {
	a, err := s.p.st.authRequestByCode(ctx, r.Data.Code)
	if err != nil {
		return nil, oidc.ErrInvalidGrant().WithDescription("invalid code")
	}
	// The first presentation of a code uses it up, whatever follows: a
	// code is worth nothing twice.
	if !s.p.st.consumeCode(ctx, a.id, r.Data.Code) {
		return nil, oidc.ErrInvalidGrant().WithDescription("invalid code")
	}
	if r.Client.GetID() != a.clientID {
		return nil, oidc.ErrInvalidGrant()
	}
	// A challenge given at authorize must be answered here, confidential
	// client or not: otherwise PKCE could be dropped by whoever holds
	// the code.
	if a.challenge != "" || r.Client.AuthMethod() == oidc.AuthMethodNone {
		if err := op.AuthorizeCodeChallenge(r.Data.CodeVerifier, a.GetCodeChallenge()); err != nil {
			return nil, err
		}
	} else if r.Data.CodeVerifier != "" {
		return nil, oidc.ErrInvalidRequest().WithDescription("code_verifier without a code_challenge")
	}
	if r.Data.RedirectURI != a.redirectURI {
		return nil, oidc.ErrInvalidGrant().WithDescription("redirect_uri does not correspond")
	}
	resp, err := op.CreateTokenResponse(ctx, a, r.Client, s.p.op, true, r.Data.Code, "")
	if err != nil {
		return nil, err
	}
	return op.NewResponse(tokenResponse{resp, a.patient}), nil
}

func (s *server) RefreshToken(ctx context.Context, r *op.ClientRequest[oidc.RefreshTokenRequest]) (*op.Response, error) {
	req, err := op.RefreshTokenRequestByRefreshToken(ctx, s.p.st, r.Data.RefreshToken)
	if err != nil {
		return nil, err
	}
	rr := req.(*refreshRequest)
	if r.Client.GetID() != rr.clientID {
		return nil, oidc.ErrInvalidGrant()
	}
	if err := op.ValidateRefreshTokenScopes(r.Data.Scopes, req); err != nil {
		return nil, err
	}
	resp, err := op.CreateTokenResponse(ctx, req, r.Client, s.p.op, true, "", r.Data.RefreshToken)
	if err != nil {
		return nil, err
	}
	return op.NewResponse(tokenResponse{resp, rr.patient}), nil
}
