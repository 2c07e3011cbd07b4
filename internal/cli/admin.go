package cli

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/sharedcare/sharedcare/internal/access"
	"github.com/sharedcare/sharedcare/internal/idp"
)

// stdin is where admin user add reads a password; tests replace it.
var stdin io.Reader = os.Stdin

const adminUsage = `usage:
  sharedcare admin client add --name NAME [--org ODS] --scope SCOPES [--redirect URI]... [--public] [--grant TYPE]...
  sharedcare admin client list
  sharedcare admin client remove ID
  sharedcare admin user add --username U --name N --role ROLE [--org ODS] [--fhir-user Practitioner/123] [--patient ID] [--acts-for 'RelatedPerson/ID=PATIENT=LABEL']... [--password-stdin]
  sharedcare admin user list
  sharedcare admin user disable USERNAME
Each works on the built-in identity provider's accounts in --data (DIR/idp.db) or --db (postgres://…).`

// multi is a flag that may be given more than once.
type multi []string

func (m *multi) String() string     { return strings.Join(*m, " ") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

// runAdmin manages the built-in identity provider's clients and users.
func runAdmin(args []string, stdout, stderr io.Writer) int {
	if len(args) < 2 {
		fmt.Fprintln(stderr, adminUsage)
		return 2
	}
	what, verb := args[0], args[1]
	fs := flag.NewFlagSet("admin "+what+" "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "./data", "data directory (holds idp.db)")
	db := fs.String("db", "", "database: empty for SQLite in --data, or a postgres:// URL")
	var (
		name, org, username, role, fhirUser, patient string
		scope                                        string
		public, passwordStdin                        bool
		redirects, grants, actsFor                   multi
	)
	switch what + " " + verb {
	case "client add":
		fs.StringVar(&name, "name", "", "client name, shown on the sign-in page")
		fs.StringVar(&org, "org", "", "ODS code of the organisation (system clients' tokens carry it)")
		fs.StringVar(&scope, "scope", "", "scopes the client may be granted, space-separated (e.g. 'system/*.cruds')")
		fs.Var(&redirects, "redirect", "redirect URI (repeatable)")
		fs.Var(&grants, "grant", "grant type: authorization_code, refresh_token, client_credentials (repeatable; default by client kind)")
		fs.BoolVar(&public, "public", false, "a public client (browser or device app, no secret, PKCE)")
	case "user add":
		fs.StringVar(&username, "username", "", "sign-in name")
		fs.StringVar(&name, "name", "", "the person's name")
		fs.StringVar(&role, "role", "", "role: "+roleNames())
		fs.StringVar(&org, "org", "", "ODS code of the organisation")
		fs.StringVar(&fhirUser, "fhir-user", "", "the user's own resource, e.g. Practitioner/123")
		fs.StringVar(&patient, "patient", "", "for patients: the id of their Patient")
		fs.Var(&actsFor, "acts-for", "for patients: someone they act for, as 'RelatedPerson/ID=PATIENT=LABEL' (repeatable)")
		fs.BoolVar(&passwordStdin, "password-stdin", false, "read the password from the first line of stdin (default: make one up and print it)")
	case "client list", "client remove", "user list", "user disable":
	default:
		fmt.Fprintln(stderr, adminUsage)
		return 2
	}
	// The id or username may come before the flags, as people type it.
	rest := args[2:]
	var pos []string
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		pos, rest = rest[:1], rest[1:]
	}
	if err := fs.Parse(rest); err != nil {
		return 2
	}
	pos = append(pos, fs.Args()...)
	if (verb == "add" || verb == "list") && len(pos) > 0 {
		fmt.Fprintf(stderr, "sharedcare admin %s %s: unexpected argument %q\n", what, verb, pos[0])
		return 2
	}
	if err := envDefaults(fs, getenv); err != nil {
		fmt.Fprintln(stderr, "sharedcare admin:", err)
		return 2
	}
	store := *db
	if store == "" {
		store = idp.SQLitePath(*data)
	} else if !idp.IsPostgres(store) {
		fmt.Fprintln(stderr, "sharedcare admin: --db must be empty (SQLite in --data) or a postgres:// URL")
		return 2
	}
	ctx := context.Background()
	st, err := idp.OpenStore(ctx, store)
	if err != nil {
		fmt.Fprintln(stderr, "sharedcare admin:", err)
		return 1
	}
	defer st.Close()
	one := func() (string, bool) {
		if len(pos) != 1 {
			fmt.Fprintf(stderr, "sharedcare admin %s %s: want one argument\n", what, verb)
			return "", false
		}
		return pos[0], true
	}
	switch what + " " + verb {
	case "client add":
		id, secret, err := st.AddClient(ctx, idp.Client{Name: name, Org: org, Scopes: strings.Fields(scope), RedirectURIs: redirects, Public: public, GrantTypes: grants})
		if err != nil {
			return fail(stderr, err)
		}
		fmt.Fprintf(stdout, "client_id: %s\n", id)
		if secret != "" {
			fmt.Fprintf(stdout, "client_secret: %s\n(shown once: only its hash is kept)\n", secret)
		}
	case "client list":
		cs, err := st.Clients(ctx)
		if err != nil {
			return fail(stderr, err)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tORG\tKIND\tGRANTS\tSCOPES\tREDIRECTS")
		for _, c := range cs {
			kind := "confidential"
			if c.Public {
				kind = "public"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.ID, c.Name, c.Org, kind, strings.Join(c.GrantTypes, ","), strings.Join(c.Scopes, " "), strings.Join(c.RedirectURIs, " "))
		}
		tw.Flush()
	case "client remove":
		id, ok := one()
		if !ok {
			return 2
		}
		if err := st.RemoveClient(ctx, id); err != nil {
			return fail(stderr, err)
		}
		fmt.Fprintf(stdout, "removed client %s\n", id)
	case "user add":
		pw, made := "", false
		if passwordStdin {
			line, err := bufio.NewReader(stdin).ReadString('\n')
			if err != nil && !errors.Is(err, io.EOF) {
				return fail(stderr, err)
			}
			pw = strings.TrimRight(line, "\r\n")
		} else {
			b := make([]byte, 15)
			rand.Read(b)
			pw, made = base64.RawURLEncoding.EncodeToString(b), true
		}
		acts, err := parseActsFor(actsFor)
		if err != nil {
			fmt.Fprintln(stderr, "sharedcare admin:", err)
			return 2
		}
		id, err := st.AddUser(ctx, idp.User{Username: username, Password: pw, Name: name, Role: access.Role(role), Org: org, FHIRUser: fhirUser, Patient: patient, ActsFor: acts})
		if err != nil {
			return fail(stderr, err)
		}
		fmt.Fprintf(stdout, "user: %s (id %s)\n", username, id)
		if made {
			fmt.Fprintf(stdout, "password: %s\n(shown once: only its hash is kept)\n", pw)
		}
	case "user list":
		us, err := st.Users(ctx)
		if err != nil {
			return fail(stderr, err)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "USERNAME\tNAME\tROLE\tORG\tFHIRUSER\tPATIENT\tSTATUS\tACTS FOR")
		for _, u := range us {
			status := "active"
			if u.Disabled {
				status = "disabled"
			}
			var acts []string
			for _, a := range u.ActsFor {
				acts = append(acts, a.RelatedPerson+"="+a.Patient+"="+a.Label)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", u.Username, u.Name, u.Role, u.Org, u.FHIRUser, u.Patient, status, strings.Join(acts, "; "))
		}
		tw.Flush()
	case "user disable":
		u, ok := one()
		if !ok {
			return 2
		}
		if err := st.DisableUser(ctx, u); err != nil {
			return fail(stderr, err)
		}
		fmt.Fprintf(stdout, "disabled user %s\n", u)
	}
	return 0
}

// parseActsFor reads --acts-for values, 'RelatedPerson/ID=PATIENT=LABEL'
// (the label may itself hold '='); AddUser checks the parts.
func parseActsFor(vals []string) ([]idp.ActsFor, error) {
	var out []idp.ActsFor
	for _, v := range vals {
		parts := strings.SplitN(v, "=", 3)
		if len(parts) != 3 || strings.TrimSpace(parts[2]) == "" {
			return nil, fmt.Errorf("--acts-for %q: want RelatedPerson/ID=PATIENT=LABEL", v)
		}
		out = append(out, idp.ActsFor{RelatedPerson: strings.TrimSpace(parts[0]), Patient: strings.TrimSpace(parts[1]), Label: strings.TrimSpace(parts[2])})
	}
	return out, nil
}

func fail(stderr io.Writer, err error) int {
	fmt.Fprintln(stderr, "sharedcare admin:", err)
	return 1
}

func roleNames() string {
	var s []string
	for _, r := range access.Roles {
		if r != access.RoleSystem {
			s = append(s, string(r))
		}
	}
	return strings.Join(s, ", ")
}
