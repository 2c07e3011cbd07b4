package bulk

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sharedcare/sharedcare/internal/fhir"
	"github.com/sharedcare/sharedcare/internal/record"
)

// Jobs.
//
// A job is an export or an import started by the API. It runs in a
// goroutine of this process and is known only to it: a job does not
// survive the process (a restart forgets every job and removes their
// files; clients see 404 at their status URL and start again). Its files
// live in a directory of its own, Options.Dir/<job id>/: the export's
// NDJSON, an import's uploaded body and its outcome files. A finished job
// and its files are kept for Options.Retain, then removed; DELETE on the
// status URL cancels a job and removes them at once.

// Options configure a Manager.
type Options struct {
	// Dir holds the jobs' directories: <data>/bulk for the embedded store;
	// give each process its own (jobs are per process, and a Manager
	// clears Dir of earlier processes' jobs when it starts).
	Dir string
	// AllowURLs are the URL prefixes an import may fetch inputs from. A
	// URL is allowed when it starts with one, at a path boundary
	// ("https://files.example.org/exports" allows
	// "https://files.example.org/exports/1.ndjson", not
	// "https://files.example.org/exports-old/..."). Empty (the default):
	// none; only uploads import.
	AllowURLs []string
	// MaxJobs bounds the jobs running at once (default 4); past it a
	// kick-off is refused (429) until one ends.
	MaxJobs int
	// Retain is how long a finished job's files are kept (default 24h).
	Retain time.Duration
	// FileResources and FileBytes split an export's files (defaults
	// 100,000 resources, 512 MiB).
	FileResources int
	FileBytes     int64
	// MaxUpload bounds an uploaded import body (default 4 GiB).
	MaxUpload int64
	// Batch is the import's write transaction size (DefaultBatch).
	Batch int
	// Access sees every resource jobs read and write.
	Access Access
	// RequiresAccessToken is what manifests say: whether fetching the
	// files needs the token that started the job.
	RequiresAccessToken bool
	// Client fetches import inputs (default: a client with a timeout on
	// connecting and on each response's headers).
	Client *http.Client
	Log    *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.MaxJobs <= 0 {
		o.MaxJobs = 4
	}
	if o.Retain <= 0 {
		o.Retain = 24 * time.Hour
	}
	if o.FileResources <= 0 {
		o.FileResources = 100_000
	}
	if o.FileBytes <= 0 {
		o.FileBytes = 512 << 20
	}
	if o.MaxUpload <= 0 {
		o.MaxUpload = 4 << 30
	}
	if o.Client == nil {
		o.Client = &http.Client{Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			ResponseHeaderTimeout: time.Minute,
			TLSHandshakeTimeout:   10 * time.Second,
		}}
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	return o
}

// Kind is what a job does.
type Kind string

const (
	ExportJob Kind = "export"
	ImportJob Kind = "import"
)

// Manager runs bulk jobs for the API.
type Manager struct {
	svc *record.Service
	o   Options

	mu     sync.Mutex
	jobs   map[string]*Job
	closed bool
	wg     sync.WaitGroup
}

// NewManager prepares o.Dir, removing what earlier processes' jobs left.
func NewManager(svc *record.Service, o Options) (*Manager, error) {
	if o.Dir == "" {
		return nil, errors.New("bulk: no directory for job files")
	}
	o = o.withDefaults()
	if err := os.MkdirAll(o.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("bulk: %w", err)
	}
	entries, err := os.ReadDir(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("bulk: %w", err)
	}
	for _, e := range entries {
		if e.IsDir() && jobID.MatchString(e.Name()) {
			if err := os.RemoveAll(filepath.Join(o.Dir, e.Name())); err != nil {
				o.Log.Warn("bulk: cannot remove an earlier process's job files", "dir", e.Name(), "err", err)
			}
		}
	}
	return &Manager{svc: svc, o: o, jobs: map[string]*Job{}}, nil
}

// Options returns the options in force, with defaults filled in.
func (m *Manager) Options() Options { return m.o }

var jobID = regexp.MustCompile(`^[0-9a-f]{32}$`)

// Job is one export or import.
type Job struct {
	ID      string
	Kind    Kind
	Request string // the kick-off request's URL
	Created time.Time
	dir     string
	base    string // the FHIR base the manifest's URLs start with
	cancel  context.CancelFunc
	done    chan struct{}

	mu       sync.Mutex
	progress string
	manifest []byte
	err      error
	finished time.Time
}

// Status is how a job stands.
type Status struct {
	Done     bool
	Progress string
	// Manifest is the completion manifest (JSON), when Done without Err.
	Manifest []byte
	// Err is why the job failed, when Done.
	Err error
}

// Status reports how the job stands.
func (j *Job) Status() Status {
	j.mu.Lock()
	defer j.mu.Unlock()
	return Status{Done: !j.finished.IsZero(), Progress: j.progress, Manifest: j.manifest, Err: j.err}
}

func (j *Job) setProgress(p string) {
	j.mu.Lock()
	j.progress = p
	j.mu.Unlock()
}

func (j *Job) finish(manifest []byte, err error) {
	j.mu.Lock()
	j.manifest, j.err, j.finished = manifest, err, time.Now()
	j.mu.Unlock()
}

// Wait waits for the job to end.
func (j *Job) Wait() { <-j.done }

// StatusPath is the path, after the FHIR base, of a job's status.
func StatusPath(id string) string { return "/$bulk-status/" + id }

// FilePath is the path, after the FHIR base, of one of a job's files.
func FilePath(id, name string) string { return "/$bulk-file/" + id + "/" + name }

// newJob registers a job (refusing past MaxJobs) with its directory.
func (m *Manager) newJob(ctx context.Context, kind Kind, request, base string) (*Job, context.Context, error) {
	m.sweep()
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, nil, fhir.E(fhir.Unavailable, "the server is shutting down")
	}
	running := 0
	for _, j := range m.jobs {
		if j.Status().Done {
			continue
		}
		running++
	}
	if running >= m.o.MaxJobs {
		return nil, nil, ErrBusy
	}
	j := &Job{ID: hex.EncodeToString(b[:]), Kind: kind, Request: request, Created: time.Now(), base: strings.TrimSuffix(base, "/"), done: make(chan struct{})}
	j.dir = filepath.Join(m.o.Dir, j.ID)
	if err := os.Mkdir(j.dir, 0o750); err != nil {
		return nil, nil, fhir.Wrap(fhir.Internal, err, "bulk job directory")
	}
	jctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	j.cancel = cancel
	m.jobs[j.ID] = j
	return j, jctx, nil
}

// ErrBusy refuses a kick-off while MaxJobs jobs run.
var ErrBusy = fhir.E(fhir.Unavailable, "too many bulk jobs are running; try again later")

// run runs f as j's work in the background.
func (m *Manager) run(j *Job, ctx context.Context, f func(ctx context.Context) ([]byte, error)) {
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		defer close(j.done)
		defer j.cancel()
		manifest, err := f(ctx)
		if err != nil && ctx.Err() == nil {
			m.o.Log.Error("bulk job failed", "job", j.ID, "kind", j.Kind, "err", err)
		}
		j.finish(manifest, err)
	}()
}

// Job returns the job with id.
func (m *Manager) Job(id string) (*Job, bool) {
	m.sweep()
	m.mu.Lock()
	defer m.mu.Unlock()
	j, ok := m.jobs[id]
	return j, ok
}

// Cancel stops the job with id if it runs, and removes it and its files.
func (m *Manager) Cancel(id string) error {
	m.mu.Lock()
	j, ok := m.jobs[id]
	if ok {
		delete(m.jobs, id)
	}
	m.mu.Unlock()
	if !ok {
		return fhir.E(fhir.NotFound, "no bulk job %s (finished jobs are kept for %s, and none survives a restart)", id, m.o.Retain)
	}
	j.cancel()
	<-j.done
	if err := os.RemoveAll(j.dir); err != nil {
		return fhir.Wrap(fhir.Internal, err, "remove job files")
	}
	return nil
}

// File opens one of a finished job's files.
func (m *Manager) File(id, name string) (*os.File, error) {
	j, ok := m.Job(id)
	if !ok || !j.Status().Done || strings.ContainsAny(name, `/\`) || !strings.HasSuffix(name, ".ndjson") || strings.HasPrefix(name, ".") {
		return nil, fhir.E(fhir.NotFound, "no bulk file %s of job %s", name, id)
	}
	f, err := os.Open(filepath.Join(j.dir, name))
	if err != nil {
		return nil, fhir.E(fhir.NotFound, "no bulk file %s of job %s", name, id)
	}
	return f, nil
}

// sweep forgets jobs finished longer ago than Retain, and their files.
func (m *Manager) sweep() {
	m.mu.Lock()
	var old []*Job
	for id, j := range m.jobs {
		j.mu.Lock()
		f := j.finished
		j.mu.Unlock()
		if !f.IsZero() && time.Since(f) > m.o.Retain {
			old = append(old, j)
			delete(m.jobs, id)
		}
	}
	m.mu.Unlock()
	for _, j := range old {
		os.RemoveAll(j.dir)
	}
}

// Close cancels the running jobs and waits for them. Their files stay
// until the next Manager on the directory removes them.
func (m *Manager) Close() {
	m.mu.Lock()
	m.closed = true
	for _, j := range m.jobs {
		j.cancel()
	}
	m.mu.Unlock()
	m.wg.Wait()
}

// The completion manifest (Bulk Data Access IG v2; the import proposal's
// shape for imports).
type manifest struct {
	TransactionTime     string         `json:"transactionTime"`
	Request             string         `json:"request"`
	RequiresAccessToken bool           `json:"requiresAccessToken"`
	Output              []manifestFile `json:"output"`
	Error               []manifestFile `json:"error"`
}

type manifestFile struct {
	Type      string         `json:"type"`
	URL       string         `json:"url"`
	Count     *int64         `json:"count,omitempty"`
	InputURL  string         `json:"inputUrl,omitempty"`
	Extension map[string]any `json:"extension,omitempty"`
}

func (j *Job) fileURL(name string) string { return j.base + FilePath(j.ID, name) }

// StartExport checks req and starts exporting it. requestURL is the
// kick-off's URL, base the FHIR base the file URLs start with.
func (m *Manager) StartExport(ctx context.Context, req ExportRequest, requestURL, base string) (*Job, error) {
	if err := CheckExport(ctx, m.svc, req); err != nil {
		return nil, err
	}
	j, jctx, err := m.newJob(ctx, ExportJob, requestURL, base)
	if err != nil {
		return nil, err
	}
	j.setProgress("starting")
	m.run(j, jctx, func(ctx context.Context) ([]byte, error) {
		res, err := Export(ctx, m.svc, req, DirSink(j.dir), ExportOptions{
			FileResources: m.o.FileResources, FileBytes: m.o.FileBytes, Access: m.o.Access,
			Progress: func(p ExportProgress) {
				j.setProgress(fmt.Sprintf("%d resources exported; reading %s", p.Resources, p.Type))
			},
		})
		if err != nil {
			return nil, err
		}
		mf := manifest{TransactionTime: fhir.FormatInstant(res.TransactionTime), Request: requestURL, RequiresAccessToken: m.o.RequiresAccessToken,
			Output: []manifestFile{}, Error: []manifestFile{}}
		for _, f := range res.Output {
			n := f.Count
			mf.Output = append(mf.Output, manifestFile{Type: f.Type, URL: j.fileURL(f.Name), Count: &n})
		}
		for _, f := range res.Errors {
			n := f.Count
			mf.Error = append(mf.Error, manifestFile{Type: f.Type, URL: j.fileURL(f.Name), Count: &n})
		}
		return json.Marshal(mf)
	})
	return j, nil
}

// ImportSource is one input of an import request: a URL to fetch.
type ImportSource struct {
	Type string
	URL  string
}

// ImportRequest is an import to run: inputs to fetch, or an uploaded body.
type ImportRequest struct {
	Inputs []ImportSource
	// Upload is NDJSON sent with the kick-off, copied to the job's
	// directory before it answers.
	Upload io.Reader
}

// Allowed reports whether u may be fetched: http or https, and under one of
// the allow-list's prefixes at a path boundary.
func (m *Manager) Allowed(u string) bool {
	pu, err := url.Parse(u)
	if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" || pu.User != nil {
		return false
	}
	for _, p := range m.o.AllowURLs {
		if p == "" || !strings.HasPrefix(u, p) {
			continue
		}
		if strings.HasSuffix(p, "/") || len(u) == len(p) || strings.ContainsRune("/?#", rune(u[len(p)])) {
			return true
		}
	}
	return false
}

// StartImport checks req and starts importing it.
func (m *Manager) StartImport(ctx context.Context, req ImportRequest, requestURL, base string) (*Job, error) {
	if req.Upload == nil && len(req.Inputs) == 0 {
		return nil, fhir.E(fhir.Invalid, "$import needs at least one input")
	}
	for _, in := range req.Inputs {
		if in.Type != "" && m.svc.CheckType(in.Type) != nil {
			return nil, fhir.E(fhir.Invalid, "input type %q is not a resource type", in.Type)
		}
		if u, err := url.Parse(in.URL); err != nil || !u.IsAbs() {
			return nil, fhir.E(fhir.Invalid, "input url %q is not an absolute URL", in.URL)
		}
		if !m.Allowed(in.URL) {
			return nil, fhir.E(fhir.Forbidden, "input url %q is not on this server's list of sources it may import from", in.URL)
		}
	}
	j, jctx, err := m.newJob(ctx, ImportJob, requestURL, base)
	if err != nil {
		return nil, err
	}
	var inputs []Input
	if req.Upload != nil {
		path := filepath.Join(j.dir, "upload.ndjson")
		if err := m.saveUpload(path, req.Upload); err != nil {
			m.Cancel(j.ID)
			return nil, err
		}
		fi, _ := os.Stat(path)
		inputs = append(inputs, Input{Name: "upload", Size: fi.Size(), Open: func(context.Context) (io.ReadCloser, error) { return os.Open(path) }})
	}
	for _, in := range req.Inputs {
		inputs = append(inputs, Input{Name: in.URL, Type: in.Type, Open: m.fetcher(in.URL)})
	}
	j.setProgress("starting")
	m.run(j, jctx, func(ctx context.Context) ([]byte, error) { return m.runImport(ctx, j, inputs) })
	return j, nil
}

// saveUpload copies an uploaded body to path, up to MaxUpload.
func (m *Manager) saveUpload(path string, r io.Reader) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return fhir.Wrap(fhir.Internal, err, "save upload")
	}
	n, err := io.Copy(f, io.LimitReader(r, m.o.MaxUpload+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) || n > m.o.MaxUpload {
			return fhir.E(fhir.TooLarge, "the upload is larger than %d bytes", m.o.MaxUpload)
		}
		return fhir.Wrap(fhir.Invalid, err, "cannot read the upload: %v", err)
	}
	if n > m.o.MaxUpload {
		return fhir.E(fhir.TooLarge, "the upload is larger than %d bytes", m.o.MaxUpload)
	}
	return nil
}

// fetcher opens an input URL, following redirects only within the
// allow-list.
func (m *Manager) fetcher(u string) func(context.Context) (io.ReadCloser, error) {
	return func(ctx context.Context) (io.ReadCloser, error) {
		c := *m.o.Client
		c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return errors.New("too many redirects")
			}
			if !m.Allowed(req.URL.String()) {
				return fmt.Errorf("redirected to %s, which is not on the list of sources", req.URL.Redacted())
			}
			return nil
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Accept", "application/fhir+ndjson")
		resp, err := c.Do(req)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return nil, fmt.Errorf("GET %s: %s", u, resp.Status)
		}
		return resp.Body, nil
	}
}

// runImport imports inputs for j, writing each input's rejections as
// OperationOutcomes as they come, and returns the manifest.
func (m *Manager) runImport(ctx context.Context, j *Job, inputs []Input) ([]byte, error) {
	type rejects struct {
		f *os.File
		w *Writer
	}
	files := make([]*rejects, len(inputs))
	var werr error
	defer func() {
		for _, r := range files {
			if r != nil {
				r.f.Close()
			}
		}
	}()
	start := fhir.Now()
	res, err := Import(ctx, m.svc, inputs, ImportOptions{
		Batch:  m.o.Batch,
		Access: m.o.Access,
		Rejected: func(r Reject) {
			rf := files[r.Input]
			if rf == nil {
				f, err := os.Create(filepath.Join(j.dir, fmt.Sprintf("rejected-%d.ndjson", r.Input+1)))
				if err != nil {
					werr = err
					return
				}
				rf = &rejects{f: f, w: NewWriter(f)}
				files[r.Input] = rf
			}
			b, err := fhir.Marshal(r.Outcome())
			if err == nil {
				err = rf.w.Write(b)
			}
			if err != nil && werr == nil {
				werr = err
			}
		},
		Progress: func(p ImportProgress) {
			s := fmt.Sprintf("%d resources loaded, %d rejected; reading input %d of %d", p.Loaded, p.Rejected, p.Input+1, len(inputs))
			if p.Size > 0 {
				s += fmt.Sprintf(" (%d%% of %d bytes)", 100*p.Bytes/p.Size, p.Size)
			}
			j.setProgress(s)
		},
	})
	if err != nil {
		return nil, err
	}
	for _, r := range files {
		if r != nil {
			if err := r.w.Flush(); err != nil && werr == nil {
				werr = err
			}
		}
	}
	if werr != nil {
		return nil, fhir.Wrap(fhir.Internal, werr, "write rejections")
	}
	mf := manifest{TransactionTime: fhir.FormatInstant(start), Request: j.Request, RequiresAccessToken: m.o.RequiresAccessToken, Output: []manifestFile{}, Error: []manifestFile{}}
	for i, in := range res.Inputs {
		loaded := in.LoadedTotal()
		name := fmt.Sprintf("loaded-%d.ndjson", i+1)
		if err := writeSummary(filepath.Join(j.dir, name), &in); err != nil {
			return nil, fhir.Wrap(fhir.Internal, err, "write summary")
		}
		byType := map[string]any{}
		for t, n := range in.Loaded {
			byType[t] = n
		}
		mf.Output = append(mf.Output, manifestFile{Type: "OperationOutcome", URL: j.fileURL(name), Count: &loaded, InputURL: in.Name,
			Extension: map[string]any{"loaded": byType, "rejected": in.Rejected}})
		if in.Rejected > 0 {
			n := in.Rejected
			mf.Error = append(mf.Error, manifestFile{Type: "OperationOutcome", URL: j.fileURL(fmt.Sprintf("rejected-%d.ndjson", i+1)), Count: &n, InputURL: in.Name})
		}
	}
	return json.Marshal(mf)
}

// writeSummary writes one informational OperationOutcome saying what an
// input loaded.
func writeSummary(path string, in *InputResult) error {
	oo := &fhir.OperationOutcome{ResourceType: "OperationOutcome"}
	for _, t := range sortedKeys(in.Loaded) {
		oo.Issue = append(oo.Issue, fhir.OutcomeIssue{Severity: "information", Code: "informational", Diagnostics: fmt.Sprintf("%s: %d %s loaded", in.Name, in.Loaded[t], t)})
	}
	if in.Rejected > 0 {
		oo.Issue = append(oo.Issue, fhir.OutcomeIssue{Severity: "warning", Code: "processing", Diagnostics: fmt.Sprintf("%s: %d rejected (see the error file)", in.Name, in.Rejected)})
	}
	if len(oo.Issue) == 0 {
		oo.Issue = append(oo.Issue, fhir.OutcomeIssue{Severity: "information", Code: "informational", Diagnostics: in.Name + ": nothing to load"})
	}
	b, err := fhir.Marshal(oo)
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o640)
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
