package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/sharedcare/sharedcare/internal/access"
	"github.com/sharedcare/sharedcare/internal/web/assets"
)

//go:embed templates/*.html
var baseFS embed.FS

// App describes a portal for the shared layout.
type App struct {
	Name    string // shown in the header
	Prefix  string // where it is mounted, e.g. /app
	Version string
	Nav     []NavItem
}

// NavItem is a link in the header; Roles, if set, are the roles that see
// it (the page itself still checks).
type NavItem struct {
	Label, Path string
	Roles       []access.Role
}

// Page is what every template gets.
type Page struct {
	Title   string
	App     App
	Session *Session
	Flash   string
	Data    any
}

// Renderer renders a portal's pages inside the shared layout. Templates
// are parsed once, at start: html/template escapes everything they print
// by context, so a person named <script> is shown as text.
type Renderer struct {
	app   App
	pages map[string]*template.Template
	log   *slog.Logger
}

// BaseFuncs are the functions every page may use.
func BaseFuncs(app App) template.FuncMap {
	return template.FuncMap{
		"asset": func(name string) string {
			switch name {
			case "nhsuk":
				name = assets.NHSUKCSS
			case "app":
				name = assets.AppCSS
			case "htmx":
				name = assets.HTMX
			}
			return app.Prefix + "/static/" + assets.Path(name)
		},
		"roleName": RoleName,
		"allowed": func(n NavItem, s *Session) bool {
			return s != nil && (len(n.Roles) == 0 || slices.Contains(n.Roles, s.User.Role))
		},
		"date":     func(t time.Time) string { return DateText(t) },
		"datetime": func(t time.Time) string { return DateTimeText(t) },
	}
}

// NewRenderer parses the layout and every *.html page in pages (each
// defines "content"); funcs add to BaseFuncs.
func NewRenderer(app App, pages fs.FS, funcs template.FuncMap, log *slog.Logger) (*Renderer, error) {
	fm := BaseFuncs(app)
	for k, v := range funcs {
		fm[k] = v
	}
	base, err := template.New("").Funcs(fm).ParseFS(baseFS, "templates/layout.html")
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	rd := &Renderer{app: app, pages: map[string]*template.Template{}, log: log}
	add := func(fsys fs.FS, name string) error {
		t, err := base.Clone()
		if err != nil {
			return err
		}
		if _, err := t.ParseFS(fsys, name); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		rd.pages[strings.TrimSuffix(path.Base(name), ".html")] = t
		return nil
	}
	for _, n := range []string{"templates/error.html", "templates/signedout.html"} {
		if err := add(baseFS, n); err != nil {
			return nil, err
		}
	}
	names, err := fs.Glob(pages, "*.html")
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		if strings.HasPrefix(n, "_") {
			continue
		}
		if err := add(pages, n); err != nil {
			return nil, err
		}
	}
	return rd, nil
}

// App is the portal the renderer draws.
func (rd *Renderer) App() App { return rd.app }

// Render writes page name with status. The page is rendered to a buffer
// first, so a template error never leaves half a page.
func (rd *Renderer) Render(w http.ResponseWriter, r *http.Request, status int, name string, p Page) {
	p.App = rd.app
	if p.Session != nil && p.Flash == "" {
		p.Flash = p.Session.TakeFlash()
	}
	t := rd.pages[name]
	tmpl := "layout"
	if r != nil && r.Header.Get("HX-Request") == "true" && r.Header.Get("HX-Boosted") != "true" {
		tmpl = "content" // htmx swaps in the page's content only
	}
	var buf bytes.Buffer
	if t == nil {
		rd.log.Error("web: no such page", "page", name)
		http.Error(w, "Something went wrong on our side.", http.StatusInternalServerError)
		return
	}
	if err := t.ExecuteTemplate(&buf, tmpl, p); err != nil {
		rd.log.Error("web: render", "page", name, "err", err)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprintln(w, "Something went wrong on our side showing this page. It has been logged; please try again.")
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// ErrorData is what the error page shows.
type ErrorData struct {
	Heading, Message string
	Action           *Link
}

// Link is a labelled href.
type Link struct{ Label, Href string }

// Error shows a friendly error page: what happened and what to do, never
// a stack trace or an internal message.
func (rd *Renderer) Error(w http.ResponseWriter, r *http.Request, s *Session, status int, heading, msg string, action *Link) {
	rd.Render(w, r, status, "error", Page{Title: heading, Session: s, Data: ErrorData{Heading: heading, Message: msg, Action: action}})
}

// Secure sets the headers every portal page carries: no framing, no
// inline script, no caching of clinical pages, no referrer leaking
// record URLs.
func Secure(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		if !strings.Contains(r.URL.Path, "/static/") {
			hd.Set("Cache-Control", "no-store")
		}
		h.ServeHTTP(w, r)
	})
}

// RoleName is a role as people say it.
func RoleName(r access.Role) string {
	switch r {
	case access.RoleGP:
		return "GP"
	case "":
		return ""
	}
	s := strings.ReplaceAll(string(r), "-", " ")
	return strings.ToUpper(s[:1]) + s[1:]
}

// DateText is a date as the NHS writes it: 3 March 2024.
func DateText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format("2 January 2006")
}

// DateTimeText adds the time, in UK time.
func DateTimeText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(ukTime).Format("2 January 2006, 15:04")
}

var ukTime = func() *time.Location {
	l, err := time.LoadLocation("Europe/London")
	if err != nil {
		return time.UTC
	}
	return l
}()
