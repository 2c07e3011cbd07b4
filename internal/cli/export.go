package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/sharedcare/sharedcare/internal/bulk"
	"github.com/sharedcare/sharedcare/internal/record"
)

// runExport is `sharedcare export`: the database's current resources
// written as NDJSON, one file per type, as a Bulk Data export writes them,
// without a server.
func runExport(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		data, db, types, since, out, group, searchIndex string
		patients                                        bool
	)
	fs.StringVar(&data, "data", "./data", "data directory (holds the embedded database)")
	fs.StringVar(&db, "db", "", "database: empty for the embedded SQLite in --data, or a postgres:// URL")
	fs.StringVar(&types, "type", "", "only these resource types, comma-separated (default: all)")
	fs.StringVar(&since, "since", "", "only resources last updated at or after this FHIR instant (e.g. 2024-01-01T00:00:00Z)")
	fs.BoolVar(&patients, "patients", false, "export the Patient compartment of every Patient (Patient/$export) rather than every resource")
	fs.StringVar(&group, "group", "", "export the Patient compartment of each member of this Group (Group/{id}/$export)")
	fs.StringVar(&out, "out", "", "directory to write to (created; must be empty)")
	fs.StringVar(&searchIndex, "search-index", "all", "search parameters indexed: all or conditional; give the server's own setting")
	fs.Usage = func() {
		fmt.Fprintln(stderr, `usage: sharedcare export [flags] --out DIR

Writes the current version of every resource (deletions left out) as NDJSON, one
file per type (Patient.ndjson, Observation.ndjson...), straight from the database:
no server needed. sharedcare import reads the files back.

flags:`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := envDefaults(fs, getenv); err != nil {
		fmt.Fprintln(stderr, "sharedcare export:", err)
		return 2
	}
	fail := func(code int, format string, a ...any) int {
		fmt.Fprintf(stderr, "sharedcare export: "+format+"\n", a...)
		return code
	}
	if fs.NArg() > 0 {
		return fail(2, "unexpected argument %q", fs.Arg(0))
	}
	if out == "" {
		return fail(2, "--out DIR is required")
	}
	if patients && group != "" {
		return fail(2, "--patients and --group are two kinds of export: give one")
	}
	scope, err := parseScope(searchIndex)
	if err != nil {
		return fail(2, "%v", err)
	}
	req := bulk.ExportRequest{GroupID: group}
	switch {
	case patients:
		req.Level = bulk.Patients
	case group != "":
		req.Level = bulk.Group
	}
	for _, t := range strings.Split(types, ",") {
		if t = strings.TrimSpace(t); t != "" {
			req.Types = append(req.Types, t)
		}
	}
	if since != "" {
		if req.Since, err = record.ParseInstant(since); err != nil {
			return fail(2, "--since %q is not a FHIR instant", since)
		}
	}
	if entries, err := os.ReadDir(out); err == nil && len(entries) > 0 {
		return fail(1, "--out %s is not empty", out)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	st, err := openStore(ctx, data, db)
	if err != nil {
		return fail(1, "open store: %v", err)
	}
	defer st.Close()
	svc, err := newService(st, "strict")
	if err != nil {
		return fail(1, "%v", err)
	}
	svc.IndexScope = scope
	if err := bulk.CheckExport(ctx, svc, req); err != nil {
		return fail(2, "%v", err)
	}
	if err := os.MkdirAll(out, 0o750); err != nil {
		return fail(1, "%v", err)
	}
	bar := newBar(stderr)
	res, err := bulk.Export(ctx, svc, req, bulk.DirSink(out), bulk.ExportOptions{
		Progress: func(p bulk.ExportProgress) {
			bar.draw(0, 0, fmt.Sprintf("%d resources, %.0f/s; reading %s", p.Resources, float64(p.Resources)/max(p.Elapsed.Seconds(), 1e-9), p.Type))
		},
	})
	bar.clear()
	if err != nil {
		return fail(1, "%v", err)
	}
	printExport(stdout, res, out)
	if len(res.Errors) > 0 {
		return 1
	}
	return 0
}

func printExport(w io.Writer, res *bulk.ExportResult, dir string) {
	secs := res.Elapsed.Seconds()
	fmt.Fprintf(w, "exported %d resources to %s in %.1f s: %.0f resources/s (as of %s)\n",
		res.Resources, dir, secs, float64(res.Resources)/max(secs, 1e-9), res.TransactionTime.Format(time.RFC3339))
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', tabwriter.AlignRight)
	for _, f := range res.Output {
		fmt.Fprintf(tw, "  %s\t%d\t\n", f.Name, f.Count)
	}
	for _, f := range res.Errors {
		fmt.Fprintf(tw, "  %s\t%d\terrors: resources or members that could not be exported\n", f.Name, f.Count)
	}
	tw.Flush()
}
