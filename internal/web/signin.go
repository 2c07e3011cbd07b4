package web

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/sharedcare/sharedcare/internal/access"
)

// SignIn is a portal's OpenID Connect relying party: authorization code
// with PKCE against the platform's identity provider (or any OpenID
// provider the API trusts). The access token it gets is the user's own,
// and is all the portal holds: what the user may see is decided by the
// FHIR API, not here.
type SignIn struct {
	OAuth oauth2.Config
	// IDToken verifies the ID token (issuer, audience, signature, nonce).
	IDToken *gooidc.IDTokenVerifier
	// Identify reads the access token as the FHIR API does.
	Identify func(ctx context.Context, accessToken string) (*access.Principal, error)
	// HTTP carries the token requests (an in-process transport for the
	// built-in provider).
	HTTP *http.Client
	// EndSession, if set, is the provider's logout endpoint.
	EndSession string

	mu      sync.Mutex
	pending map[string]pendingSignIn
}

// pendingSignIn is a sign-in between the redirect to the provider and its
// return: bound to the browser by a cookie holding its state.
type pendingSignIn struct {
	verifier, nonce, next string
	launch                bool
	at                    time.Time
}

const signInTTL = 10 * time.Minute

// Begin sends the browser to the provider. next is where to go after
// sign-in (a path within the portal); launch, if set, is an EHR launch id
// to pass on.
func (si *SignIn) Begin(w http.ResponseWriter, r *http.Request, cookiePath, next, launch string) {
	state, nonce, verifier := RandomToken(), RandomToken(), oauth2.GenerateVerifier()
	si.mu.Lock()
	if si.pending == nil {
		si.pending = map[string]pendingSignIn{}
	}
	now := time.Now()
	for k, p := range si.pending {
		if now.Sub(p.at) > signInTTL {
			delete(si.pending, k)
		}
	}
	si.pending[state] = pendingSignIn{verifier: verifier, nonce: nonce, next: next, launch: launch != "", at: now}
	si.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: "sc_signin", Value: state, Path: cookiePath, HttpOnly: true,
		Secure: r.TLS != nil || strings.HasPrefix(si.OAuth.RedirectURL, "https://"), SameSite: http.SameSiteLaxMode,
		MaxAge: int(signInTTL / time.Second)})
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier), gooidc.Nonce(nonce)}
	if launch != "" {
		opts = append(opts, oauth2.SetAuthURLParam("launch", launch))
	}
	cfg := si.OAuth
	if launch != "" {
		cfg.Scopes = append(append([]string(nil), cfg.Scopes...), "launch")
	}
	http.Redirect(w, r, cfg.AuthCodeURL(state, opts...), http.StatusFound)
}

// Signed is what a completed sign-in gives the portal.
type Signed struct {
	User    *access.Principal
	Tokens  oauth2.TokenSource
	IDToken string
	Next    string
	Patient string // from an EHR launch
}

// ErrSignIn is a sign-in that failed on the way back: a stale or foreign
// state, a refused code, a bad token. The page says so and offers to
// start again.
var ErrSignIn = errors.New("sign-in did not complete")

// Finish handles the provider's redirect back.
func (si *SignIn) Finish(w http.ResponseWriter, r *http.Request, cookiePath string) (*Signed, error) {
	q := r.URL.Query()
	if q.Get("error") != "" {
		return nil, ErrSignIn
	}
	state := q.Get("state")
	c, err := r.Cookie("sc_signin")
	if err != nil || state == "" || c.Value != state {
		return nil, ErrSignIn
	}
	http.SetCookie(w, &http.Cookie{Name: "sc_signin", Value: "", Path: cookiePath, MaxAge: -1, HttpOnly: true})
	si.mu.Lock()
	p, ok := si.pending[state]
	delete(si.pending, state)
	si.mu.Unlock()
	if !ok || time.Since(p.at) > signInTTL {
		return nil, ErrSignIn
	}
	ctx := r.Context()
	if si.HTTP != nil {
		ctx = context.WithValue(ctx, oauth2.HTTPClient, si.HTTP)
	}
	tok, err := si.OAuth.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(p.verifier))
	if err != nil {
		return nil, errors.Join(ErrSignIn, err)
	}
	rawID, _ := tok.Extra("id_token").(string)
	idt, err := si.IDToken.Verify(ctx, rawID)
	if err != nil || idt.Nonce != p.nonce {
		return nil, errors.Join(ErrSignIn, errors.New("the ID token is not valid"))
	}
	user, err := si.Identify(ctx, tok.AccessToken)
	if err != nil {
		return nil, errors.Join(ErrSignIn, err)
	}
	// Refreshes happen in later requests: not this one's context.
	bg := context.Background()
	if si.HTTP != nil {
		bg = context.WithValue(bg, oauth2.HTTPClient, si.HTTP)
	}
	out := &Signed{User: user, IDToken: rawID, Next: p.next, Tokens: si.OAuth.TokenSource(bg, tok)}
	if p.launch {
		out.Patient, _ = tok.Extra("patient").(string)
	}
	return out, nil
}

// LocalNext keeps a post-sign-in destination within prefix, so that the
// sign-in link cannot be made to redirect elsewhere.
func LocalNext(prefix, next string) string {
	if !strings.HasPrefix(next, prefix) || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return prefix
	}
	return next
}
