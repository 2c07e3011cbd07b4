package audit

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gowebpki/jcs"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/database"
	"github.com/transparency-dev/merkle/proof"

	"github.com/sharedcare/sharedcare/internal/store/postgres"
)

// backend opens logs on one database, fresh for each test.
type backend struct {
	name string
	// where returns a new, empty database; open opens a log on it.
	where func(t testing.TB) string
	open  func(ctx context.Context, where string, o Options) (*Log, error)
}

var backends = []backend{
	{"sqlite",
		func(t testing.TB) string { return t.TempDir() },
		OpenSQLite},
	{"postgres",
		func(t testing.TB) string { return postgres.TestURL(t) },
		OpenPostgres},
}

// testKey is one key for the whole run: generating is cheap, but a fixed
// key keeps failures reproducible in what they print.
var testKey = func() ed25519.PrivateKey {
	_, k, _ := ed25519.GenerateKey(rand.Reader)
	return k
}()

func testOptions() Options {
	return Options{Key: testKey, Node: "test-node", CheckpointEvery: 10, CheckpointInterval: time.Hour}
}

func openLog(t testing.TB, b backend, where string, o Options) *Log {
	t.Helper()
	l, err := b.open(t.Context(), where, o)
	if err != nil {
		t.Fatalf("open %s: %v", b.name, err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// readOnly reopens the log with the public key alone, as a verifier does.
func readOnly(t testing.TB, b backend, where string) *Log {
	t.Helper()
	return openLog(t, b, where, Options{PublicKey: testKey.Public().(ed25519.PublicKey)})
}

// event returns the i'th of a varied set of events.
func event(i int) Event {
	ev := Event{
		Time:        time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Minute),
		Interaction: []string{"read", "search", "update", "operation:$everything"}[i%4],
		Who:         fmt.Sprintf("https://idp.example#user%d", i%3),
		Name:        fmt.Sprintf("User %d", i%3),
		Role:        "gp",
		Org:         []string{"A81001", "B82002"}[i%2],
		ClientID:    "portal",
		FHIRUser:    fmt.Sprintf("Practitioner/u%d", i%3),
		Address:     "10.0.0.1",
		Purpose:     "TREAT",
		Patients:    []string{fmt.Sprintf("p%d", i%5)},
		Entities:    []string{fmt.Sprintf("Observation/o%d/_history/1", i)},
		RequestID:   fmt.Sprintf("req-%d", i),
	}
	if i%4 == 1 {
		ev.Query = "patient=p1&code=1234-5"
		ev.Entities = nil
	}
	if i%7 == 6 {
		ev.Purpose, ev.Reason = "ETREAT", "unconscious in A&E"
	}
	return ev
}

// fill appends n events one commit each, so checkpoints fall every
// CheckpointEvery entries, then closes the log (a final checkpoint).
func fill(t testing.TB, b backend, where string, n int) {
	t.Helper()
	l, err := b.open(t.Context(), where, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := l.AppendSync(t.Context(), event(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
}

func seqs(es []Entry) []int64 {
	var s []int64
	for _, e := range es {
		s = append(s, e.Seq)
	}
	return s
}

// TestAuditAppendQuery runs each query with the entries' Patients still in
// their rows (the default: 30 entries are too few to index), all in the
// patient index, and split between the two with the index in buckets of
// four, so that the lookup walks several buckets.
func TestAuditAppendQuery(t *testing.T) {
	indexing := []struct {
		name        string
		every       int // IndexEvery
		bucketShift int
	}{
		{"rows", 0, 0},
		{"index", 1, 0},
		{"index in buckets and rows", 7, 2},
	}
	for _, b := range backends {
		for _, ix := range indexing {
			t.Run(b.name+"/"+ix.name, func(t *testing.T) {
				t.Parallel()
				testAppendQuery(t, b, ix.every, ix.bucketShift)
			})
		}
	}
}

func testAppendQuery(t *testing.T, b backend, every, shift int) {
	where := b.where(t)
	o := testOptions()
	o.IndexEvery, o.bucketShift = every, shift
	l := openLog(t, b, where, o)
	for i := range 30 {
		if err := l.Append(event(i)); err != nil {
			t.Fatal(err)
		}
		if i%4 == 3 { // batches of four: with every = 7, indexed to 24
			if err := l.Flush(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := l.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	var indexed int64
	if err := l.read.QueryRowContext(t.Context(), "SELECT upto FROM audit_indexed").Scan(&indexed); err != nil {
		t.Fatal(err)
	}
	if want := map[int]int64{0: 0, 1: 30, 7: 24}[every]; indexed != want {
		t.Errorf("patient index ends at %d, want %d", indexed, want)
	}
	// Entry i+1 is event(i): one writer, appended in order.
	want := func(keep func(i int) bool) []int64 {
		var s []int64
		for i := 29; i >= 0; i-- {
			if keep(i) {
				s = append(s, int64(i+1))
			}
		}
		return s
	}
	tests := []struct {
		name string
		f    Filter
		want []int64
	}{
		{"all", Filter{}, want(func(int) bool { return true })},
		{"patient", Filter{Patients: []string{"p2"}}, want(func(i int) bool { return i%5 == 2 })},
		{"patient reference", Filter{Patients: []string{"Patient/p2", "p3"}}, want(func(i int) bool { return i%5 == 2 || i%5 == 3 })},
		{"agent", Filter{Agent: "https://idp.example#user1"}, want(func(i int) bool { return i%3 == 1 })},
		{"org", Filter{Org: "B82002"}, want(func(i int) bool { return i%2 == 1 })},
		{"break glass", Filter{BreakGlass: true}, want(func(i int) bool { return i%7 == 6 })},
		{"patient and agent", Filter{Patients: []string{"p0"}, Agent: "https://idp.example#user0"}, want(func(i int) bool { return i%15 == 0 })},
		{"since until", Filter{Since: event(10).Time, Until: event(13).Time}, []int64{13, 12, 11}},
		{"page", Filter{Before: 20, Limit: 3}, []int64{19, 18, 17}},
		{"nobody", Filter{Patients: []string{"p9"}}, nil},
	}
	for _, tt := range tests {
		got, err := l.Query(t.Context(), tt.f)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if !slices.Equal(seqs(got), tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, seqs(got), tt.want)
		}
	}
	got, err := l.Query(t.Context(), Filter{Limit: 1})
	if err != nil || len(got) != 1 {
		t.Fatalf("newest: %v %v", got, err)
	}
	var ae map[string]any
	if err := json.Unmarshal(got[0].Event, &ae); err != nil {
		t.Fatal(err)
	}
	if ae["resourceType"] != "AuditEvent" || !got[0].Recorded.Equal(event(29).Time) {
		t.Errorf("newest entry: %s at %v", got[0].Event, got[0].Recorded)
	}
}

// TestAuditVerify tampers with a closed log directly in the database, as
// someone with access to it but not to the key could, and checks that
// Verify says precisely what was done.
func TestAuditVerify(t *testing.T) {
	other := func() ed25519.PrivateKey { _, k, _ := ed25519.GenerateKey(rand.Reader); return k }()
	tests := []struct {
		name   string
		tamper func(t *testing.T, l *Log)
		want   []Problem // Detail ignored
		signed int64
	}{
		{"clean", nil, nil, 25},
		{"changed body", func(t *testing.T, l *Log) {
			setBody(t, l, 5, strings.Replace(bodyOf(t, l, 5), `"TREAT"`, `"HRESCH"`, 1))
		}, []Problem{{Kind: Changed, Seq: 5}}, 25},
		{"deleted entry", func(t *testing.T, l *Log) {
			exec(t, l, "DELETE FROM audit_log WHERE seq = ?", 15)
		}, []Problem{{Kind: Missing, Seq: 15, To: 15}, {Kind: CheckpointUnverifiable, To: 20}, {Kind: CheckpointUnverifiable, To: 25}}, 10},
		{"deleted after the last checkpoint", func(t *testing.T, l *Log) {
			exec(t, l, "DELETE FROM audit_log WHERE seq >= ?", 24)
		}, []Problem{{Kind: Truncated, Seq: 24, To: 25}}, 20},
		{"swapped bodies", func(t *testing.T, l *Log) {
			b3, b7 := bodyOf(t, l, 3), bodyOf(t, l, 7)
			setBody(t, l, 3, b7)
			setBody(t, l, 7, b3)
		}, []Problem{{Kind: Reordered, Seq: 3, To: 7}, {Kind: Reordered, Seq: 7, To: 3}}, 25},
		{"changed body and leaf", func(t *testing.T, l *Log) {
			body := `{"resourceType":"AuditEvent"}`
			setBody(t, l, 12, body)
			exec(t, l, "UPDATE audit_log SET leaf = ? WHERE seq = ?", hasher.HashLeaf([]byte(body)), 12)
		}, []Problem{{Kind: ChainBroken, Seq: 12}, {Kind: CheckpointMismatch, Seq: 11, To: 20}, {Kind: CheckpointMismatch, Seq: 11, To: 25}}, 10},
		{"forged checkpoint", func(t *testing.T, l *Log) {
			var note string
			query(t, l, "SELECT note FROM audit_checkpoint WHERE size = ?", 20).Scan(&note)
			c, _, err := ParseNote(note)
			if err != nil {
				t.Fatal(err)
			}
			c.Root = make([]byte, 32)
			forged := c.body() + note[len(c.body()):] // the old signature
			exec(t, l, "UPDATE audit_checkpoint SET note = ? WHERE size = ?", forged, 20)
		}, []Problem{{Kind: CheckpointSignature, To: 20}}, 25},
		{"checkpoint signed by another key", func(t *testing.T, l *Log) {
			var note string
			query(t, l, "SELECT note FROM audit_checkpoint WHERE size = ?", 10).Scan(&note)
			c, _, _ := ParseNote(note)
			exec(t, l, "UPDATE audit_checkpoint SET note = ? WHERE size = ?", c.Sign(other), 10)
		}, []Problem{{Kind: CheckpointSignature, To: 10}}, 25},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					where := b.where(t)
					fill(t, b, where, 25)
					l := readOnly(t, b, where)
					if tt.tamper != nil {
						tt.tamper(t, l)
					}
					r := verifyWant(t, l, tt.want)
					if r.OK() != (tt.want == nil) {
						t.Errorf("OK() = %v", r.OK())
					}
					if r.Signed != tt.signed {
						t.Errorf("verified to size %d, want %d", r.Signed, tt.signed)
					}
				})
			}
		})
	}
}

// verifyWant verifies l and checks it found want (Details ignored).
func verifyWant(t *testing.T, l *Log, want []Problem) *Report {
	t.Helper()
	r, err := l.Verify(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var got []Problem
	for _, p := range r.Problems {
		got = append(got, Problem{Kind: p.Kind, Seq: p.Seq, To: p.To})
	}
	if !slices.Equal(got, want) {
		t.Errorf("problems:\n got %v\nwant %v\n%s", got, want, r)
	}
	return r
}

// bodyOf returns entry seq's AuditEvent as stored.
func bodyOf(t *testing.T, l *Log, seq int64) string {
	t.Helper()
	var body string
	var seg, off, n int64
	query(t, l, "SELECT body, bseg, boff, blen FROM audit_log WHERE seq = ?", seq).Scan(&body, &seg, &off, &n)
	b, err := l.event(body, seg, off, n)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// setBody replaces entry seq's AuditEvent as someone with write access to
// the database and its files could: in its row, or, for an entry kept in
// the segments, in a file of its own the row is pointed at.
func setBody(t *testing.T, l *Log, seq int64, body string) {
	t.Helper()
	if l.seg == nil {
		exec(t, l, "UPDATE audit_log SET body = ? WHERE seq = ?", body, seq)
		return
	}
	seg := 1000 + seq
	if err := os.WriteFile(l.seg.name(seg), []byte(body+"\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	exec(t, l, "UPDATE audit_log SET bseg = ?, boff = 0, blen = ? WHERE seq = ?", seg, len(body), seq)
}

func exec(t *testing.T, l *Log, q string, args ...any) {
	t.Helper()
	if _, err := l.write.ExecContext(t.Context(), l.d.q(q), args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

type scanner struct {
	t    *testing.T
	scan func(...any) error
}

func (s scanner) Scan(dst ...any) {
	s.t.Helper()
	if err := s.scan(dst...); err != nil {
		s.t.Fatal(err)
	}
}

func query(t *testing.T, l *Log, q string, args ...any) scanner {
	return scanner{t, l.write.QueryRowContext(t.Context(), l.d.q(q), args...).Scan}
}

// TestAuditConcurrentAppend appends from many goroutines, and from two
// logs on one database as two servers would: the chain stays whole.
func TestAuditConcurrentAppend(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			where := b.where(t)
			o := testOptions()
			o.CheckpointEvery = 100
			l1 := openLog(t, b, where, o)
			l2 := openLog(t, b, where, o)
			const workers, each = 8, 100
			appendFrom(t, workers, each, func(w, i int) error {
				l := []*Log{l1, l2}[w%2]
				if i%10 == 0 {
					return l.AppendSync(t.Context(), event(i))
				}
				return l.Append(event(i))
			})
			for _, l := range []*Log{l1, l2} {
				if err := l.Close(); err != nil {
					t.Fatal(err)
				}
			}
			r, err := readOnly(t, b, where).Verify(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if !r.OK() || r.Entries != workers*each || r.Signed != workers*each {
				t.Errorf("want %d entries all signed:\n%s", workers*each, r)
			}
		})
	}
}

// appendFrom runs workers goroutines, each calling add(w, i) for i below
// each, and waits for them.
func appendFrom(t *testing.T, workers, each int, add func(w, i int) error) {
	t.Helper()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				if err := add(w, i); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestAuditBackpressure fills a small queue: Append waits while the writer
// is a whole queue behind, batches are cut at BatchMax events (a request
// of several events whole), nothing queued is lost and the chain verifies.
func TestAuditBackpressure(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			where := b.where(t)
			o := testOptions()
			o.BatchMax, o.BatchWait = 4, 50*time.Millisecond
			l := openLog(t, b, where, o)
			const workers, each = 8, 60
			appendFrom(t, workers, each, func(w, i int) error {
				if w == 0 && i%20 == 0 {
					return l.AppendSync(t.Context(), event(i), event(i+1), event(i+2))
				}
				return l.Append(event(i))
			})
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			const want = workers*each + 3*2
			r, err := readOnly(t, b, where).Verify(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if !r.OK() || r.Entries != want {
				t.Errorf("want %d entries:\n%s", want, r)
			}
		})
	}
}

// TestAuditPatientsOnce checks that an event naming a Patient several
// times, as id and as reference, is indexed once for it: a second row
// would break audit_index's key and lose the batch.
func TestAuditPatientsOnce(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			o := testOptions()
			o.IndexEvery = 1 // and in the index
			l := openLog(t, b, b.where(t), o)
			ev := event(1)
			ev.Patients = []string{"p7", "Patient/p7", "p8", "", "p7"}
			if err := l.AppendSync(t.Context(), ev); err != nil {
				t.Fatal(err)
			}
			for _, p := range []string{"p7", "p8"} {
				got, err := l.Query(t.Context(), Filter{Patients: []string{p}})
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != 1 {
					t.Errorf("%s: %d entries, want 1", p, len(got))
				}
			}
		})
	}
}

// TestAuditReopen checks that what AppendSync acknowledged is there after
// a reopen, and that a reopened log continues the chain and the tree, from
// its last checkpoint and from entries after it.
func TestAuditReopen(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			where := b.where(t)
			o := testOptions()
			for round := range 3 {
				l, err := b.open(t.Context(), where, o)
				if err != nil {
					t.Fatal(err)
				}
				for i := range 7 {
					if err := l.AppendSync(t.Context(), event(round*7+i)); err != nil {
						t.Fatal(err)
					}
				}
				got, err := l.Query(t.Context(), Filter{Limit: 1})
				if err != nil || len(got) != 1 || got[0].Seq != int64(round*7+7) {
					t.Fatalf("round %d: newest %v, %v", round, seqs(got), err)
				}
				if err := l.Close(); err != nil {
					t.Fatal(err)
				}
				if round == 1 {
					// As after a crash: the last entries are in no
					// checkpoint, so the next open must read them.
					ro, err := b.open(t.Context(), where, Options{})
					if err != nil {
						t.Fatal(err)
					}
					if _, err := ro.write.ExecContext(t.Context(), "DELETE FROM audit_checkpoint WHERE size > 10"); err != nil {
						t.Fatal(err)
					}
					ro.Close()
				}
			}
			r, err := readOnly(t, b, where).Verify(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if !r.OK() || r.Entries != 21 || r.Signed != 21 {
				t.Errorf("want 21 entries, all signed:\n%s", r)
			}
		})
	}
}

func TestAuditProofs(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			where := b.where(t)
			fill(t, b, where, 25)
			l := readOnly(t, b, where)
			c, _, err := l.Latest(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			for _, seq := range []int64{1, 2, 13, 24, 25} {
				p, err := l.InclusionProof(t.Context(), seq)
				if err != nil {
					t.Fatal(err)
				}
				if err := proof.VerifyInclusion(hasher, uint64(seq-1), p.Size, p.LeafHash, p.Hashes, c.Root); err != nil {
					t.Errorf("entry %d: %v", seq, err)
				}
			}
			var note string
			query(t, l, "SELECT note FROM audit_checkpoint WHERE size = ?", 10).Scan(&note)
			old, err := OpenNote(note, l.pub)
			if err != nil {
				t.Fatal(err)
			}
			p, err := l.ConsistencyProof(t.Context(), 10)
			if err != nil {
				t.Fatal(err)
			}
			if err := proof.VerifyConsistency(hasher, 10, p.Size, p.Hashes, old.Root, c.Root); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestAuditKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	k1, err := LoadKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := LoadKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !k1.Equal(k2) {
		t.Error("second LoadKey made a new key")
	}
	fi, err := os.Stat(filepath.Join(dir, PrivateKeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("private key file: %v %v", fi.Mode(), err)
	}
	pub, err := LoadPublicKey(dir)
	if err != nil || !pub.Equal(k1.Public()) {
		t.Errorf("public key: %v", err)
	}
	// A lost public key is written again; a lost private key is an error.
	os.Remove(filepath.Join(dir, PublicKeyFile))
	if _, err := LoadKey(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadPublicKey(dir); err != nil {
		t.Error(err)
	}
	os.Remove(filepath.Join(dir, PrivateKeyFile))
	if _, err := LoadKey(dir); err == nil {
		t.Error("LoadKey made a new key beside the old public key")
	}

	// The key survives a reopen of the log: checkpoints from both runs
	// verify with the one public key.
	where := t.TempDir()
	keys := filepath.Join(where, "keys")
	for range 2 {
		k, err := LoadKey(keys)
		if err != nil {
			t.Fatal(err)
		}
		l, err := OpenSQLite(t.Context(), where, Options{Key: k})
		if err != nil {
			t.Fatal(err)
		}
		if err := l.AppendSync(t.Context(), event(1)); err != nil {
			t.Fatal(err)
		}
		l.Close()
	}
	pub, _ = LoadPublicKey(keys)
	l, err := OpenSQLite(t.Context(), where, Options{PublicKey: pub})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if r, err := l.Verify(t.Context()); err != nil || !r.OK() || r.Checkpoints != 2 {
		t.Errorf("%v\n%s", err, r)
	}
}

func TestAuditEvent(t *testing.T) {
	ev := event(5) // a search with a query, purpose TREAT
	ev.Interaction = "search"
	body, err := ev.AuditEvent("node-1")
	if err != nil {
		t.Fatal(err)
	}
	canon, err := jcs.Transform(body)
	if err != nil || string(canon) != string(body) {
		t.Errorf("not canonical: %s", body)
	}
	var ae struct {
		ResourceType string
		Type         coding
		Subtype      []coding
		Action       string
		Recorded     string
		Outcome      string
		Agent        []agent
		Source       source
		Entity       []entity
	}
	if err := json.Unmarshal(body, &ae); err != nil {
		t.Fatal(err)
	}
	if ae.ResourceType != "AuditEvent" || ae.Type.Code != "rest" || ae.Subtype[0].Code != "search" || ae.Action != "E" ||
		ae.Outcome != "0" || ae.Recorded != "2026-03-01T09:05:00Z" || ae.Source.Observer.Display != "node-1" {
		t.Errorf("%s", body)
	}
	if len(ae.Agent) != 3 || !ae.Agent[0].Requestor || ae.Agent[0].Who.Identifier.Value != ev.Who || ae.Agent[0].Network.Type != "2" ||
		ae.Agent[1].Who.Identifier.Value != "B82002" || ae.Agent[2].Who.Identifier.Value != "portal" {
		t.Errorf("agents: %s", body)
	}
	var q string
	for _, e := range ae.Entity {
		if e.Query != "" {
			b, _ := base64.StdEncoding.DecodeString(e.Query)
			q = string(b)
		}
	}
	if q != ev.Query || ae.Entity[0].What.Reference != "Patient/p0" || ae.Entity[0].Role.Code != "1" {
		t.Errorf("entities: %s", body)
	}

	tests := []struct{ interaction, typ, sub, action string }{
		{"read", "rest", "read", "R"},
		{"create", "rest", "create", "C"},
		{"patch", "rest", "patch", "U"},
		{"delete", "rest", "delete", "D"},
		{"operation:$everything", "rest", "operation", "E"},
		{"login", "110114", "110122", "E"},
		{"break-glass", "110113", "break-glass", "E"},
	}
	for _, tt := range tests {
		ev := Event{Time: time.Now(), Interaction: tt.interaction}
		body, err := ev.AuditEvent("n")
		if err != nil {
			t.Fatal(err)
		}
		var ae struct {
			Type    coding
			Subtype []coding
			Action  string
		}
		json.Unmarshal(body, &ae)
		if ae.Type.Code != tt.typ || ae.Subtype[0].Code != tt.sub || ae.Action != tt.action {
			t.Errorf("%s: %s", tt.interaction, body)
		}
	}
}

func TestAuditNote(t *testing.T) {
	c := Checkpoint{Origin: "sharedcare-audit", Size: 42, Root: hasher.HashLeaf([]byte("a")), Chain: hasher.HashLeaf([]byte("b")), Time: time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)}
	note := c.Sign(testKey)
	got, err := OpenNote(note, testKey.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	if got.Size != 42 || !got.Time.Equal(c.Time) || string(got.Root) != string(c.Root) {
		t.Errorf("%+v", got)
	}
	other, _, _ := ed25519.GenerateKey(rand.Reader)
	if _, err := OpenNote(note, other); err != ErrBadSignature {
		t.Errorf("other key: %v", err)
	}
	for _, bad := range []string{"", "x\n\n", note[:len(note)-1], note[:10], strings.Replace(note, "\n42\n", "\n042\n", 1), strings.Replace(note, "\u2014", "-", 1)} {
		if _, _, err := ParseNote(bad); err == nil {
			t.Errorf("parsed %q", bad)
		}
	}
}

func FuzzParseNote(f *testing.F) {
	c := Checkpoint{Origin: "sharedcare-audit", Size: 7, Root: hasher.HashLeaf(nil), Chain: make([]byte, 32), Time: time.Unix(1, 0).UTC()}
	f.Add(c.Sign(testKey))
	f.Add("o\n1\n\n\n— o x\n")
	f.Fuzz(func(t *testing.T, note string) {
		c, sigs, err := ParseNote(note)
		if err != nil {
			return
		}
		// Whatever parses is in canonical form: signing it again writes
		// the same body, and each signature line was read.
		if len(sigs) == 0 || note[:len(c.body())] != c.body() {
			t.Fatalf("%q parsed to %+v", note, c)
		}
		if _, err := OpenNote(note, testKey.Public().(ed25519.PublicKey)); err != nil && err != ErrBadSignature {
			t.Fatalf("%q: parses but does not open: %v", note, err)
		}
	})
}

// FuzzCanonical holds AuditEvent's fast encoding to jcs's RFC 8785 output
// for any text in the event's strings.
func FuzzCanonical(f *testing.F) {
	for _, s := range []string{"plain", "\b\f\n\r\t\x01\x1f\x7f", "<>&'\"\\", "\u2028\u2029", "\xff\xfe", "é漢字🙂", `\u2028`} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		ev := event(3)
		ev.Name, ev.Reason, ev.Who, ev.Query = a, b, a+b, b
		ev.Patients = []string{a}
		body, err := ev.AuditEvent(b)
		if err != nil {
			t.Fatal(err)
		}
		want, err := jcs.Transform(body)
		if err != nil {
			t.Fatalf("%q: %v", body, err)
		}
		if string(body) != string(want) {
			t.Fatalf("not canonical:\n got %q\nwant %q", body, want)
		}
	})
}

// TestAuditSegments covers what the embedded log's segment files add: a
// commit that never happened leaves nothing behind, segments rotate, rows
// from before segments still read, and a file changed, cut or removed
// shows in Verify as the entries it held, never as a failure to verify.
func TestAuditSegments(t *testing.T) {
	b := backends[0]
	where := b.where(t)
	l := openLog(t, b, where, testOptions())
	l.seg.max = 4000 // two or three events a segment
	for i := range 20 {
		if err := l.AppendSync(t.Context(), event(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	dir := SegmentsDir(filepath.Join(where, FileName))
	files, _ := filepath.Glob(filepath.Join(dir, "*.ndjson"))
	if len(files) < 5 {
		t.Fatalf("%d segment files for 20 events of ~1 KB with 4 KB segments", len(files))
	}
	last := files[len(files)-1]

	// A commit interrupted after writing its events: the next one starts
	// where the last committed event ends.
	f, err := os.OpenFile(last, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"resourceType":"AuditEvent","never":"committed"}` + "\n")
	f.Close()
	l = openLog(t, b, where, testOptions())
	for i := 20; i < 25; i++ {
		if err := l.AppendSync(t.Context(), event(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	var lines int
	files, _ = filepath.Glob(filepath.Join(dir, "*.ndjson"))
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(data), "never") {
			t.Errorf("%s keeps an uncommitted event", name)
		}
		lines += strings.Count(string(data), "\n")
	}
	if lines != 25 {
		t.Errorf("%d events in the segments, want 25", lines)
	}

	l = readOnly(t, b, where)
	// An entry written before segments existed keeps its event in its row.
	exec(t, l, "UPDATE audit_log SET body = ?, bseg = 0, boff = 0, blen = 0 WHERE seq = 2", bodyOf(t, l, 2))
	r, err := l.Verify(t.Context())
	if err != nil || !r.OK() || r.Entries != 25 {
		t.Fatalf("verify: %v\n%s", err, r)
	}
	es, err := l.Query(t.Context(), Filter{Limit: 1000})
	if err != nil || len(es) != 25 {
		t.Fatalf("query: %d entries, %v", len(es), err)
	}
	for _, e := range es {
		if string(hasher.HashLeaf(e.Event)) != string(leafOf(t, l, e.Seq)) {
			t.Errorf("entry %d: event does not hash to its leaf", e.Seq)
		}
	}

	// Damage: one byte of entry 7 changed in place; the file holding entry
	// 12 cut short; the file holding entry 20 removed.
	at := func(seq int64) (name string, off, n int64) {
		var seg int64
		query(t, l, "SELECT bseg, boff, blen FROM audit_log WHERE seq = ?", seq).Scan(&seg, &off, &n)
		return l.seg.name(seg), off, n
	}
	name, off, _ := at(7)
	f, err = os.OpenFile(name, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte("X"), off+2)
	f.Close()
	name, off, _ = at(12)
	if err := os.Truncate(name, off+10); err != nil {
		t.Fatal(err)
	}
	var cut []int64
	for seq := int64(12); ; seq++ {
		if n, _, _ := at(seq); n != name {
			break
		}
		cut = append(cut, seq)
	}
	name, _, _ = at(20)
	if err := os.Remove(name); err != nil {
		t.Fatal(err)
	}
	var gone []int64
	for seq := int64(1); seq <= 25; seq++ {
		if n, _, _ := at(seq); n == name {
			gone = append(gone, seq)
		}
	}
	l = readOnly(t, b, where) // its open files would still read the removed one
	r, err = l.Verify(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := append(append([]int64{7}, cut...), gone...)
	slices.Sort(want)
	var got []int64
	for _, p := range r.Problems {
		if p.Kind != Changed {
			t.Errorf("unexpected %v", p)
		}
		got = append(got, p.Seq)
	}
	if !slices.Equal(got, want) {
		t.Errorf("changed entries %v, want %v\n%s", got, want, r)
	}
}

func leafOf(t *testing.T, l *Log, seq int64) []byte {
	var leaf []byte
	query(t, l, "SELECT leaf FROM audit_log WHERE seq = ?", seq).Scan(&leaf)
	return leaf
}

// TestAuditPatientIndexMigration checks that a log from before the patient
// index was built in bulk keeps its entries findable by patient, that new
// entries join them, and that going back down puts both in the old table.
func TestAuditPatientIndexMigration(t *testing.T) {
	type store struct {
		driver, dir string
		dialect     goose.Dialect
		dsn         func(where string) string
	}
	stores := map[string]store{
		"sqlite":   {"sqlite", "migrations/sqlite", goose.DialectSQLite3, func(w string) string { return filepath.Join(w, FileName) }},
		"postgres": {"pgx", "migrations/postgres", goose.DialectPostgres, func(w string) string { return w }},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			s, where := stores[b.name], b.where(t)
			db, err := sql.Open(s.driver, s.dsn(where))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			sub, _ := fs.Sub(migrations, s.dir)
			st, _ := database.NewStore(s.dialect, versionTable)
			p, err := goose.NewProvider("", db, sub, goose.WithStore(st))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.UpTo(t.Context(), 2); err != nil {
				t.Fatal(err)
			}
			d := &sqliteDialect
			if b.name == "postgres" {
				d = &postgresDialect
			}
			for seq, pat := range map[int64]string{1: "pA", 2: "pB", 3: "pA"} {
				agent, org := []string{"", "u1", "u1", "u2"}[seq], []string{"", "X1", "X2", "X1"}[seq]
				if _, err := db.ExecContext(t.Context(), d.q("INSERT INTO audit_log (seq, recorded, agent, org, body, leaf, chain) VALUES (?, 0, ?, ?, '{}', ?, ?)"),
					seq, agent, org, make([]byte, 32), make([]byte, 32)); err != nil {
					t.Fatal(err)
				}
				if _, err := db.ExecContext(t.Context(), d.q("INSERT INTO audit_patient (patient, seq) VALUES (?, ?)"), pat, seq); err != nil {
					t.Fatal(err)
				}
			}

			l := openLog(t, b, where, testOptions()) // migrates
			ev := event(0)
			ev.Patients = []string{"pA", "pC"}
			if err := l.AppendSync(t.Context(), ev); err != nil {
				t.Fatal(err)
			}
			for pat, want := range map[string][]int64{"pA": {4, 3, 1}, "pB": {2}, "pC": {4}} {
				got, err := l.Query(t.Context(), Filter{Patients: []string{pat}})
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(seqs(got), want) {
					t.Errorf("%s: got %v, want %v", pat, seqs(got), want)
				}
			}
			for _, tt := range []struct {
				f    Filter
				want []int64
			}{{Filter{Agent: "u1"}, []int64{2, 1}}, {Filter{Agent: ev.Who}, []int64{4}}, {Filter{Org: "X1"}, []int64{3, 1}}, {Filter{Org: ev.Org}, []int64{4}}} {
				f, want := tt.f, tt.want
				got, err := l.Query(t.Context(), f)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(seqs(got), want) {
					t.Errorf("%+v: got %v, want %v", f, seqs(got), want)
				}
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}

			if _, err := p.DownTo(t.Context(), 2); err != nil {
				t.Fatal(err)
			}
			rs, err := db.QueryContext(t.Context(), "SELECT patient, seq FROM audit_patient ORDER BY patient, seq")
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for rs.Next() {
				var pat string
				var seq int64
				if err := rs.Scan(&pat, &seq); err != nil {
					t.Fatal(err)
				}
				got = append(got, fmt.Sprintf("%s/%d", pat, seq))
			}
			if want := []string{"pA/1", "pA/3", "pA/4", "pB/2", "pC/4"}; !slices.Equal(got, want) {
				t.Errorf("after down: %v, want %v", got, want)
			}
		})
	}
}

// TestAuditVerifyFilters edits the columns and index that queries read
// (a copy of what each hashed AuditEvent says) without touching the hash
// chain: Verify must still see it, or an access could be hidden from "who
// looked at my record". Entries 1–24 are in the index (buckets of four),
// 25 in its row only.
func TestAuditVerifyFilters(t *testing.T) {
	tests := []struct {
		name   string
		tamper func(t *testing.T, l *Log)
		want   []Problem
	}{
		{"clean", nil, nil},
		{"patient taken out of an indexed row", func(t *testing.T, l *Log) {
			exec(t, l, "UPDATE audit_log SET patients = '' WHERE seq = ?", 5)
		}, []Problem{{Kind: FilterMismatch, Seq: 5}}},
		{"patient swapped in a row not yet indexed", func(t *testing.T, l *Log) {
			exec(t, l, "UPDATE audit_log SET patients = ' p9 ' WHERE seq = ?", 25)
		}, []Problem{{Kind: FilterMismatch, Seq: 25}}},
		{"user changed", func(t *testing.T, l *Log) {
			exec(t, l, "UPDATE audit_log SET agent = 'someone-else' WHERE seq = ?", 3)
		}, []Problem{{Kind: FilterMismatch, Seq: 3}}},
		{"break-glass flag cleared", func(t *testing.T, l *Log) {
			exec(t, l, "UPDATE audit_log SET btg = 0 WHERE seq = ?", 7) // event(6): ETREAT
		}, []Problem{{Kind: FilterMismatch, Seq: 7}}},
		{"index entry for the patient deleted", func(t *testing.T, l *Log) {
			exec(t, l, "DELETE FROM audit_index WHERE kind = 1 AND seq = ?", 9)
		}, []Problem{{Kind: IndexMismatch, Seq: 9}}},
		{"index entry for the organisation changed", func(t *testing.T, l *Log) {
			exec(t, l, "UPDATE audit_index SET value = 'X99999' WHERE kind = 3 AND seq = ?", 14)
		}, []Problem{{Kind: IndexMismatch, Seq: 14}}},
		{"changed body at a bucket's start: reported once, as changed", func(t *testing.T, l *Log) {
			setBody(t, l, 4, strings.Replace(bodyOf(t, l, 4), `"TREAT"`, `"HRESCH"`, 1))
		}, []Problem{{Kind: Changed, Seq: 4}}},
		{"index entry added for an access that is not there", func(t *testing.T, l *Log) {
			exec(t, l, "INSERT INTO audit_index (bucket, kind, value, seq) VALUES (?, 1, 'p0', ?)", 20>>2, 20)
		}, []Problem{{Kind: IndexMismatch, Seq: 20}}},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					where := b.where(t)
					o := testOptions()
					o.IndexEvery, o.bucketShift = 4, 2
					l := openLog(t, b, where, o)
					for i := range 25 {
						if err := l.AppendSync(t.Context(), event(i)); err != nil {
							t.Fatal(err)
						}
					}
					var upto int64
					query(t, l, "SELECT upto FROM audit_indexed").Scan(&upto)
					if upto != 24 {
						t.Fatalf("indexed to %d, want 24", upto)
					}
					if tt.tamper != nil {
						tt.tamper(t, l)
					}
					verifyWant(t, l, tt.want)
				})
			}
		})
	}
}

// TestAuditVerifyPages verifies a log longer than one page of Verify's
// reads: every page is read, not the first alone.
func TestAuditVerifyPages(t *testing.T) {
	const n = 2*verifyPage + 500
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			o := testOptions()
			o.CheckpointEvery, o.IndexEvery = 1000, 1000
			l := openLog(t, b, b.where(t), o)
			for i := range n {
				if err := l.Append(event(i)); err != nil {
					t.Fatal(err)
				}
			}
			if err := l.Flush(t.Context()); err != nil {
				t.Fatal(err)
			}
			r, err := l.Verify(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if !r.OK() || r.Entries != n || r.Last != n || r.Signed < 4000 {
				t.Errorf("want all %d entries verified, signed to 4000 or more:\n%s", n, r)
			}
		})
	}
}
