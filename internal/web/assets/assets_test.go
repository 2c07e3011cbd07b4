package assets

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
)

func TestHandler(t *testing.T) {
	const immutable = "public, max-age=31536000, immutable"
	tests := []struct {
		name        string
		method      string
		url         string
		status      int
		contentType string
		cache       string
	}{
		{"app css fingerprinted", "GET", "/" + Path(AppCSS), 200, "text/css; charset=utf-8", immutable},
		{"app css bare", "GET", "/app.css", 200, "text/css; charset=utf-8", "no-cache"},
		{"app css stale version", "GET", "/app.css?v=0000000000", 200, "text/css; charset=utf-8", "no-cache"},
		{"nhsuk css", "GET", "/" + Path(NHSUKCSS), 200, "text/css; charset=utf-8", immutable},
		{"nhsuk js", "GET", "/" + Path(NHSUKJS), 200, "text/javascript; charset=utf-8", immutable},
		{"nhsuk init", "GET", "/" + Path(NHSUKInit), 200, "text/javascript; charset=utf-8", immutable},
		{"htmx", "GET", "/" + Path(HTMX), 200, "text/javascript; charset=utf-8", immutable},
		{"icon", "GET", "/vendor/nhsuk-frontend-10.6.1/assets/images/nhsuk-icon-cross.svg", 200, "image/svg+xml", "no-cache"},
		{"licence", "GET", "/vendor/htmx-2.0.11/LICENSE", 200, "text/plain; charset=utf-8", "no-cache"},
		{"head", "HEAD", "/" + Path(HTMX), 200, "text/javascript; charset=utf-8", immutable},
		{"root", "GET", "/", 404, "", ""},
		{"empty", "GET", "", 404, "", ""},
		{"vendor dir slash", "GET", "/vendor/", 404, "", ""},
		{"vendor dir", "GET", "/vendor", 404, "", ""},
		{"parent", "GET", "/../go.mod", 404, "", ""},
		{"embed root name", "GET", "/static/app.css", 404, "", ""},
		{"unknown", "GET", "/nope.css", 404, "", ""},
		{"post", "POST", "/app.css", 405, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, "/x", nil)
			req.URL.Path, req.URL.RawQuery, _ = strings.Cut(tt.url, "?")
			rec := httptest.NewRecorder()
			Handler().ServeHTTP(rec, req)
			res := rec.Result()
			if res.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d", res.StatusCode, tt.status)
			}
			if got := res.Header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options = %q", got)
			}
			if tt.status != 200 {
				if got := res.Header.Get("Cache-Control"); strings.Contains(got, "immutable") {
					t.Errorf("error response cacheable: %q", got)
				}
				return
			}
			if got := res.Header.Get("Content-Type"); got != tt.contentType {
				t.Errorf("Content-Type = %q, want %q", got, tt.contentType)
			}
			if got := res.Header.Get("Cache-Control"); got != tt.cache {
				t.Errorf("Cache-Control = %q, want %q", got, tt.cache)
			}
			if tt.method == "HEAD" && rec.Body.Len() != 0 {
				t.Errorf("HEAD has a body of %d bytes", rec.Body.Len())
			}
			if tt.method == "GET" && rec.Body.Len() == 0 {
				t.Errorf("empty body")
			}
		})
	}
}

// TestMounted serves through StripPrefix on a ServeMux, as the portals do,
// and checks that a revalidation with the ETag is a 304.
func TestMounted(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("GET /app/static/", http.StripPrefix("/app/static/", Handler()))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	res, err := http.Get(srv.URL + "/app/static/" + Path(AppCSS))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	etag := res.Header.Get("ETag")
	if res.StatusCode != 200 || etag == "" {
		t.Fatalf("status %d, ETag %q", res.StatusCode, etag)
	}

	req, _ := http.NewRequest("GET", srv.URL+"/app/static/app.css", nil)
	req.Header.Set("If-None-Match", etag)
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotModified {
		t.Errorf("revalidation status = %d, want 304", res.StatusCode)
	}

	for _, p := range []string{"/app/static/", "/app/static/vendor/", "/app/static/../../go.mod"} {
		res, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 404 {
			t.Errorf("GET %s = %d, want 404", p, res.StatusCode)
		}
	}
}

func TestPath(t *testing.T) {
	for _, name := range []string{AppCSS, NHSUKCSS, NHSUKJS, NHSUKInit, HTMX} {
		data, err := fs.ReadFile(embedded, "static/"+name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		sum := sha256.Sum256(data)
		want := name + "?v=" + hex.EncodeToString(sum[:])[:10]
		if got := Path(name); got != want {
			t.Errorf("Path(%q) = %q, want %q", name, got, want)
		}
		if Path(name) != Path(name) {
			t.Errorf("Path(%q) not stable", name)
		}
	}
	for _, name := range []string{"nope.css", "", "vendor", "../go.mod"} {
		if got := Path(name); got != name {
			t.Errorf("Path(%q) = %q, want it unchanged", name, got)
		}
	}
}

// TestVendoredProvenance checks every vendored file against the sha256 in
// static/vendor/README.md, and that no file there lacks a row: a silent edit
// or an unrecorded addition fails here.
func TestVendoredProvenance(t *testing.T) {
	f, err := os.Open("static/vendor/README.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	row := regexp.MustCompile("^\\| `([^`]+)` \\|.*\\| `([0-9a-f]{64})` \\|$")
	want := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m := row.FindStringSubmatch(sc.Text()); m != nil && strings.Contains(m[1], "/") {
			want["vendor/"+m[1]] = m[2]
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(want) == 0 {
		t.Fatal("no file rows found in README.md")
	}
	for name, sum := range want {
		file, ok := files[name]
		if !ok {
			t.Errorf("%s: in README.md but not embedded", name)
			continue
		}
		got := sha256.Sum256(file.data)
		if hex.EncodeToString(got[:]) != sum {
			t.Errorf("%s: sha256 %x, README.md says %s", name, got, sum)
		}
	}
	for name := range files {
		if strings.HasPrefix(name, "vendor/") && name != "vendor/README.md" {
			if _, ok := want[name]; !ok {
				t.Errorf("%s: embedded but has no row in README.md", name)
			}
		}
	}
}
