package audit

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	gojson "github.com/goccy/go-json"
)

// The columns "who looked at my record" and a privacy officer's queries
// read are copies of what each hashed AuditEvent says, kept for speed; the
// hash chain covers the AuditEvent, not them. So Verify derives them again
// from every AuditEvent that verified and compares: without this, someone
// with write access to the database could hide an access from the patient
// by editing a row's patients column or deleting an index entry, while the
// chain stayed whole.
const (
	// FilterMismatch: a column read by queries (patients, agent,
	// organisation, purpose, break-glass, recorded) differs from the
	// entry's AuditEvent.
	FilterMismatch ProblemKind = "filter-mismatch"
	// IndexMismatch: the index that finds entries by Patient, user or
	// organisation lacks a key the entry's AuditEvent has, or holds one it
	// has not.
	IndexMismatch ProblemKind = "index-mismatch"
)

// filters are an entry's query columns.
type filters struct {
	recorded            int64
	agent, org, purpose string
	btg                 bool
	patients            string // " id1 id2 ", as stored
}

// filtersOf derives an entry's query columns from its AuditEvent, as
// Append derived them from the Event that AuditEvent encodes.
//
// Only AuditEvents that hash to their leaf come here, so this log's own
// encoder wrote them and they are valid JSON: goccy/go-json decodes them
// without the standard library's validity check first (which internal/fhir
// needs for input from outside), at a third of encoding/json's cost, the
// most of Verify's time per entry; the recover is for its fast paths.
func filtersOf(body []byte) (f filters, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("decoding: %v", p)
		}
	}()
	type coding struct{ Code, System string }
	var ev struct {
		Agent []struct {
			Requestor bool `json:"requestor"`
			Who       struct {
				Identifier struct{ System, Value string } `json:"identifier"`
			} `json:"who"`
		} `json:"agent"`
		Entity []struct {
			Role coding `json:"role"`
			Type coding `json:"type"`
			What struct {
				Reference string `json:"reference"`
			} `json:"what"`
		} `json:"entity"`
		PurposeOfEvent []struct {
			Coding []coding `json:"coding"`
		} `json:"purposeOfEvent"`
		Subtype  []coding `json:"subtype"`
		Recorded string   `json:"recorded"`
	}
	if err := gojson.Unmarshal(body, &ev); err != nil {
		return f, err
	}
	t, err := time.Parse(time.RFC3339Nano, ev.Recorded)
	if err != nil {
		return f, err
	}
	f.recorded = t.UnixMicro()
	for _, a := range ev.Agent {
		switch {
		case a.Requestor:
			f.agent = a.Who.Identifier.Value
		case a.Who.Identifier.System == sysODS:
			f.org = a.Who.Identifier.Value
		}
	}
	var ids []string
	for _, e := range ev.Entity {
		if e.Role == (coding{"1", sysObjectRole}) && e.Type == (coding{"1", sysEntityType}) {
			ids = append(ids, e.What.Reference)
		}
	}
	if ids = patientIDs(ids); len(ids) > 0 {
		f.patients = " " + strings.Join(ids, " ") + " "
	}
	for _, p := range ev.PurposeOfEvent {
		for _, c := range p.Coding {
			if c.System == sysActReason {
				f.purpose = c.Code
			}
		}
	}
	f.btg = f.purpose == "ETREAT" || slices.Contains(ev.Subtype, coding{"break-glass", sysInteractions})
	return f, nil
}

// compare reports how stored differs from what the AuditEvent says.
func (f filters) compare(stored filters) []string {
	var diffs []string
	col := func(name, got, want string) {
		if asWritten(got) != want {
			diffs = append(diffs, fmt.Sprintf("%s is %q, its AuditEvent says %q", name, got, want))
		}
	}
	col("patients", stored.patients, f.patients)
	col("agent", stored.agent, f.agent)
	col("org", stored.org, f.org)
	col("purpose", stored.purpose, f.purpose)
	if stored.btg != f.btg {
		diffs = append(diffs, fmt.Sprintf("break-glass is %v, its AuditEvent says %v", stored.btg, f.btg))
	}
	if stored.recorded != f.recorded {
		diffs = append(diffs, fmt.Sprintf("recorded is %d, its AuditEvent says %d", stored.recorded, f.recorded))
	}
	return diffs
}

// asWritten is s as an AuditEvent holds it: invalid UTF-8, which the
// columns and the index keep as it came, is written there as U+FFFD.
func asWritten(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var out string
	gojson.Unmarshal(appendString(nil, s), &out)
	return out
}

// indexKey is one audit_index entry of an entry.
type indexKey struct {
	kind  int
	value string
}

func (k indexKey) String() string {
	switch k.kind {
	case kindPatient:
		return "Patient/" + k.value
	case kindAgent:
		return "user " + k.value
	case kindOrg:
		return "organisation " + k.value
	}
	return fmt.Sprintf("kind %d %q", k.kind, k.value)
}

// keys are the index entries f makes.
func (f filters) keys() []indexKey {
	var out []indexKey
	for _, p := range strings.Fields(f.patients) {
		out = append(out, indexKey{kindPatient, p})
	}
	if f.agent != "" {
		out = append(out, indexKey{kindAgent, f.agent})
	}
	if f.org != "" {
		out = append(out, indexKey{kindOrg, f.org})
	}
	return out
}

// indexCheck compares the index with the entries it covers, one bucket at
// a time (a bucket's entries, some tens of thousands, held in memory).
type indexCheck struct {
	l      *Log
	upto   int64 // entries up to here are indexed
	bucket int64 // the bucket loaded, -1 for none
	rows   map[int64][]indexKey
}

// checkFilters compares entry seq's columns and index entries with what
// its AuditEvent, which verified, says.
func (v *verifier) checkFilters(ctx context.Context, seq int64, body []byte, stored filters) error {
	have, indexed, err := v.indexed(ctx, seq)
	if err != nil {
		return err
	}
	f, err := filtersOf(body)
	if err != nil {
		v.problem(Problem{Kind: FilterMismatch, Seq: seq, Detail: "its AuditEvent cannot be read: " + err.Error()})
		return nil
	}
	if d := f.compare(stored); len(d) > 0 {
		v.problem(Problem{Kind: FilterMismatch, Seq: seq, Detail: strings.Join(d, "; ")})
	}
	if !indexed {
		return nil
	}
	var diffs []string
	for _, k := range f.keys() {
		if i := slices.Index(have, k); i >= 0 {
			have = slices.Delete(have, i, i+1)
		} else {
			diffs = append(diffs, "the index lacks "+k.String())
		}
	}
	for _, k := range have {
		diffs = append(diffs, "the index lists "+k.String()+", not in its AuditEvent")
	}
	if len(diffs) > 0 {
		v.problem(Problem{Kind: IndexMismatch, Seq: seq, Detail: strings.Join(diffs, "; ")})
	}
	return nil
}

// indexed takes the index entries of seq out of the loaded bucket, loading
// seq's bucket first; false if the index does not cover seq yet. Called for
// every entry in order, so that what is left in a bucket when the next one
// loads belongs to no entry of the log.
func (v *verifier) indexed(ctx context.Context, seq int64) ([]indexKey, bool, error) {
	ic := v.index
	if seq > ic.upto {
		return nil, false, nil
	}
	if b := seq >> ic.l.o.bucketShift; b != ic.bucket {
		v.finishBucket()
		if err := ic.load(ctx, b); err != nil {
			return nil, false, err
		}
	}
	have := ic.rows[seq]
	delete(ic.rows, seq)
	return have, true, nil
}

// finishBucket reports index entries of the loaded bucket that no entry
// of the log claimed: entries for accesses the log does not hold.
func (v *verifier) finishBucket() {
	ic := v.index
	seqs := make([]int64, 0, len(ic.rows))
	for s := range ic.rows {
		seqs = append(seqs, s)
	}
	slices.Sort(seqs)
	for _, s := range seqs {
		var ks []string
		for _, k := range ic.rows[s] {
			ks = append(ks, k.String())
		}
		v.problem(Problem{Kind: IndexMismatch, Seq: s, Detail: "the index lists " + strings.Join(ks, ", ") + " for an entry the log does not hold"})
	}
	ic.rows = nil
	ic.bucket = -1
}

func (ic *indexCheck) load(ctx context.Context, b int64) error {
	rs, err := ic.l.read.QueryContext(ctx, ic.l.d.q("SELECT kind, value, seq FROM audit_index WHERE bucket = ? AND seq <= ?"), b, ic.upto)
	if err != nil {
		return fmt.Errorf("audit: verify: %w", err)
	}
	defer rs.Close()
	ic.bucket = b
	ic.rows = make(map[int64][]indexKey)
	for rs.Next() {
		var k indexKey
		var seq int64
		if err := rs.Scan(&k.kind, &k.value, &seq); err != nil {
			return fmt.Errorf("audit: verify: %w", err)
		}
		k.value = asWritten(k.value)
		ic.rows[seq] = append(ic.rows[seq], k)
	}
	return rs.Err()
}
