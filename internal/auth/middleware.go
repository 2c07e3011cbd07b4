package auth

import (
	"net/http"
	"strings"

	"github.com/sharedcare/sharedcare/internal/access"
	"github.com/sharedcare/sharedcare/internal/fhir"
)

// Options configure Middleware.
type Options struct {
	// Public reports the requests served without a token: the capability
	// statement, well-known documents, health checks, sign-in pages. A
	// token sent to a public path is still verified, and a bad one ignored
	// there, so a stale token in a browser never blocks sign-in.
	Public func(*http.Request) bool
	// Insecure is the principal of a request that sends no token: the
	// --insecure-demo switch. Nil (the default) is off. A request that
	// does send a token is verified as usual.
	Insecure *access.Principal
	// Realm names the protection space in WWW-Authenticate; "" means
	// "sharedcare".
	Realm string
	// OnRefused is told of every refused request (status 401 or 503 and
	// the reason), for the audit. It must not block.
	OnRefused func(r *http.Request, status int, reason string)
}

// Middleware authenticates each request: it verifies the bearer token and
// puts the principal in the request's context (access.WithPrincipal), or
// answers 401 with a WWW-Authenticate challenge (RFC 6750) and an
// OperationOutcome. It sits inside rest.Observe, which gives the refusal
// its request id and log line.
func Middleware(v *Verifier, opts Options) func(http.Handler) http.Handler {
	realm := opts.Realm
	if realm == "" {
		realm = "sharedcare"
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			public := opts.Public != nil && opts.Public(r)
			token, present, reason := bearer(r)
			switch {
			case reason != "":
				if public {
					next.ServeHTTP(w, r)
					return
				}
				refuseHTTP(w, r, opts, realm, http.StatusUnauthorized, "invalid_request", reason)
				return
			case !present:
				if opts.Insecure != nil {
					p := *opts.Insecure
					next.ServeHTTP(w, r.WithContext(access.WithPrincipal(r.Context(), &p)))
					return
				}
				if public {
					next.ServeHTTP(w, r)
					return
				}
				refuseHTTP(w, r, opts, realm, http.StatusUnauthorized, "", "this request needs a bearer token")
				return
			}
			p, err := v.Verify(r.Context(), token)
			if err != nil {
				if public {
					next.ServeHTTP(w, r)
					return
				}
				msg := err.Error()
				if fe, ok := err.(*fhir.Error); ok {
					msg = fe.Msg
				}
				if fhir.KindOf(err) == fhir.Unavailable {
					w.Header().Set("Retry-After", "10")
					refuseHTTP(w, r, opts, realm, http.StatusServiceUnavailable, "", msg)
					return
				}
				refuseHTTP(w, r, opts, realm, http.StatusUnauthorized, "invalid_token", msg)
				return
			}
			next.ServeHTTP(w, r.WithContext(access.WithPrincipal(r.Context(), p)))
		})
	}
}

// bearer reads the Authorization header: the token, whether one was sent,
// and a reason when the header is malformed.
func bearer(r *http.Request) (token string, present bool, reason string) {
	vals := r.Header.Values("Authorization")
	switch len(vals) {
	case 0:
		return "", false, ""
	case 1:
	default:
		return "", true, "more than one Authorization header"
	}
	scheme, rest, _ := strings.Cut(vals[0], " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", true, "the Authorization header must use the Bearer scheme"
	}
	token = strings.TrimLeft(rest, " ")
	if token == "" || strings.ContainsAny(token, " \t") {
		return "", true, "the Authorization header must be \"Bearer\" and one token"
	}
	// RFC 6750 b64token: the token's own checks give the precise reason
	// for anything else, so only what could never be a token stops here.
	for i := 0; i < len(token); i++ {
		if c := token[i]; c < 0x21 || c > 0x7e {
			return "", true, "the bearer token holds characters a token cannot"
		}
	}
	return token, true, ""
}

func refuseHTTP(w http.ResponseWriter, r *http.Request, opts Options, realm string, status int, code, reason string) {
	if opts.OnRefused != nil {
		opts.OnRefused(r, status, reason)
	}
	if status == http.StatusUnauthorized {
		c := `Bearer realm="` + quotable(realm) + `"`
		if code != "" {
			c += `, error="` + code + `", error_description="` + quotable(reason) + `"`
		}
		w.Header().Set("WWW-Authenticate", c)
	}
	kind := fhir.Unauthorized
	if status == http.StatusServiceUnavailable {
		kind = fhir.Unavailable
	}
	b, err := fhir.Marshal(fhir.Outcome(fhir.E(kind, "%s", reason)))
	if err != nil {
		b = []byte(`{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"login"}]}`)
	}
	w.Header().Set("Content-Type", "application/fhir+json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(b)
}

// quotable keeps what RFC 6750 allows inside error_description (%x20-21,
// %x23-5B, %x5D-7E): no quote, no backslash, nothing outside ASCII.
func quotable(s string) string {
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < 200; i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			c = '\''
			if s[i] != '"' {
				c = '?'
			}
		}
		b.WriteByte(c)
	}
	return b.String()
}
