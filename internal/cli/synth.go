package cli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"github.com/sharedcare/sharedcare/internal/synth"
)

// Output layout of a directory: the reference bundle, then people's
// bundles as NDJSON shards, and with --hl7 MLLP-framed messages per
// sending trust, also sharded, so a million people make dozens of files,
// not millions.
const (
	bundlesPerShard  = 10_000
	messagesPerShard = 100_000
)

func runSynth(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("synth", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		seed              int64
		patients, workers int
		out, now          string
		hl7               bool
	)
	fs.Int64Var(&seed, "seed", 1, "random seed: the same seed and patients give the same output")
	fs.IntVar(&patients, "patients", 1000, fmt.Sprintf("number of people, %d to %d", synth.MinPatients, synth.MaxPatients))
	fs.StringVar(&out, "out", "-", "output directory (created; must be empty), or - for NDJSON on stdout, the reference bundle first")
	fs.BoolVar(&hl7, "hl7", false, "send the acute trusts' hospital events as HL7 v2.4 messages (in DIR/hl7) instead of FHIR")
	fs.IntVar(&workers, "workers", runtime.GOMAXPROCS(0), "goroutines generating people")
	fs.StringVar(&now, "now", "", "the day histories end at, YYYY-MM-DD (default "+synth.DefaultNow.Format(time.DateOnly)+")")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: sharedcare synth [flags]\n\nGenerates a synthetic care system (South Yorkshire): a reference bundle of organisations,\nlocations and staff, then each person's records as FHIR R4 transaction Bundles, one per\norganisation holding a record. Deterministic for a seed. See docs/SYNTH.md.\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := envDefaults(fs, getenv); err != nil {
		fmt.Fprintln(stderr, "sharedcare synth:", err)
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "sharedcare synth: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	cfg := synth.Config{Seed: seed, Patients: patients, HL7: hl7}
	if now != "" {
		t, err := time.Parse(time.DateOnly, now)
		if err != nil {
			fmt.Fprintf(stderr, "sharedcare synth: --now %q: want YYYY-MM-DD\n", now)
			return 2
		}
		cfg.Now = t
	}
	toStdout := out == "-" || out == ""
	if toStdout && hl7 {
		fmt.Fprintln(stderr, "sharedcare synth: --hl7 writes files: give --out DIR")
		return 2
	}
	g, err := synth.New(cfg)
	if err != nil {
		fmt.Fprintln(stderr, "sharedcare synth:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var sink synthSink
	if toStdout {
		sink = &streamSink{w: bufio.NewWriterSize(stdout, 1<<20)}
	} else {
		d, err := newDirSink(out)
		if err != nil {
			fmt.Fprintln(stderr, "sharedcare synth:", err)
			return 1
		}
		sink = d
	}
	sum, err := generate(ctx, g, workers, sink)
	if cerr := sink.close(); err == nil {
		err = cerr
	}
	fmt.Fprintln(stderr, sum)
	if err != nil {
		fmt.Fprintln(stderr, "sharedcare synth:", err)
		return 1
	}
	return 0
}

type synthSummary struct {
	people, bundles, resources, reference, messages int
	elapsed                                         time.Duration
}

func (s synthSummary) String() string {
	sec := s.elapsed.Seconds()
	rate := 0.0
	if sec > 0 {
		rate = float64(s.resources) / sec
	}
	return fmt.Sprintf("synth: %d people, %d bundles, %d resources (and %d in the reference bundle), %d HL7 messages in %.2f s: %.0f resources/s",
		s.people, s.bundles, s.resources, s.reference, s.messages, sec, rate)
}

func generate(ctx context.Context, g *synth.Generator, workers int, sink synthSink) (synthSummary, error) {
	start := time.Now()
	sum := synthSummary{reference: g.ReferenceResources()}
	if err := sink.reference(g.Reference()); err != nil {
		sum.elapsed = time.Since(start)
		return sum, err
	}
	err := g.People(ctx, workers, func(p synth.Person) error {
		for _, b := range p.Bundles {
			if err := sink.bundle(b.JSON); err != nil {
				return err
			}
			sum.bundles++
			sum.resources += b.Resources
		}
		for _, m := range p.HL7 {
			if err := sink.message(m); err != nil {
				return err
			}
			sum.messages++
		}
		sum.people++
		return nil
	})
	sum.elapsed = time.Since(start)
	return sum, err
}

// synthSink is where generated output goes.
type synthSink interface {
	reference(b []byte) error
	bundle(b []byte) error
	message(m synth.Message) error
	close() error
}

// streamSink writes NDJSON to one stream.
type streamSink struct{ w *bufio.Writer }

func (s *streamSink) reference(b []byte) error { return s.bundle(b) }

func (s *streamSink) bundle(b []byte) error {
	s.w.Write(b)
	return s.w.WriteByte('\n')
}

func (s *streamSink) message(synth.Message) error { return errors.New("HL7 messages need a directory") }

func (s *streamSink) close() error { return s.w.Flush() }

// dirSink writes the directory layout.
type dirSink struct {
	dir     string
	bundles *shard
	hl7     map[string]*shard
}

type shard struct {
	prefix, ext string
	n, limit    int
	next        int
	f           *os.File
	w           *bufio.Writer
}

func newDirSink(dir string) (*dirSink, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	if len(entries) > 0 {
		return nil, fmt.Errorf("%s is not empty: give a new or empty directory", dir)
	}
	return &dirSink{dir: dir, bundles: &shard{prefix: filepath.Join(dir, "bundles"), ext: ".ndjson", limit: bundlesPerShard},
		hl7: map[string]*shard{}}, nil
}

func (d *dirSink) reference(b []byte) error {
	return os.WriteFile(filepath.Join(d.dir, "reference.json"), append(b, '\n'), 0o644)
}

func (d *dirSink) bundle(b []byte) error {
	w, err := d.bundles.writer()
	if err != nil {
		return err
	}
	w.Write(b)
	return w.WriteByte('\n')
}

func (d *dirSink) message(m synth.Message) error {
	s := d.hl7[m.Source]
	if s == nil {
		if err := os.MkdirAll(filepath.Join(d.dir, "hl7"), 0o755); err != nil {
			return err
		}
		s = &shard{prefix: filepath.Join(d.dir, "hl7", m.Source), ext: ".hl7", limit: messagesPerShard}
		d.hl7[m.Source] = s
	}
	w, err := s.writer()
	if err != nil {
		return err
	}
	_, err = w.Write(synth.Frame(m.ER7))
	return err
}

func (d *dirSink) close() error {
	err := d.bundles.close()
	for _, s := range d.hl7 {
		if e := s.close(); err == nil {
			err = e
		}
	}
	return err
}

// writer returns the current file of the shard, opening the next when the
// current one is full.
func (s *shard) writer() (*bufio.Writer, error) {
	if s.f != nil && s.n < s.limit {
		s.n++
		return s.w, nil
	}
	if err := s.close(); err != nil {
		return nil, err
	}
	f, err := os.Create(fmt.Sprintf("%s-%05d%s", s.prefix, s.next, s.ext))
	if err != nil {
		return nil, err
	}
	s.next++
	s.f, s.w, s.n = f, bufio.NewWriterSize(f, 1<<20), 1
	return s.w, nil
}

func (s *shard) close() error {
	if s.f == nil {
		return nil
	}
	err := s.w.Flush()
	if e := s.f.Close(); err == nil {
		err = e
	}
	s.f = nil
	return err
}
