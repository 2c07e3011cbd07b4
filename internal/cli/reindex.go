package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/sharedcare/sharedcare/internal/fhirdef"
	"github.com/sharedcare/sharedcare/internal/index"
	"github.com/sharedcare/sharedcare/internal/record"
)

// runReindex rebuilds the search index in the foreground: what serve does
// in the background, for an operator who wants it done (or watched) now.
func runReindex(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("reindex", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var data, db, searchIndex string
	var status bool
	var batch int
	fs.StringVar(&data, "data", "./data", "data directory (holds the embedded database)")
	fs.StringVar(&db, "db", "", "database: empty for the embedded SQLite in --data, or a postgres:// URL")
	fs.StringVar(&searchIndex, "search-index", "all", "search parameters indexed: all or conditional; give the server's own setting")
	fs.BoolVar(&status, "status", false, "print how far the search index is built, and change nothing")
	fs.IntVar(&batch, "batch", 500, "resources rebuilt per write transaction")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: sharedcare reindex [flags]\n\nRebuilds the search index of every resource type whose index was built by another\nserver version or setting, and waits for it; a running server does the same in the\nbackground. --status only reports.\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := envDefaults(fs, getenv); err != nil {
		fmt.Fprintln(stderr, "sharedcare reindex:", err)
		return 2
	}
	scope, err := parseScope(searchIndex)
	if err != nil {
		fmt.Fprintln(stderr, "sharedcare reindex:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	st, err := openStore(ctx, data, db)
	if err != nil {
		fmt.Fprintln(stderr, "sharedcare reindex: open store:", err)
		return 1
	}
	defer st.Close()
	svc := record.New(st, nil, fhirdef.IsResourceType)
	svc.IndexScope = scope
	if !status {
		p := &progressPrinter{every: time.Second, print: func(ts record.TypeIndexStatus) {
			fmt.Fprintf(stdout, "%s: %s, %d of %d (%.1f%%)\n", ts.Type, ts.State, ts.Done, ts.Total, ts.Percent())
		}}
		// Share 1: no pause between batches; a server using the store
		// meanwhile still gets its writes in between them.
		if err := svc.Reindex(ctx, record.ReindexOptions{Batch: batch, Share: 1, Progress: p.report}); err != nil {
			fmt.Fprintln(stderr, "sharedcare reindex:", err)
			return 1
		}
	}
	s, err := svc.ReindexStatus(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "sharedcare reindex:", err)
		return 1
	}
	// A rebuild not yet begun has not counted its type; an operator
	// asking wants the size of the job, worth a count here.
	for i, ts := range s.Types {
		if ts.State == record.IndexPending && ts.Total == 0 {
			if s.Types[i].Total, err = st.Count(ctx, ts.Type); err != nil {
				fmt.Fprintln(stderr, "sharedcare reindex:", err)
				return 1
			}
		}
	}
	printStatus(stdout, s)
	return 0
}

// parseScope reads --search-index.
func parseScope(s string) (index.Scope, error) {
	switch s {
	case "conditional":
		return index.Conditional, nil
	case "all", "":
		return index.All, nil
	}
	return 0, fmt.Errorf("--search-index must be conditional or all, not %q", s)
}

// printStatus writes the state of the search index as a table.
func printStatus(w io.Writer, s *record.IndexStatus) {
	state := "complete"
	if !s.Complete {
		state = "incomplete: searches on the types below that are not current are refused"
	}
	fmt.Fprintf(w, "search index (%s, generation %s): %s\n", s.Scope, s.Generation, state)
	if len(s.Types) == 0 {
		fmt.Fprintln(w, "no resources")
		return
	}
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "TYPE\tSTATE\tDONE\tTOTAL\t%\tGENERATION\tOWNER")
	for _, ts := range s.Types {
		gen := ts.Generation
		if gen == "" {
			gen = "-"
		}
		owner := ts.Owner
		if owner == "" {
			owner = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%.1f\t%s\t%s\n", ts.Type, ts.State, ts.Done, ts.Total, ts.Percent(), gen, owner)
	}
	tw.Flush()
}

// progressPrinter passes on a type's progress at most once per every, and
// always its first report and its completion, so a long rebuild gives a
// line now and then rather than one per batch.
type progressPrinter struct {
	every time.Duration
	print func(record.TypeIndexStatus)
	mu    sync.Mutex
	last  map[string]time.Time
}

func (p *progressPrinter) report(ts record.TypeIndexStatus) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.last == nil {
		p.last = map[string]time.Time{}
	}
	now := time.Now()
	if t, ok := p.last[ts.Type]; ok && ts.State != record.IndexCurrent && now.Sub(t) < p.every {
		return
	}
	p.last[ts.Type] = now
	p.print(ts)
}

// startReindex starts the background rebuild for serve and logs what it
// does. Call the returned function, after ending ctx, before closing the
// store.
func startReindex(ctx context.Context, svc *record.Service, log *slog.Logger) (wait func(), err error) {
	p := &progressPrinter{every: 10 * time.Second, print: func(ts record.TypeIndexStatus) {
		log.Info("search index rebuild", "type", ts.Type, "state", ts.State, "done", ts.Done, "total", ts.Total, "percent", ts.Percent())
	}}
	wait, err = svc.StartReindex(ctx, record.ReindexOptions{Progress: p.report, Log: log})
	if err != nil {
		return nil, err
	}
	s, err := svc.ReindexStatus(ctx)
	if err != nil {
		log.Warn("search index: cannot read its state", "err", err)
		return wait, nil
	}
	if !s.Complete {
		var stale []string
		for _, ts := range s.Types {
			if ts.State != record.IndexCurrent {
				stale = append(stale, ts.Type)
			}
		}
		log.Warn("search index out of date: rebuilding in the background; searches on these types are refused until done", "types", strings.Join(stale, ","), "generation", s.Generation)
	}
	return wait, nil
}
