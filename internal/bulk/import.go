package bulk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sharedcare/sharedcare/internal/fhir"
	"github.com/sharedcare/sharedcare/internal/record"
)

// DefaultBatch is how many resources one write transaction of an import
// stores. Measured on SQLite (docs/BULK.md): past a few hundred the
// per-transaction costs (commit, fsync, the current-version lookup) are
// spread thin, and past a few thousand a batch only holds the writer, and
// memory, longer.
const DefaultBatch = 2000

// Format is how an input is laid out.
type Format int

const (
	NDJSON Format = iota // one resource a line (gzip allowed)
	JSON                 // one JSON document: a resource, or a Bundle with Options.Bundles
)

// Input is one source of resources to import.
type Input struct {
	// Name is what reports call it: a file name or a URL.
	Name string
	// Type, if set, is the resource type every resource of the input must
	// be.
	Type   string
	Format Format
	// Open opens the stream; Import closes it.
	Open func(ctx context.Context) (io.ReadCloser, error)
	// Size is the stream's length in bytes if known (progress), else 0.
	Size int64
}

// ImportOptions tune an import. The zero value is the default.
type ImportOptions struct {
	// Batch is how many resources one write transaction stores
	// (DefaultBatch).
	Batch int
	// Workers is how many goroutines stage resources (GOMAXPROCS).
	Workers int
	// MaxLine bounds one line (DefaultMaxLine).
	MaxLine int
	// Bundles takes apart a resource that is a Bundle of type
	// transaction, batch or collection instead of storing it as a Bundle
	// resource (see bundle.go): what the command line does with Bundle
	// files and the generator's NDJSON of Bundles. The API stores what it
	// is sent, one resource a line.
	Bundles bool
	// MaxDeferred bounds how many resources with conditional references
	// wait for the end of the import (default 100,000); past it they are
	// written as they come, and may then miss a target that comes later.
	MaxDeferred int
	// Access sees every resource before it is written.
	Access Access
	// Rejected, if set, receives every rejection as it is found.
	Rejected func(Reject)
	// KeepRejects is how many rejections per input the result keeps in
	// full (default 20); all are counted.
	KeepRejects int
	// Progress, if set, is called after each write transaction.
	Progress func(ImportProgress)
}

func (o ImportOptions) withDefaults() ImportOptions {
	if o.Batch <= 0 {
		o.Batch = DefaultBatch
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.MaxDeferred <= 0 {
		o.MaxDeferred = 100_000
	}
	if o.KeepRejects <= 0 {
		o.KeepRejects = 20
	}
	return o
}

// Reject is a resource, line or input that was not loaded.
type Reject struct {
	Input int // index of the input
	// Line is the line number, from 1 (1 for a JSON input); 0 when the
	// whole input failed.
	Line int
	// Entry is the Bundle entry, from 1, when the line was a Bundle
	// taken apart; 0 otherwise.
	Entry int
	Type  string // resourceType, when known
	ID    string // id, when known
	Err   error
}

// Where says where the rejection is: "line 12", "line 3, entry 7".
func (r Reject) Where() string {
	switch {
	case r.Line == 0:
		return "input"
	case r.Entry > 0:
		return fmt.Sprintf("line %d, entry %d", r.Line, r.Entry)
	}
	return fmt.Sprintf("line %d", r.Line)
}

// Outcome is the rejection as an OperationOutcome: where and why first,
// then the validator's issues.
func (r Reject) Outcome() *fhir.OperationOutcome {
	oo := fhir.Outcome(r.Err)
	if len(oo.Issue) > 0 {
		what := r.Where()
		if r.Type != "" && r.ID != "" {
			what += " (" + r.Type + "/" + r.ID + ")"
		}
		oo.Issue[0].Diagnostics = what + ": " + oo.Issue[0].Diagnostics
	}
	return oo
}

// InputResult is what became of one input.
type InputResult struct {
	Name, Type string
	// Loaded counts the resources written, by type.
	Loaded   map[string]int64
	Rejected int64
	// Rejects are the first rejections (ImportOptions.KeepRejects).
	Rejects []Reject
	// Err is set when the input could not be read to its end (not found,
	// not gzip, a broken connection); what was read before is loaded.
	Err error
}

// LoadedTotal is the number of resources written from the input.
func (r *InputResult) LoadedTotal() int64 {
	var n int64
	for _, c := range r.Loaded {
		n += c
	}
	return n
}

// ImportResult is what an import did.
type ImportResult struct {
	Inputs  []InputResult
	Elapsed time.Duration
	// Writing is the time the writer spent in write transactions: the
	// part of Elapsed no other core can share.
	Writing time.Duration
}

// Loaded is the number of resources written.
func (r *ImportResult) Loaded() int64 {
	var n int64
	for i := range r.Inputs {
		n += r.Inputs[i].LoadedTotal()
	}
	return n
}

// Rejected is the number of rejections.
func (r *ImportResult) Rejected() int64 {
	var n int64
	for i := range r.Inputs {
		n += r.Inputs[i].Rejected
	}
	return n
}

// ByType counts the resources written, by type, over every input.
func (r *ImportResult) ByType() map[string]int64 {
	m := map[string]int64{}
	for i := range r.Inputs {
		for t, n := range r.Inputs[i].Loaded {
			m[t] += n
		}
	}
	return m
}

// Types is ByType's keys, sorted.
func (r *ImportResult) Types() []string {
	m := r.ByType()
	ts := make([]string, 0, len(m))
	for t := range m {
		ts = append(ts, t)
	}
	sort.Strings(ts)
	return ts
}

// ImportProgress is how far an import is.
type ImportProgress struct {
	Input  int   // the input being read
	Lines  int64 // lines (documents) read
	Loaded int64
	// Rejected counts rejections so far.
	Rejected int64
	// Bytes read of every input so far; Size their total, if every
	// input's is known (else 0).
	Bytes, Size int64
	Elapsed     time.Duration
}

// Import loads inputs into svc: each resource a PUT of its own id (created,
// or a new version), validated and indexed as any write. Resources are
// staged on Workers goroutines and written by one writer in transactions of
// Batch. Inputs are read one after the other; a resource that appears more
// than once ends at its last version.
//
// A resource that fails (bad JSON, no id, not valid, refused by Access, not
// the input's type) is a Reject and the rest load. Resources with
// conditional references are written after all the others, so that what
// they refer to is there whatever the order of the input. The error is for
// what stops the whole import: the store's failure, or ctx ending; the
// result then says what was loaded.
func Import(ctx context.Context, svc *record.Service, inputs []Input, o ImportOptions) (*ImportResult, error) {
	o = o.withDefaults()
	im := &importer{svc: svc, o: o, inputs: inputs, start: time.Now()}
	im.res.Inputs = make([]InputResult, len(inputs))
	for i, in := range inputs {
		im.res.Inputs[i] = InputResult{Name: in.Name, Type: in.Type, Loaded: map[string]int64{}}
		if in.Size > 0 && im.size >= 0 {
			im.size += in.Size
		} else {
			im.size = -1
		}
	}
	err := im.run(ctx)
	im.res.Elapsed = time.Since(im.start)
	return &im.res, err
}

type importer struct {
	svc    *record.Service
	o      ImportOptions
	inputs []Input
	start  time.Time
	size   int64 // -1: unknown

	// progress, updated by the reader and the writer
	input  atomic.Int64
	lines  atomic.Int64
	bytes  atomic.Int64
	doneIn atomic.Int64 // bytes of the inputs already read whole

	mu  sync.Mutex // guards res
	res ImportResult
}

// item is one line (or JSON document) read, and what staging made of it.
type item struct {
	input, line int
	data        []byte
	err         error // the line could not be read
}

// staged is one resource ready to write, or a Bundle to run as it is, or a
// rejection.
type staged struct {
	input, line, entry int
	st                 *record.Staged
	bundle             []byte // a transaction or batch for record.Service.Bundle
	reject             *Reject
}

type chunk struct {
	items []item
	out   []staged
	done  chan struct{}
}

// write is one unit of work for the writer: a batch, or a Bundle.
type write struct {
	batch []staged
}

// A chunk of lines goes to a staging worker once it has chunkLines lines
// or chunkBytes bytes: lines may be whole Bundles of dozens of resources
// (the generator's), and what is staged ahead of the writer must stay
// bounded in memory.
const (
	chunkLines = 128
	chunkBytes = 256 << 10
)

func (im *importer) run(ctx context.Context) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	work := make(chan *chunk)
	ordered := make(chan *chunk, 4*im.o.Workers)
	writes := make(chan write, 1)
	var wg sync.WaitGroup
	for range im.o.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range work {
				im.stageChunk(ctx, c)
				close(c.done)
			}
		}()
	}
	// The reader: inputs in order, lines in order, in chunks.
	go func() {
		defer close(ordered)
		defer close(work)
		im.read(ctx, func(c *chunk) bool {
			c.done = make(chan struct{})
			select {
			case ordered <- c:
			case <-ctx.Done():
				return false
			}
			select {
			case work <- c:
			case <-ctx.Done():
				close(c.done)
				return false
			}
			return true
		})
	}()
	// The writer.
	werr := make(chan error, 1)
	go func() {
		var err error
		for w := range writes {
			if err != nil {
				continue // drain
			}
			if err = im.write(ctx, w); err != nil {
				cancel(err)
			}
		}
		werr <- err
	}()
	// The assembler: staged resources in input order into batches; the
	// deferred ones (conditional references) kept for the end.
	var batch, deferred []staged
	send := func(w write) bool {
		select {
		case writes <- w:
			return true
		case <-ctx.Done():
			return false
		}
	}
	ok := true
	for c := range ordered {
		<-c.done
		if !ok {
			continue
		}
		for _, s := range c.out {
			switch {
			case s.reject != nil:
				im.reject(*s.reject)
			case s.bundle != nil:
				// A Bundle runs on its own, in its place in the order.
				if len(batch) > 0 {
					ok = ok && send(write{batch: batch})
					batch = nil
				}
				ok = ok && send(write{batch: []staged{s}})
			case s.st.Deferred() && len(deferred) < im.o.MaxDeferred:
				deferred = append(deferred, s)
			default:
				batch = append(batch, s)
				if len(batch) >= im.o.Batch {
					ok = ok && send(write{batch: batch})
					batch = nil
				}
			}
		}
	}
	if ok && len(batch) > 0 {
		ok = send(write{batch: batch})
	}
	for ok && len(deferred) > 0 {
		n := min(len(deferred), im.o.Batch)
		ok = send(write{batch: deferred[:n]})
		deferred = deferred[n:]
	}
	close(writes)
	wg.Wait()
	err := <-werr
	if err == nil {
		err = context.Cause(ctx)
		if errors.Is(err, context.Canceled) && ctx.Err() != nil {
			err = ctx.Err()
		}
	}
	return err
}

// read reads every input, handing chunks of lines to emit until it says
// stop.
func (im *importer) read(ctx context.Context, emit func(*chunk) bool) {
	for i, in := range im.inputs {
		im.input.Store(int64(i))
		ok, err := im.readInput(ctx, i, in, emit)
		if err != nil && ctx.Err() == nil {
			im.mu.Lock()
			im.res.Inputs[i].Err = err
			im.mu.Unlock()
			im.reject(Reject{Input: i, Err: fhir.Wrap(fhir.Invalid, err, "%s could not be read: %v", in.Name, err)})
		}
		if in.Size > 0 {
			im.doneIn.Add(in.Size)
			im.bytes.Store(im.doneIn.Load())
		}
		if !ok {
			return
		}
	}
}

// readInput reads one input; ok false means stop reading altogether.
func (im *importer) readInput(ctx context.Context, i int, in Input, emit func(*chunk) bool) (ok bool, err error) {
	rc, err := in.Open(ctx)
	if err != nil {
		return true, err
	}
	defer rc.Close()
	if in.Format == JSON {
		data, err := io.ReadAll(rc)
		if err != nil {
			return true, err
		}
		im.lines.Add(1)
		return emit(&chunk{items: []item{{input: i, line: 1, data: data}}}), nil
	}
	rd, err := NewReader(rc, im.o.MaxLine)
	if err != nil {
		return true, err
	}
	defer rd.Close()
	c := &chunk{}
	size := 0
	for {
		line, n, err := rd.Next()
		if err == io.EOF {
			break
		}
		var le *LineError
		switch {
		case errors.As(err, &le):
			c.items = append(c.items, item{input: i, line: n, err: le.Err})
		case err != nil:
			if len(c.items) > 0 && !emit(c) {
				return false, nil
			}
			return true, err
		default:
			c.items = append(c.items, item{input: i, line: n, data: append([]byte(nil), line...)})
			size += len(line)
		}
		im.lines.Add(1)
		if len(c.items) >= chunkLines || size >= chunkBytes {
			if in.Size > 0 {
				im.bytes.Store(im.doneIn.Load() + rd.Offset())
			}
			if !emit(c) {
				return false, nil
			}
			c, size = &chunk{}, 0
		}
	}
	if len(c.items) > 0 {
		return emit(c), nil
	}
	return true, nil
}

// stageChunk turns a chunk's lines into staged resources: decoded,
// checked, validated, serialised and indexed, on a worker.
func (im *importer) stageChunk(ctx context.Context, c *chunk) {
	c.out = make([]staged, 0, len(c.items))
	for _, it := range c.items {
		if ctx.Err() != nil {
			return
		}
		if it.err != nil {
			c.out = append(c.out, staged{reject: &Reject{Input: it.input, Line: it.line, Err: fhir.Wrap(fhir.Invalid, it.err, "%v", it.err)}})
			continue
		}
		m, err := fhir.DecodeResource(it.data)
		if err != nil {
			c.out = append(c.out, staged{reject: &Reject{Input: it.input, Line: it.line, Err: notRequest(err, im.inputs[it.input].Format)}})
			continue
		}
		if im.o.Bundles && m["resourceType"] == "Bundle" {
			if out, ok := im.takeApart(ctx, it, m); ok {
				c.out = append(c.out, out...)
				continue
			}
		}
		c.out = append(c.out, im.stage(ctx, it.input, it.line, 0, m))
	}
}

// notRequest rewords the decoder's errors, which speak of a request body,
// for a line or a file.
func notRequest(err error, f Format) error {
	var fe *fhir.Error
	if !errors.As(err, &fe) || !strings.HasPrefix(fe.Msg, "request body ") {
		return err
	}
	c := *fe
	c.Msg = "the line " + strings.TrimPrefix(fe.Msg, "request body ")
	if f == JSON {
		c.Msg = "the file " + strings.TrimPrefix(fe.Msg, "request body ")
	}
	return &c
}

// stage stages one decoded resource.
func (im *importer) stage(ctx context.Context, input, line, entry int, m fhir.Object) staged {
	typ, _ := m["resourceType"].(string)
	id, _ := m["id"].(string)
	rej := func(err error) staged {
		return staged{reject: &Reject{Input: input, Line: line, Entry: entry, Type: typ, ID: id, Err: err}}
	}
	if want := im.inputs[input].Type; want != "" && typ != want {
		return rej(fhir.E(fhir.Invalid, "a %s in an input of type %s", typ, want))
	}
	st, err := im.svc.StageObject(ctx, m)
	if err != nil {
		return rej(err)
	}
	if err := check(ctx, im.o.Access, Write, Subject{Type: st.Type, ID: st.ID, Object: st.Object()}); err != nil {
		return rej(err)
	}
	return staged{input: input, line: line, entry: entry, st: st}
}

// write stores one batch (or runs one Bundle) and counts the outcome.
func (im *importer) write(ctx context.Context, w write) error {
	if len(w.batch) == 1 && w.batch[0].bundle != nil {
		return im.runBundle(ctx, w.batch[0])
	}
	sts := make([]*record.Staged, len(w.batch))
	for i, s := range w.batch {
		sts[i] = s.st
	}
	start := time.Now()
	res, err := im.svc.WriteStaged(ctx, sts)
	im.mu.Lock()
	im.res.Writing += time.Since(start)
	for i, r := range res {
		s := w.batch[i]
		switch {
		case r.Err == nil && (err == nil || r.Version > 0):
			im.res.Inputs[s.input].Loaded[s.st.Type]++
		case r.Err != nil && err == nil:
			im.rejectLocked(Reject{Input: s.input, Line: s.line, Entry: s.entry, Type: s.st.Type, ID: s.st.ID, Err: r.Err})
		}
	}
	im.mu.Unlock()
	if err != nil {
		return err
	}
	im.progress()
	return nil
}

func (im *importer) reject(r Reject) {
	im.mu.Lock()
	im.rejectLocked(r)
	im.mu.Unlock()
}

func (im *importer) rejectLocked(r Reject) {
	in := &im.res.Inputs[r.Input]
	in.Rejected++
	if len(in.Rejects) < im.o.KeepRejects {
		in.Rejects = append(in.Rejects, r)
	}
	if im.o.Rejected != nil {
		im.o.Rejected(r)
	}
}

func (im *importer) progress() {
	if im.o.Progress == nil {
		return
	}
	im.mu.Lock()
	p := ImportProgress{Input: int(im.input.Load()), Lines: im.lines.Load(), Bytes: im.bytes.Load(), Elapsed: time.Since(im.start)}
	for i := range im.res.Inputs {
		p.Loaded += im.res.Inputs[i].LoadedTotal()
		p.Rejected += im.res.Inputs[i].Rejected
	}
	im.mu.Unlock()
	if im.size > 0 {
		p.Size = im.size
	}
	im.o.Progress(p)
}
