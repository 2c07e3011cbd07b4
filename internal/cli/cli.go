// Package cli is the sharedcare command line: one binary, subcommands, each
// flag also readable from a SHAREDCARE_* environment variable so the same
// binary is configured the same way by hand, by systemd and by containers.
package cli

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// Version is set at build time with -ldflags "-X .../internal/cli.Version=…".
var Version = "dev"

type command struct {
	name, summary string
	run           func(args []string, stdout, stderr io.Writer) int
}

func commands() []command {
	return []command{
		{"serve", "run the platform: the FHIR API at /fhir", runServe},
		{"bench", "measure a FHIR server (this one or another) over HTTP: ingest, read, search, $everything, CRUD", runBench},
		{"reindex", "rebuild the search index after an upgrade or a --search-index change (--status: report only)", runReindex},
		{"import", "load NDJSON and Bundle files into the database, validated and indexed (no server needed)", runImport},
		{"audit", "verify the tamper-evident audit log (exit 1 if anything is wrong), or sign a checkpoint of it", runAudit},
		{"export", "write the database's resources as NDJSON, one file per type (no server needed)", runExport},
		{"synth", "generate a synthetic care system as FHIR bundles (and HL7 v2): docs/SYNTH.md", runSynth},
		{"admin", "manage the built-in identity provider's clients and users (docs/IDP.md)", runAdmin},
		{"demo", "run the platform on a fresh embedded database with a synthetic population loaded", runDemo},
		{"version", "print the version", func(_ []string, out, _ io.Writer) int { fmt.Fprintln(out, "sharedcare", Version); return 0 }},
	}
}

// Main runs the subcommand named by args[0] and returns the exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "sharedcare: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: sharedcare <command> [flags]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nEvery flag can also be set with SHAREDCARE_<FLAG> (e.g. SHAREDCARE_ADDR); flags win.")
}

// envDefaults sets each flag not given on the command line from its
// SHAREDCARE_* environment variable ("max-body" reads SHAREDCARE_MAX_BODY).
func envDefaults(fs *flag.FlagSet, getenv func(string) string) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] || err != nil {
			return
		}
		name := "SHAREDCARE_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v := getenv(name); v != "" {
			if e := f.Value.Set(v); e != nil {
				err = fmt.Errorf("%s=%q: %v", name, v, e)
			}
		}
	})
	return err
}

var getenv = os.Getenv
