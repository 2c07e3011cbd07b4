// Package assets holds the static files the clinician and patient portals
// share — nhsuk-frontend and htmx, vendored from npm at pinned versions (see
// static/vendor/README.md), and our own app.css — embedded in the binary so
// nothing is fetched from outside at build or run time.
//
// Pages link files through [Path], which adds a content hash as a query
// ("app.css?v=0123456789"): a hashed URL is cached for a year as immutable,
// so a new release busts caches by changing the URL, not by waiting.
// The caller chooses the URL prefix:
//
//	mux.Handle("GET /app/static/", http.StripPrefix("/app/static/", assets.Handler()))
//
//	<link rel="stylesheet" href="/app/static/{{.AppCSS}}">  // .AppCSS = assets.Path(assets.AppCSS)
//
// nhsuk-frontend's script is an ES module; load [NHSUKInit] with
// <script type="module"> to start its components without an inline script.
// htmx is a classic script: <script src=... defer>.
package assets

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

// Names of the main files, relative to static/, for [Path].
const (
	NHSUKCSS  = "vendor/nhsuk-frontend-10.6.1/nhsuk-frontend.min.css"
	NHSUKJS   = "vendor/nhsuk-frontend-10.6.1/nhsuk-frontend.min.js"
	NHSUKInit = "nhsuk-init.js" // imports NHSUKJS and calls its initAll()
	HTMX      = "vendor/htmx-2.0.11/htmx.min.js"
	AppCSS    = "app.css"
)

//go:embed static
var embedded embed.FS

// hashLen is how many hex digits of the sha256 go in a URL: 40 bits is plenty
// to tell releases of one file apart, and keeps the markup short.
const hashLen = 10

type file struct {
	data        []byte
	contentType string
	version     string // first hashLen hex digits of the sha256
	etag        string // the whole sha256, quoted
}

// files is built once at start-up so a request never reads or hashes.
var files = load()

func load() map[string]file {
	static, err := fs.Sub(embedded, "static")
	if err != nil {
		panic(err) // only if the embed directive itself is wrong
	}
	m := map[string]file{}
	err = fs.WalkDir(static, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(static, name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		full := hex.EncodeToString(sum[:])
		m[name] = file{
			data:        data,
			contentType: contentType(name),
			version:     full[:hashLen],
			etag:        `"` + full + `"`,
		}
		return nil
	})
	if err != nil {
		panic(err)
	}
	return m
}

// contentType is fixed here for the kinds of file we ship, rather than left
// to the host's mime.types, so every machine serves the same headers.
func contentType(name string) string {
	switch ext := path.Ext(name); ext {
	case ".css":
		return "text/css; charset=utf-8"
	case ".js", ".mjs":
		return "text/javascript; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".md":
		return "text/markdown; charset=utf-8"
	case "", ".txt":
		return "text/plain; charset=utf-8" // LICENSE
	default:
		if t := mime.TypeByExtension(ext); t != "" {
			return t
		}
		return "application/octet-stream"
	}
}

// Path returns name (relative to static/, e.g. [AppCSS] or
// "vendor/htmx-2.0.11/htmx.min.js") with its content hash appended as
// "?v=" and the first 10 hex digits of its sha256. The result is relative:
// prefix it with where the caller mounted [Handler]. An unknown name is
// returned unchanged, so a typo in a template gives a 404, not a panic.
func Path(name string) string {
	f, ok := files[name]
	if !ok {
		return name
	}
	return name + "?v=" + f.version
}

// Handler serves the embedded files by their name relative to static/; mount
// it with [http.StripPrefix]. Only GET and HEAD of a file are answered:
// directories and unknown names are 404, never a listing. A request whose
// "v" matches the file's hash is cacheable for a year as immutable; any other
// (no "v", or a stale one from an old page) is served with no-cache, and its
// ETag makes the revalidation a 304.
func Handler() http.Handler {
	return http.HandlerFunc(serve)
}

func serve(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name := strings.TrimPrefix(r.URL.Path, "/")
	f, ok := files[name] // directories, "..", and "" are never keys
	if !ok {
		http.NotFound(w, r)
		return
	}
	h.Set("Content-Type", f.contentType)
	h.Set("ETag", f.etag)
	// Our scripts and styles are for our own pages only.
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	if r.URL.Query().Get("v") == f.version {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(f.data))
}
