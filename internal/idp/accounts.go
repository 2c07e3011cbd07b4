package idp

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"

	"github.com/sharedcare/sharedcare/internal/access"
)

// User is a person who signs in here: a professional in a role at an
// organisation, or a patient.
type User struct {
	ID       string // the token's sub; made on creation
	Username string
	// Password is given in plain text to AddUser and SeedDemo and never
	// read back: the database holds a bcrypt hash.
	Password string
	Name     string
	Role     access.Role
	Org      string // ODS code
	FHIRUser string // "Practitioner/…", "Patient/…"
	Patient  string // for patients: the id of their own Patient
	Disabled bool
	// ActsFor lists the people a patient user may also act for (a carer's
	// father, a parent's children): at sign-in with patient launch context
	// they choose whose record, and the tokens then carry the
	// RelatedPerson as fhirUser and that person's Patient as patient.
	ActsFor []ActsFor
}

// ActsFor is one person a user acts for, through the RelatedPerson whose
// proxy-access extension says what they may do (docs/ACCESS.md
// "Delegation").
type ActsFor struct {
	RelatedPerson string `json:"relatedPerson"` // "RelatedPerson/<id>"
	Patient       string `json:"patient"`       // the person's Patient id
	Label         string `json:"label"`         // e.g. "Roy Jessop (your father)"
}

// maxActsForLabel bounds a label shown on the chooser page.
const maxActsForLabel = 200

var relatedPersonRE = regexp.MustCompile(`^RelatedPerson/[A-Za-z0-9\-.]{1,64}$`)

// checkActsFor validates a user's ActsFor list against their own Patient.
func checkActsFor(role access.Role, own string, acts []ActsFor) error {
	if len(acts) == 0 {
		return nil
	}
	if role != access.RolePatient {
		return errors.New("only patient users act for others")
	}
	seen := map[string]bool{own: own != ""}
	for _, a := range acts {
		if !relatedPersonRE.MatchString(a.RelatedPerson) {
			return fmt.Errorf("acts for %q: want RelatedPerson/<id>", a.RelatedPerson)
		}
		if !ValidPatientID(a.Patient) {
			return fmt.Errorf("acts for %s: %q is not a Patient id", a.RelatedPerson, a.Patient)
		}
		if seen[a.Patient] {
			return fmt.Errorf("acts for %s: Patient %s is listed twice or is the user's own", a.RelatedPerson, a.Patient)
		}
		seen[a.Patient] = true
		if strings.TrimSpace(a.Label) == "" || len([]rune(a.Label)) > maxActsForLabel {
			return fmt.Errorf("acts for %s: a label needs 1 to %d characters", a.RelatedPerson, maxActsForLabel)
		}
	}
	return nil
}

func encodeActsFor(acts []ActsFor) string {
	if len(acts) == 0 {
		return ""
	}
	b, _ := json.Marshal(acts)
	return string(b)
}

func decodeActsFor(s string) ([]ActsFor, error) {
	if s == "" {
		return nil, nil
	}
	var acts []ActsFor
	if err := json.Unmarshal([]byte(s), &acts); err != nil {
		return nil, fmt.Errorf("idp: acts_for: %w", err)
	}
	return acts, nil
}

// Client is an application allowed to ask for tokens.
type Client struct {
	ID string // made on creation unless given
	// Secret is given in plain text to AddClient and SeedDemo ("" makes
	// one up for a confidential client) and never read back.
	Secret       string
	Name         string
	Org          string // ODS code; a system client's tokens carry it
	RedirectURIs []string
	Scopes       []string // the most the client may be granted
	Public       bool     // a browser or device app that cannot keep a secret
	GrantTypes   []string // default: authorization_code and refresh_token, plus client_credentials when confidential
}

// The grant types a client may be allowed.
const (
	GrantCode              = "authorization_code"
	GrantRefresh           = "refresh_token"
	GrantClientCredentials = "client_credentials"
)

// Errors the account functions return.
var (
	ErrNotFound = errors.New("idp: not found")
	ErrExists   = errors.New("idp: already exists")
)

// Store holds the accounts (users and clients) and the grants in flight.
// The admin command uses it alone; Provider uses it to serve OpenID
// Connect.
type Store struct {
	db *db
}

// OpenStore opens (creating and migrating if need be) the provider's
// database: a SQLite file path or a postgres:// URL.
func OpenStore(ctx context.Context, store string) (*Store, error) {
	d, err := openDB(ctx, store)
	if err != nil {
		return nil, err
	}
	return &Store{db: d}, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.close() }

// bcryptCost is bcrypt's default: about 50 ms a sign-in on a small server.
const bcryptCost = bcrypt.DefaultCost

// dummyHash is checked against when the username is unknown, so that an
// unknown name takes as long to refuse as a wrong password.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("no such user"), bcryptCost)

var (
	usernameRE = regexp.MustCompile(`^[A-Za-z0-9._@-]{1,64}$`)
	fhirIDRE   = regexp.MustCompile(`^[A-Za-z0-9\-.]{1,64}$`)
	fhirUserRE = regexp.MustCompile(`^(Practitioner|PractitionerRole|Patient|RelatedPerson|Person)/[A-Za-z0-9\-.]{1,64}$`)
	odsRE      = regexp.MustCompile(`^[A-Z0-9]{3,10}$`)
)

// ValidPatientID reports whether s has the shape of a FHIR resource id.
func ValidPatientID(s string) bool { return fhirIDRE.MatchString(s) }

func (u *User) check() error {
	if !usernameRE.MatchString(u.Username) {
		return fmt.Errorf("username %q: want 1 to 64 letters, digits or ._@-", u.Username)
	}
	if strings.TrimSpace(u.Name) == "" {
		return errors.New("a user needs a name")
	}
	if _, ok := access.ParseRole(string(u.Role)); !ok || u.Role == access.RoleSystem {
		return fmt.Errorf("role %q is not a user's role", u.Role)
	}
	if u.Org != "" && !odsRE.MatchString(u.Org) {
		return fmt.Errorf("org %q is not an ODS code", u.Org)
	}
	if u.FHIRUser != "" && !fhirUserRE.MatchString(u.FHIRUser) {
		return fmt.Errorf("fhirUser %q: want e.g. Practitioner/123 or Patient/abc", u.FHIRUser)
	}
	if err := checkActsFor(u.Role, u.Patient, u.ActsFor); err != nil {
		return err
	}
	if u.Role == access.RolePatient {
		// One who only acts for others may have no record of their own.
		if !ValidPatientID(u.Patient) && (u.Patient != "" || len(u.ActsFor) == 0) {
			return errors.New("a patient user needs the id of their Patient")
		}
		if u.FHIRUser == "" && u.Patient != "" {
			u.FHIRUser = "Patient/" + u.Patient
		}
	} else if u.Patient != "" {
		return errors.New("only patient users have a Patient of their own")
	}
	if len(u.Password) < 8 {
		return errors.New("a password needs at least 8 characters")
	}
	return nil
}

// AddUser creates u (its ID is made up when empty) and returns its ID.
func (s *Store) AddUser(ctx context.Context, u User) (string, error) {
	if err := u.check(); err != nil {
		return "", err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(u.Password), bcryptCost)
	if err != nil {
		return "", err
	}
	if u.ID == "" {
		u.ID = uuid.NewString()
	}
	_, err = s.db.exec(ctx, `INSERT INTO idp_user (id, username, password_hash, name, role, org, fhir_user, patient, acts_for, disabled, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		u.ID, u.Username, string(hash), u.Name, string(u.Role), u.Org, u.FHIRUser, u.Patient, encodeActsFor(u.ActsFor), b2i(u.Disabled), unix(time.Now()))
	if isUnique(err) {
		return "", fmt.Errorf("user %q: %w", u.Username, ErrExists)
	}
	return u.ID, err
}

const userCols = "id, username, name, role, org, fhir_user, patient, acts_for, disabled"

// scanUser reads userCols and then extra.
func scanUser(sc interface{ Scan(...any) error }, extra ...any) (User, error) {
	var u User
	var role, acts string
	var disabled int
	err := sc.Scan(append([]any{&u.ID, &u.Username, &u.Name, &role, &u.Org, &u.FHIRUser, &u.Patient, &acts, &disabled}, extra...)...)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, ErrNotFound
	}
	if err != nil {
		return User{}, err
	}
	u.Role, u.Disabled = access.Role(role), disabled != 0
	u.ActsFor, err = decodeActsFor(acts)
	return u, err
}

// Users lists the users by username.
func (s *Store) Users(ctx context.Context) ([]User, error) {
	rows, err := s.db.query(ctx, "SELECT "+userCols+" FROM idp_user ORDER BY username")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// User returns the user with the given id.
func (s *Store) User(ctx context.Context, id string) (User, error) {
	return scanUser(s.db.queryRow(ctx, "SELECT "+userCols+" FROM idp_user WHERE id = ?", id))
}

// SetActsFor replaces the people username acts for (none: nil). A
// refresh token for someone no longer listed stops working.
func (s *Store) SetActsFor(ctx context.Context, username string, acts []ActsFor) error {
	u, err := scanUser(s.db.queryRow(ctx, "SELECT "+userCols+" FROM idp_user WHERE username = ?", username))
	if errors.Is(err, ErrNotFound) {
		return fmt.Errorf("user %q: %w", username, ErrNotFound)
	}
	if err != nil {
		return err
	}
	if err := checkActsFor(u.Role, u.Patient, acts); err != nil {
		return err
	}
	if u.Patient == "" && len(acts) == 0 {
		return errors.New("a patient user without a Patient of their own must act for someone")
	}
	_, err = s.db.exec(ctx, "UPDATE idp_user SET acts_for = ? WHERE id = ?", encodeActsFor(acts), u.ID)
	return err
}

// DisableUser stops username signing in; tokens already issued run out.
func (s *Store) DisableUser(ctx context.Context, username string) error {
	n, err := s.db.exec(ctx, "UPDATE idp_user SET disabled = 1 WHERE username = ?", username)
	if err == nil && n == 0 {
		err = fmt.Errorf("user %q: %w", username, ErrNotFound)
	}
	if err == nil {
		// A disabled user's refresh tokens die with the account.
		_, err = s.db.exec(ctx, "DELETE FROM idp_refresh_token WHERE user_id IN (SELECT id FROM idp_user WHERE username = ?)", username)
	}
	return err
}

// errBadCredentials is every sign-in failure that must not say which of
// username or password was wrong.
var errBadCredentials = errors.New("idp: wrong username or password")

// errDisabled is a sign-in with the right password to a disabled account.
var errDisabled = errors.New("idp: account disabled")

// authenticate checks a username and password and returns the user.
func (s *Store) authenticate(ctx context.Context, username, password string) (User, error) {
	var hash string
	row := s.db.queryRow(ctx, "SELECT "+userCols+", password_hash FROM idp_user WHERE username = ?", username)
	u, err := scanUser(row, &hash)
	if errors.Is(err, ErrNotFound) {
		bcrypt.CompareHashAndPassword(dummyHash, []byte(password))
		return User{}, errBadCredentials
	}
	if err != nil {
		return User{}, err
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) != nil {
		return User{}, errBadCredentials
	}
	if u.Disabled {
		return User{}, errDisabled
	}
	return u, nil
}

func (c *Client) normalise() error {
	if strings.TrimSpace(c.Name) == "" {
		return errors.New("a client needs a name")
	}
	if c.Org != "" && !odsRE.MatchString(c.Org) {
		return fmt.Errorf("org %q is not an ODS code", c.Org)
	}
	if c.ID != "" && !usernameRE.MatchString(c.ID) {
		return fmt.Errorf("client id %q: want 1 to 64 letters, digits or ._@-", c.ID)
	}
	if _, err := access.ParseScopes(strings.Join(c.Scopes, " ")); err != nil {
		return err
	}
	for _, u := range c.RedirectURIs {
		if strings.ContainsAny(u, " \t\n") || !strings.Contains(u, ":") {
			return fmt.Errorf("redirect URI %q is not an absolute URI", u)
		}
	}
	if len(c.GrantTypes) == 0 {
		c.GrantTypes = []string{GrantCode, GrantRefresh}
		if !c.Public {
			c.GrantTypes = append(c.GrantTypes, GrantClientCredentials)
		}
	}
	for _, g := range c.GrantTypes {
		switch g {
		case GrantCode, GrantRefresh:
		case GrantClientCredentials:
			if c.Public {
				return errors.New("a public client cannot use client credentials")
			}
		default:
			return fmt.Errorf("grant type %q is not supported", g)
		}
	}
	if slices.Contains(c.GrantTypes, GrantCode) && len(c.RedirectURIs) == 0 && c.Public {
		return errors.New("a public client needs a redirect URI")
	}
	return nil
}

// AddClient creates c and returns its id and secret ("" for a public
// client). The secret is shown to the caller once: the database keeps
// only its hash.
func (s *Store) AddClient(ctx context.Context, c Client) (id, secret string, err error) {
	if err := c.normalise(); err != nil {
		return "", "", err
	}
	if c.ID == "" {
		c.ID = uuid.NewString()
	}
	secretHash := ""
	if !c.Public {
		if c.Secret == "" {
			c.Secret = randomToken(32)
		}
		secretHash = hashToken(c.Secret)
	} else {
		c.Secret = ""
	}
	_, err = s.db.exec(ctx, `INSERT INTO idp_client (id, secret_hash, name, org, redirect_uris, scopes, public, grant_types, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, secretHash, c.Name, c.Org, strings.Join(c.RedirectURIs, " "), strings.Join(c.Scopes, " "), b2i(c.Public), strings.Join(c.GrantTypes, " "), unix(time.Now()))
	if isUnique(err) {
		return "", "", fmt.Errorf("client %q: %w", c.ID, ErrExists)
	}
	if err != nil {
		return "", "", err
	}
	return c.ID, c.Secret, nil
}

const clientCols = "id, name, org, redirect_uris, scopes, public, grant_types"

func scanClient(sc interface{ Scan(...any) error }) (Client, error) {
	var c Client
	var redirects, scopes, grants string
	var public int
	err := sc.Scan(&c.ID, &c.Name, &c.Org, &redirects, &scopes, &public, &grants)
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	c.RedirectURIs, c.Scopes, c.GrantTypes = strings.Fields(redirects), strings.Fields(scopes), strings.Fields(grants)
	c.Public = public != 0
	return c, err
}

// Clients lists the clients by name.
func (s *Store) Clients(ctx context.Context) ([]Client, error) {
	rows, err := s.db.query(ctx, "SELECT "+clientCols+" FROM idp_client ORDER BY name, id")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Client
	for rows.Next() {
		c, err := scanClient(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Client returns the client with the given id.
func (s *Store) Client(ctx context.Context, id string) (Client, error) {
	return scanClient(s.db.queryRow(ctx, "SELECT "+clientCols+" FROM idp_client WHERE id = ?", id))
}

// RemoveClient deletes a client and its refresh tokens; its access tokens
// run out.
func (s *Store) RemoveClient(ctx context.Context, id string) error {
	n, err := s.db.exec(ctx, "DELETE FROM idp_client WHERE id = ?", id)
	if err == nil && n == 0 {
		return fmt.Errorf("client %q: %w", id, ErrNotFound)
	}
	if err == nil {
		_, err = s.db.exec(ctx, "DELETE FROM idp_refresh_token WHERE client_id = ?", id)
	}
	return err
}

// checkClientSecret reports whether secret is the confidential client
// id's secret.
func (s *Store) checkClientSecret(ctx context.Context, id, secret string) (Client, error) {
	var hash string
	err := s.db.queryRow(ctx, "SELECT secret_hash FROM idp_client WHERE id = ? AND public = 0", id).Scan(&hash)
	if err != nil || hash == "" || secret == "" || subtle.ConstantTimeCompare([]byte(hash), []byte(hashToken(secret))) != 1 {
		return Client{}, errBadCredentials
	}
	return s.Client(ctx, id)
}

// SeedDemo creates the users and clients that do not exist yet (matched
// by username and client id) and leaves the others as they are, so the
// demo can run it at every start.
func (s *Store) SeedDemo(ctx context.Context, users []User, clients []Client) error {
	for _, u := range users {
		var n int
		if err := s.db.queryRow(ctx, "SELECT COUNT(*) FROM idp_user WHERE username = ?", u.Username).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			continue
		}
		if _, err := s.AddUser(ctx, u); err != nil && !errors.Is(err, ErrExists) {
			return fmt.Errorf("demo user %q: %w", u.Username, err)
		}
	}
	for _, c := range clients {
		if c.ID == "" {
			return fmt.Errorf("demo client %q needs a fixed id", c.Name)
		}
		if _, err := s.Client(ctx, c.ID); err == nil {
			continue
		}
		if _, _, err := s.AddClient(ctx, c); err != nil && !errors.Is(err, ErrExists) {
			return fmt.Errorf("demo client %q: %w", c.ID, err)
		}
	}
	return nil
}
