package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"sort"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/sharedcare/sharedcare/internal/bulk"
	"github.com/sharedcare/sharedcare/internal/fhir"
	"github.com/sharedcare/sharedcare/internal/person"
	"github.com/sharedcare/sharedcare/internal/record"
	"github.com/sharedcare/sharedcare/internal/rest"
)

// runImport is `sharedcare import`: NDJSON and Bundle files loaded straight
// into the database, without a server, through the same validation and
// indexing as every write (internal/bulk).
func runImport(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		data, db, validation, searchIndex, cpuProfile, sourceODS string
		batch, workers, show                                     int
	)
	fs.StringVar(&data, "data", "./data", "data directory (holds the embedded database)")
	fs.StringVar(&db, "db", "", "database: empty for the embedded SQLite in --data, or a postgres:// URL")
	fs.StringVar(&validation, "validation", "strict", "strict or lenient, as the server runs")
	fs.StringVar(&searchIndex, "search-index", "all", "search parameters indexed: all or conditional; give the server's own setting")
	fs.IntVar(&batch, "batch", 5000, "resources per write transaction (larger is faster on a large load, and holds more in memory)")
	fs.IntVar(&workers, "workers", 0, "goroutines validating and indexing (default GOMAXPROCS)")
	fs.IntVar(&show, "show", 20, "rejections listed in full; the rest are counted")
	fs.StringVar(&sourceODS, "source-ods", "", "ODS code of the organisation the loaded resources are attributed to (default: each resource's own ODS meta.source, if any)")
	fs.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the import to this file (go tool pprof)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, `usage: sharedcare import [flags] FILE|DIR...

Loads FHIR resources into the database directly (no server needed; one may run
beside it): NDJSON files (*.ndjson, *.ndjson.gz; one resource a line, as a bulk
export writes them) and JSON files (*.json: a resource, or a Bundle). Directories
are read for those files, recursively, in name order.

Every resource is a PUT of its own id (created, or a new version), validated and
indexed as any write. A collection Bundle, and a transaction or batch Bundle of
plain PUTs (the generator's: sharedcare synth), are taken apart into their
resources; other transactions and batches run as they are. Rejected lines are
listed with their line number and why; the rest load. Exit status 1 if anything
was rejected.

flags:`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := envDefaults(fs, getenv); err != nil {
		fmt.Fprintln(stderr, "sharedcare import:", err)
		return 2
	}
	scope, err := parseScope(searchIndex)
	if err != nil {
		fmt.Fprintln(stderr, "sharedcare import:", err)
		return 2
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "sharedcare import: name the files or directories to import")
		return 2
	}
	inputs, err := importInputs(fs.Args())
	if err != nil {
		fmt.Fprintln(stderr, "sharedcare import:", err)
		return 2
	}
	if len(inputs) == 0 {
		fmt.Fprintln(stderr, "sharedcare import: no .ndjson, .ndjson.gz or .json files there")
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	st, err := openStore(ctx, data, db)
	if err != nil {
		fmt.Fprintln(stderr, "sharedcare import: open store:", err)
		return 1
	}
	defer st.Close()
	svc, err := newService(st, validation)
	if err != nil {
		fmt.Fprintln(stderr, "sharedcare import:", err)
		return 2
	}
	svc.IndexScope = scope
	// As serve does: a new database records its index generation, so what
	// is loaded counts as indexed; a stale type is rebuilt meanwhile (and
	// by the next serve, if this ends first).
	rctx, stopReindex := context.WithCancel(ctx)
	waitReindex, err := svc.StartReindex(rctx, record.ReindexOptions{Log: newLogger(stderr, "warn", "text")})
	if err != nil {
		stopReindex()
		fmt.Fprintln(stderr, "sharedcare import: search index:", err)
		return 1
	}
	defer func() {
		stopReindex()
		waitReindex()
	}()

	// One person, one record, as serve does: imported Patients are linked
	// to persons (Close waits until every one is).
	persons := person.New(svc, nil, newLogger(stderr, "warn", "text"))
	if err := persons.Start(ctx); err != nil {
		fmt.Fprintln(stderr, "sharedcare import:", err)
		return 1
	}
	defer persons.Close()
	if sourceODS != "" {
		ods, err := record.ParseODS(sourceODS)
		if err != nil {
			fmt.Fprintln(stderr, "sharedcare import: --source-ods:", err)
			return 2
		}
		ctx = record.WithSource(ctx, record.Source{ODS: ods})
	}

	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			fmt.Fprintln(stderr, "sharedcare import:", err)
			return 2
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(stderr, "sharedcare import:", err)
			return 2
		}
		defer pprof.StopCPUProfile()
	}
	bar := newBar(stderr)
	res, err := bulk.Import(ctx, svc, inputs, bulk.ImportOptions{
		Batch: batch, Workers: workers, Bundles: true, KeepRejects: max(show, 1),
		Progress: func(p bulk.ImportProgress) {
			bar.draw(p.Bytes, p.Size, fmt.Sprintf("%d loaded, %d rejected, %.0f/s", p.Loaded, p.Rejected, float64(p.Loaded)/max(p.Elapsed.Seconds(), 1e-9)))
		},
	})
	bar.clear()
	printImport(stdout, res, show)
	if err != nil {
		fmt.Fprintln(stderr, "sharedcare import: stopped:", err)
		return 1
	}
	if res.Rejected() > 0 {
		return 1
	}
	return 0
}

// importInputs lists the files to read, directories expanded.
func importInputs(args []string) ([]bulk.Input, error) {
	var inputs []bulk.Input
	add := func(path string, size int64) {
		format := bulk.NDJSON
		if strings.HasSuffix(path, ".json") {
			format = bulk.JSON
		}
		inputs = append(inputs, bulk.Input{Name: path, Format: format, Size: size, Open: func(context.Context) (io.ReadCloser, error) { return os.Open(path) }})
	}
	for _, a := range args {
		fi, err := os.Stat(a)
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			if !importable(a) {
				return nil, fmt.Errorf("%s: not .ndjson, .ndjson.gz or .json", a)
			}
			add(a, fi.Size())
			continue
		}
		var paths []string
		sizes := map[string]int64{}
		err = filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.Type().IsRegular() && importable(p) {
				info, err := d.Info()
				if err != nil {
					return err
				}
				paths = append(paths, p)
				sizes[p] = info.Size()
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		sort.Strings(paths)
		for _, p := range paths {
			add(p, sizes[p])
		}
	}
	return inputs, nil
}

func importable(path string) bool {
	for _, ext := range []string{".ndjson", ".ndjson.gz", ".json"} {
		if strings.HasSuffix(path, ext) {
			return true
		}
	}
	return false
}

// printImport writes the summary: what loaded, by type; what was rejected,
// where and why; the time and the rate.
func printImport(w io.Writer, res *bulk.ImportResult, show int) {
	secs := res.Elapsed.Seconds()
	fmt.Fprintf(w, "imported %d resources in %.1f s: %.0f resources/s (%.1f s in write transactions)\n",
		res.Loaded(), secs, float64(res.Loaded())/max(secs, 1e-9), res.Writing.Seconds())
	if len(res.Types()) > 0 {
		tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', tabwriter.AlignRight)
		by := res.ByType()
		for _, t := range res.Types() {
			fmt.Fprintf(tw, "  %s\t%d\t\n", t, by[t])
		}
		tw.Flush()
	}
	n := res.Rejected()
	if n == 0 {
		return
	}
	fmt.Fprintf(w, "rejected %d:\n", n)
	shown := 0
	for _, in := range res.Inputs {
		for _, r := range in.Rejects {
			if shown >= show {
				break
			}
			shown++
			fmt.Fprintf(w, "  %s %s: %s\n", in.Name, rejectWhere(r), rejectWhy(r.Err))
		}
	}
	if int64(shown) < n {
		fmt.Fprintf(w, "  and %d more\n", n-int64(shown))
	}
}

func rejectWhere(r bulk.Reject) string {
	s := r.Where()
	if r.Type != "" && r.ID != "" {
		s += " (" + r.Type + "/" + r.ID + ")"
	}
	return s
}

// rejectWhy says why in one line: the message, and the validator's first
// issues with where they are.
func rejectWhy(err error) string {
	var fe *fhir.Error
	if !errors.As(err, &fe) {
		return err.Error()
	}
	oo := fhir.Outcome(err)
	var parts []string
	for i, is := range oo.Issue {
		if i == 4 {
			parts = append(parts, fmt.Sprintf("(%d more)", len(oo.Issue)-i))
			break
		}
		s := is.Diagnostics
		if len(is.Expression) > 0 && !strings.Contains(s, is.Expression[0]) {
			s += " at " + strings.Join(is.Expression, ", ")
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

// bar draws a progress bar on a terminal, redrawn at most ten times a
// second, and nothing elsewhere.
type bar struct {
	w    io.Writer
	tty  bool
	last time.Time
	drew bool
}

func newBar(w io.Writer) *bar {
	tty := false
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	return &bar{w: w, tty: tty}
}

// draw shows done of total (a bar, when total is known) and a note.
func (b *bar) draw(done, total int64, note string) {
	if !b.tty || time.Since(b.last) < 100*time.Millisecond {
		return
	}
	b.last = time.Now()
	const width = 30
	line := note
	if total > 0 {
		n := int(min(width, width*done/total))
		line = fmt.Sprintf("[%s%s] %3d%% %s", strings.Repeat("#", n), strings.Repeat(".", width-n), min(100, 100*done/total), note)
	}
	fmt.Fprintf(b.w, "\r\x1b[K%s", line)
	b.drew = true
}

// clear removes the bar before the summary.
func (b *bar) clear() {
	if b.drew {
		fmt.Fprint(b.w, "\r\x1b[K")
	}
}

// newBulk makes serve's bulk job manager: files in --bulk-dir (default
// DATA/bulk), inputs fetched only from --bulk-allow.
func newBulk(svc *record.Service, c serveConfig, log *slog.Logger) (*bulk.Manager, error) {
	dir := c.bulkDir
	if dir == "" {
		dir = filepath.Join(c.data, "bulk")
	}
	var allow []string
	for _, p := range strings.Split(c.bulkAllow, ",") {
		if p = strings.TrimSpace(p); p != "" {
			allow = append(allow, p)
		}
	}
	return bulk.NewManager(svc, bulk.Options{Dir: dir, AllowURLs: allow, Log: log, Access: rest.SecondaryUse(svc)})
}
