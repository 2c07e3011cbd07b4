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
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/sharedcare/sharedcare/internal/idp"
	"github.com/sharedcare/sharedcare/internal/web"
	"github.com/sharedcare/sharedcare/internal/web/clinician"
	"github.com/sharedcare/sharedcare/internal/web/patient"
)

// The portals' clients at the built-in identity provider, and the most
// a session of each may hold: a professional's own rights (user/ scopes)
// or a person's own record (patient/ scopes, with their record as the
// launch context), narrowed further by the role in the API.
const (
	portalClientID        = "sharedcare-portal"
	patientPortalClientID = "sharedcare-patient-portal"
)

var (
	portalScopes        = []string{"openid", "fhirUser", "profile", "offline_access", "launch", "user/*.cruds"}
	patientPortalScopes = []string{"openid", "fhirUser", "profile", "offline_access", "launch/patient", "patient/*.cruds"}
)

// portals are the apps served beside the API: path prefix to handler.
type portals map[string]http.Handler

// setupPortals registers the clinician and patient portals as clients of
// the built-in identity provider (their secrets kept with the keys,
// outside the database) and returns them; each calls api in-process as
// its signed-in user.
func setupPortals(ctx context.Context, c serveConfig, authn *authStack, api http.Handler, log *slog.Logger) (portals, error) {
	local := web.Local(api)
	fhirAPI := &web.FHIR{Base: authn.fhirBase, Transport: local}
	secure := strings.HasPrefix(authn.root, "https://")
	var signIn func(id, name, prefix string, scopes []string) (*web.SignIn, error)
	switch p := authn.idp; {
	case p != nil:
		signIn = func(id, name, prefix string, scopes []string) (*web.SignIn, error) {
			secret, err := portalSecret(keysDir(c), id)
			if err != nil {
				return nil, err
			}
			redirect := authn.root + prefix + "/callback"
			// Registered afresh at every start: the public URL may have changed.
			if err := p.Store().RemoveClient(ctx, id); err != nil && !errors.Is(err, idp.ErrNotFound) {
				return nil, err
			}
			if _, _, err := p.Store().AddClient(ctx, idp.Client{ID: id, Secret: secret, Name: name,
				RedirectURIs: []string{redirect}, Scopes: scopes, GrantTypes: []string{idp.GrantCode, idp.GrantRefresh}}); err != nil {
				return nil, fmt.Errorf("%s client: %w", name, err)
			}
			return &web.SignIn{
				// launch is asked for only with a launch (SignIn.Begin adds it).
				OAuth: oauth2.Config{ClientID: id, ClientSecret: secret, RedirectURL: redirect, Scopes: withoutLaunch(scopes),
					Endpoint: oauth2.Endpoint{AuthURL: p.Issuer() + "/authorize", TokenURL: p.Issuer() + "/oauth/token", AuthStyle: oauth2.AuthStyleInHeader}},
				IDToken:  gooidc.NewVerifier(p.Issuer(), p.KeySet(), &gooidc.Config{ClientID: id, SupportedSigningAlgs: []string{"ES256"}}),
				Identify: authn.verifier.Verify,
				HTTP:     &http.Client{Transport: local},
			}, nil
		}
	case c.auth.issuer != "" && c.auth.portalClient != "":
		// An external provider (Keycloak, or CIS2 and NHS login behind
		// one): the portals are one client there, and the API already
		// trusts its tokens (--oidc-issuer).
		dctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		prov, err := gooidc.NewProvider(dctx, strings.TrimSuffix(c.auth.issuer, "/"))
		cancel()
		if err != nil {
			log.Error("portals off: the sign-in provider's discovery failed", "issuer", c.auth.issuer, "err", err)
			return nil, nil
		}
		id, secret := c.auth.portalClient, c.auth.portalSecret
		signIn = func(_, _, prefix string, scopes []string) (*web.SignIn, error) {
			return &web.SignIn{
				OAuth:    oauth2.Config{ClientID: id, ClientSecret: secret, RedirectURL: authn.root + prefix + "/callback", Scopes: withoutLaunch(scopes), Endpoint: prov.Endpoint()},
				IDToken:  prov.Verifier(&gooidc.Config{ClientID: id}),
				Identify: authn.verifier.Verify,
				HTTP:     http.DefaultClient,
			}, nil
		}
	default:
		log.Info("portals off: they sign people in through the built-in identity provider, or with --oidc-issuer and --portal-client-id")
		return nil, nil
	}
	out := portals{}
	si, err := signIn(portalClientID, "Shared care record (clinician portal)", "/app", portalScopes)
	if err != nil {
		return nil, err
	}
	clin, err := clinician.New(clinician.Config{Prefix: "/app", FHIR: fhirAPI, SignIn: si,
		Sessions: web.NewSessions("sc_app", "/app/", secure), Version: Version, Log: log})
	if err != nil {
		return nil, err
	}
	out["/app"] = clin.Handler()
	si, err = signIn(patientPortalClientID, "My health record (patient portal)", "/my", patientPortalScopes)
	if err != nil {
		return nil, err
	}
	pat, err := patient.New(patient.Config{Prefix: "/my", FHIR: fhirAPI, SignIn: si,
		Sessions: web.NewSessions("sc_my", "/my/", secure), Version: Version, Log: log})
	if err != nil {
		return nil, err
	}
	out["/my"] = pat.Handler()
	return out, nil
}

func withoutLaunch(scopes []string) []string {
	return slices.DeleteFunc(slices.Clone(scopes), func(s string) bool { return s == "launch" })
}

// portalSecret is a portal's client secret, made on first start and kept
// beside the signing keys.
func portalSecret(dir, client string) (string, error) {
	path := filepath.Join(dir, client+".secret")
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
