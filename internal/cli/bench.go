package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/sharedcare/sharedcare/internal/bench"
	"github.com/sharedcare/sharedcare/internal/synth"
)

// benchWorkloads are the workloads in the order they run: the load first,
// the CRUD mix (the only other writer) last.
var benchWorkloads = []string{"ingest", "read", "search", "everything", "crud"}

type benchConfig struct {
	url, workloads, dir, first, jsonFile, token, params string
	concurrency, requests, synthPatients                int
	synthSeed                                           int64
	duration, warmup                                    time.Duration
}

// runBench measures a FHIR server over HTTP (this one or any other) with
// the workloads of internal/bench, prints a table and optionally writes
// JSON. It exits 1 when any request failed.
func runBench(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c benchConfig
	fs.StringVar(&c.url, "url", "http://127.0.0.1:8080/fhir", "FHIR base URL of the server to measure (sharedcare or any other)")
	fs.StringVar(&c.workloads, "workloads", strings.Join(benchWorkloads, ","), "workloads to run, comma-separated: "+strings.Join(benchWorkloads, ", ")+" (they run in that order)")
	fs.StringVar(&c.dir, "dir", "", "ingest source: directories or files of transaction Bundles, *.json (a Bundle each), *.ndjson (a Bundle a line), .tar.gz/.tgz/.zip archives of them; several, comma-separated, are data sets loaded one after the other; without it ingest is skipped")
	fs.IntVar(&c.synthPatients, "synth", 0, "ingest source: the generator's bundles for this many people (sharedcare synth), instead of --dir")
	fs.Int64Var(&c.synthSeed, "seed", 1, "the generator's seed, with --synth")
	fs.StringVar(&c.first, "first", strings.Join(bench.DefaultFirst, ","), "file names in --dir loaded first, before any other Bundle (comma-separated)")
	fs.IntVar(&c.concurrency, "concurrency", bench.DefaultConcurrency(), "concurrent workers (virtual users), each with one request in flight")
	fs.DurationVar(&c.duration, "duration", 30*time.Second, "measured time of each workload (the search mix shares it among its queries; ingest loads the whole source); 0: bounded by --requests only")
	fs.IntVar(&c.requests, "requests", 0, "bound each workload (each search query) to this many requests as well; 0: no bound")
	fs.DurationVar(&c.warmup, "warmup", 5*time.Second, "untimed run before each workload but ingest (shared among the search queries)")
	fs.StringVar(&c.jsonFile, "json", "", "also write the results and the environment to this JSON file")
	fs.StringVar(&c.token, "token", "", "bearer token sent with every request (Authorization: Bearer)")
	fs.StringVar(&c.params, "params", "", "search mix values from this JSON file (a --json report of an earlier run, or its search_params), so two servers run the same queries; the rest are discovered")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: sharedcare bench --url http://127.0.0.1:8080/fhir [flags]\n\nMeasures a FHIR R4 server over HTTP: ingest of transaction Bundles, read by id, the search\nmix, Patient/$everything and a create/read/update/delete mix. See docs/BENCH.md.\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := envDefaults(fs, getenv); err != nil {
		fmt.Fprintln(stderr, "sharedcare bench:", err)
		return 2
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	selected, err := c.selected(given["workloads"] || getenv("SHAREDCARE_WORKLOADS") != "")
	if err != nil {
		fmt.Fprintln(stderr, "sharedcare bench:", err)
		return 2
	}
	if c.duration <= 0 && c.requests <= 0 {
		fmt.Fprintln(stderr, "sharedcare bench: give a --duration or --requests")
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	report, err := c.run(ctx, selected, append([]string{"sharedcare", "bench"}, args...), stderr)
	if report != nil {
		report.Environment.LoadEnd = bench.LoadAverage()
		report.WriteTable(stdout)
		if c.jsonFile != "" {
			if werr := writeReport(c.jsonFile, report); werr != nil {
				fmt.Fprintln(stderr, "sharedcare bench:", werr)
				return 1
			}
		}
		if err == nil {
			err = report.Err()
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, "sharedcare bench:", err)
		return 1
	}
	return 0
}

// selected is the workloads to run, in their order; ingest is left out
// when there is nothing to load, unless it was asked for by name.
func (c *benchConfig) selected(explicit bool) ([]string, error) {
	var out []string
	for _, w := range strings.Split(c.workloads, ",") {
		w = strings.TrimSpace(w)
		if w == "" {
			continue
		}
		if !slices.Contains(benchWorkloads, w) {
			return nil, fmt.Errorf("unknown workload %q (have %s)", w, strings.Join(benchWorkloads, ", "))
		}
		if !slices.Contains(out, w) {
			out = append(out, w)
		}
	}
	if c.dir != "" && c.synthPatients > 0 {
		return nil, errors.New("give --dir or --synth, not both")
	}
	if slices.Contains(out, "ingest") && c.dir == "" && c.synthPatients == 0 {
		if explicit {
			return nil, errors.New("ingest needs a source: give --dir or --synth")
		}
		out = slices.DeleteFunc(out, func(w string) bool { return w == "ingest" })
	}
	if len(out) == 0 {
		return nil, errors.New("no workload to run")
	}
	slices.SortFunc(out, func(a, b string) int { return slices.Index(benchWorkloads, a) - slices.Index(benchWorkloads, b) })
	return out, nil
}

// run runs the workloads and returns what they measured, even when an
// error stops it part way.
func (c *benchConfig) run(ctx context.Context, workloads, command []string, stderr io.Writer) (*bench.Report, error) {
	client := bench.NewClient(c.url, c.token, c.concurrency)
	defer client.Close()
	report := &bench.Report{Environment: bench.NewEnvironment(c.url, command, c.concurrency)}
	software, err := client.Software(ctx)
	if err != nil {
		return nil, err
	}
	report.Environment.Server = software
	progress := func(format string, args ...any) {
		fmt.Fprintf(stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
	}
	progress("measuring %s (%s), %d workers", c.url, software, c.concurrency)
	o := bench.Options{Concurrency: c.concurrency, Duration: c.duration, Requests: c.requests, Warmup: c.warmup}
	add := func(rs ...bench.Result) {
		report.Results = append(report.Results, rs...)
		for _, r := range rs {
			rate := fmt.Sprintf("%.0f req/s", r.RequestsPerSecond)
			if r.Resources > 0 {
				rate = fmt.Sprintf("%.0f res/s", r.ResourcesPerSecond)
			}
			progress("%s: %d requests, %s, p99 %.2f ms, %d errors", r.Workload, r.Requests, rate, r.P99, r.Errors)
		}
	}
	for _, w := range workloads {
		if ctx.Err() != nil {
			return report, ctx.Err()
		}
		progress("%s…", w)
		switch w {
		case "ingest":
			if c.synthPatients > 0 {
				src, err := newSynthSource(ctx, c.synthSeed, c.synthPatients)
				if err != nil {
					return report, err
				}
				res, err := bench.Ingest(ctx, client, src, o)
				src.close()
				add(res)
				if err != nil {
					return report, err
				}
				continue
			}
			src, err := bench.OpenDir(bench.DirOptions{First: splitList(c.first)}, splitList(c.dir)...)
			if err != nil {
				return report, err
			}
			res, err := bench.Ingest(ctx, client, src, o)
			src.Close()
			report.Skipped = src.Skipped
			for _, s := range src.Skipped {
				progress("ingest: skipped %s: holds no transaction or batch Bundle", s)
			}
			add(res)
			if err != nil {
				return report, err
			}
		case "read":
			res, err := bench.Read(ctx, client, o)
			if err != nil {
				return report, err
			}
			add(res)
		case "search":
			p, err := c.searchParams()
			if err != nil {
				return report, err
			}
			if p, err = bench.Discover(ctx, client, p); err != nil {
				return report, err
			}
			report.SearchParams = &p
			progress("search values: %+v", p)
			// The duration and warm-up are the mix's, shared by its queries.
			qo := o
			n := time.Duration(len(bench.SearchMix(p)))
			qo.Duration, qo.Warmup = o.Duration/n, o.Warmup/n
			rs, err := bench.Search(ctx, client, p, qo)
			add(rs...)
			if err != nil {
				return report, err
			}
		case "everything":
			res, err := bench.Everything(ctx, client, o)
			if err != nil {
				return report, err
			}
			add(res)
		case "crud":
			rs, err := bench.CRUD(ctx, client, o)
			if err != nil {
				return report, err
			}
			add(rs...)
		}
	}
	return report, nil
}

// searchParams reads --params: a report written by --json, or the
// search_params object alone.
func (c *benchConfig) searchParams() (bench.SearchParams, error) {
	var p bench.SearchParams
	if c.params == "" {
		return p, nil
	}
	raw, err := os.ReadFile(c.params)
	if err != nil {
		return p, err
	}
	var r struct {
		SearchParams *bench.SearchParams `json:"search_params"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return p, fmt.Errorf("%s: %v", c.params, err)
	}
	if r.SearchParams != nil {
		return *r.SearchParams, nil
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return p, fmt.Errorf("%s: %v", c.params, err)
	}
	return p, nil
}

func writeReport(name string, r *bench.Report) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if err := r.WriteJSON(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

// synthSource is the generator as an ingest source: the reference bundle
// alone in the first phase, then everyone's bundles, generated as they are
// sent.
type synthSource struct {
	ref    []byte
	refN   int
	sent   bool
	ch     chan synth.Bundle
	errc   chan error
	cancel context.CancelFunc
}

func newSynthSource(ctx context.Context, seed int64, patients int) (*synthSource, error) {
	g, err := synth.New(synth.Config{Seed: seed, Patients: patients})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	s := &synthSource{ref: g.Reference(), refN: g.ReferenceResources(), ch: make(chan synth.Bundle, 256), errc: make(chan error, 1), cancel: cancel}
	go func() {
		defer close(s.ch)
		s.errc <- g.People(ctx, runtime.GOMAXPROCS(0), func(p synth.Person) error {
			for _, b := range p.Bundles {
				select {
				case s.ch <- b:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			return nil
		})
	}()
	return s, nil
}

func (s *synthSource) Next() (bench.Bundle, error) {
	if !s.sent {
		s.sent = true
		return bench.Bundle{Name: "reference", JSON: s.ref, Resources: s.refN, Phase: 0}, nil
	}
	b, ok := <-s.ch
	if !ok {
		if err := <-s.errc; err != nil {
			return bench.Bundle{}, err
		}
		s.errc <- nil // a later Next sees the end again
		return bench.Bundle{}, io.EOF
	}
	return bench.Bundle{Name: "synth " + b.Source, JSON: b.JSON, Resources: b.Resources, Phase: 1}, nil
}

func (s *synthSource) close() { s.cancel() }
