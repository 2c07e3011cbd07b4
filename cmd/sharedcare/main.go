// Command sharedcare is the shared care record platform in one binary:
// `sharedcare serve` runs the FHIR data layer (and, later, the portals);
// other subcommands are listed by `sharedcare help`.
package main

import (
	"os"

	"github.com/sharedcare/sharedcare/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
