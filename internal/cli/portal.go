package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/sharedcare/sharedcare/internal/idp"
	"github.com/sharedcare/sharedcare/internal/web"
	"github.com/sharedcare/sharedcare/internal/web/clinician"
)

// portalClientID is the clinician portal's client at the built-in
// identity provider.
const portalClientID = "sharedcare-portal"

// portalScopes are the most a portal session may hold: the user's own
// rights (user/ scopes), narrowed by their role in the API.
var portalScopes = []string{"openid", "fhirUser", "profile", "offline_access", "launch", "user/*.cruds"}

// setupPortal registers the clinician portal as a client of the built-in
// identity provider (its secret kept with the keys, outside the database)
// and returns the portal, which calls api in-process as the signed-in
// user.
func setupPortal(ctx context.Context, c serveConfig, authn *authStack, root string, api http.Handler, log *slog.Logger) (http.Handler, error) {
	p := authn.idp
	if p == nil {
		log.Info("clinician portal off: it signs people in through the built-in identity provider (--no-idp is set)")
		return nil, nil
	}
	secret, err := portalSecret(keysDir(c))
	if err != nil {
		return nil, err
	}
	redirect := root + "/app/callback"
	// Registered afresh at every start: the public URL may have changed.
	if err := p.Store().RemoveClient(ctx, portalClientID); err != nil && !errors.Is(err, idp.ErrNotFound) {
		return nil, err
	}
	if _, _, err := p.Store().AddClient(ctx, idp.Client{ID: portalClientID, Secret: secret, Name: "Shared care record (clinician portal)",
		RedirectURIs: []string{redirect}, Scopes: portalScopes, GrantTypes: []string{idp.GrantCode, idp.GrantRefresh}}); err != nil {
		return nil, fmt.Errorf("clinician portal client: %w", err)
	}
	local := web.Local(api)
	si := &web.SignIn{
		// launch is asked for only with a launch (SignIn.Begin adds it).
		OAuth: oauth2.Config{ClientID: portalClientID, ClientSecret: secret, RedirectURL: redirect, Scopes: slices.DeleteFunc(slices.Clone(portalScopes), func(s string) bool { return s == "launch" }),
			Endpoint: oauth2.Endpoint{AuthURL: p.Issuer() + "/authorize", TokenURL: p.Issuer() + "/oauth/token", AuthStyle: oauth2.AuthStyleInHeader}},
		IDToken:  gooidc.NewVerifier(p.Issuer(), p.KeySet(), &gooidc.Config{ClientID: portalClientID, SupportedSigningAlgs: []string{"ES256"}}),
		Identify: authn.verifier.Verify,
		HTTP:     &http.Client{Transport: local},
	}
	app, err := clinician.New(clinician.Config{
		Prefix:   "/app",
		FHIR:     &web.FHIR{Base: authn.fhirBase, Transport: local},
		SignIn:   si,
		Sessions: web.NewSessions("sc_app", "/app/", strings.HasPrefix(root, "https://")),
		Version:  Version,
		Log:      log,
	})
	if err != nil {
		return nil, err
	}
	return app.Handler(), nil
}

// portalSecret is the portal's client secret, made on first start and
// kept beside the signing keys.
func portalSecret(dir string) (string, error) {
	path := filepath.Join(dir, "portal-client.secret")
	b, err := os.ReadFile(path)
	if err == nil && len(strings.TrimSpace(string(b))) >= 32 {
		return strings.TrimSpace(string(b)), nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	s := web.RandomToken()
	if err := os.WriteFile(path, []byte(s+"\n"), 0o600); err != nil {
		return "", err
	}
	return s, nil
}
