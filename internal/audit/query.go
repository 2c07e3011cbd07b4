package audit

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
)

// Filter selects entries for Query. Empty fields select everything; the
// fields given must all match.
type Filter struct {
	// Patients: entries naming any of these Patient ids ("123" or
	// "Patient/123"): who has looked at my record.
	Patients []string
	Agent    string // the principal's id (Event.Who)
	Org      string // ODS code
	// BreakGlass: only emergency access.
	BreakGlass bool
	// Since (inclusive) and Until (exclusive) bound the event time.
	Since, Until time.Time
	// Before pages back: only entries with a lower seq (the last Seq of
	// the previous page).
	Before int64
	// Limit is the page size: default 100, at most 1000.
	Limit int
}

// Entry is one entry of the log.
type Entry struct {
	Seq      int64
	Recorded time.Time
	// Event is the AuditEvent, in the canonical JSON that was hashed.
	Event json.RawMessage
}

// Query returns the entries f selects, newest first.
func (l *Log) Query(ctx context.Context, f Filter) ([]Entry, error) {
	var where []string
	var args []any
	// Filters by patient, user or organisation read the index up to where
	// it ends (one lookup per bucket) and after it the entries' own
	// columns: one statement, so one snapshot of both and of the end.
	var useIndex bool
	indexed := func(kind int, values []string, tail string, tailArgs []any) {
		useIndex = true
		marks := strings.TrimSuffix(strings.Repeat("?, ", len(values)), ", ")
		where = append(where, "seq IN (SELECT seq FROM audit_index WHERE bucket IN (SELECT b FROM buckets) AND kind = "+strconv.Itoa(kind)+" AND value IN ("+marks+")"+
			" UNION ALL SELECT seq FROM audit_log WHERE seq > (SELECT upto FROM audit_indexed) AND ("+tail+"))")
		for _, v := range values {
			args = append(args, v)
		}
		args = append(args, tailArgs...)
	}
	if len(f.Patients) > 0 {
		ids := patientIDs(f.Patients)
		if len(ids) == 0 {
			return nil, nil // only empty ids: no entry names one
		}
		named := strings.TrimSuffix(strings.Repeat(l.d.instr+"(patients, ?) > 0 OR ", len(ids)), " OR ")
		var tail []any
		for _, p := range ids {
			tail = append(tail, " "+p+" ")
		}
		indexed(kindPatient, ids, named, tail)
	}
	if f.Agent != "" {
		indexed(kindAgent, []string{f.Agent}, "agent = ?", []any{f.Agent})
	}
	if f.Org != "" {
		indexed(kindOrg, []string{f.Org}, "org = ?", []any{f.Org})
	}
	if f.BreakGlass {
		where = append(where, "btg = 1")
	}
	if !f.Since.IsZero() {
		where, args = append(where, "recorded >= ?"), append(args, f.Since.UnixMicro())
	}
	if !f.Until.IsZero() {
		where, args = append(where, "recorded < ?"), append(args, f.Until.UnixMicro())
	}
	if f.Before > 0 {
		where, args = append(where, "seq < ?"), append(args, f.Before)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	q := "SELECT seq, recorded, body, bseg, boff, blen FROM audit_log"
	if useIndex {
		q = "WITH RECURSIVE buckets(b) AS (SELECT (SELECT upto FROM audit_indexed) >> " + strconv.Itoa(l.o.bucketShift) +
			" UNION ALL SELECT b - 1 FROM buckets WHERE b > 0) " + q
	}
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY seq DESC LIMIT ?"
	args = append(args, limit)
	rs, err := l.read.QueryContext(ctx, l.d.q(q), args...)
	if err != nil {
		return nil, fmt.Errorf("audit: query: %w", err)
	}
	defer rs.Close()
	var out []Entry
	for rs.Next() {
		var e Entry
		var rec int64
		var body string
		var seg, off, n int64
		if err := rs.Scan(&e.Seq, &rec, &body, &seg, &off, &n); err != nil {
			return nil, err
		}
		b, err := l.event(body, seg, off, n)
		if err != nil {
			return nil, err
		}
		e.Recorded, e.Event = time.UnixMicro(rec).UTC(), json.RawMessage(b)
		out = append(out, e)
	}
	return out, rs.Err()
}

// event returns an entry's AuditEvent: from its row, or (blen > 0) from
// the segments.
func (l *Log) event(body string, seg, off, n int64) ([]byte, error) {
	if n == 0 {
		return []byte(body), nil
	}
	if l.seg == nil {
		return nil, fmt.Errorf("audit: entry in segment %d, but this log has no segments", seg)
	}
	return l.seg.read(seg, off, n)
}

// ErrNoCheckpoint is returned when no signed checkpoint covers what was
// asked.
var ErrNoCheckpoint = errors.New("audit: no signed checkpoint covers it yet")

// Latest returns the last signed checkpoint and its note, verified with
// the log's public key.
func (l *Log) Latest(ctx context.Context) (*Checkpoint, string, error) {
	var note string
	err := l.read.QueryRowContext(ctx, "SELECT note FROM audit_checkpoint ORDER BY size DESC LIMIT 1").Scan(&note)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", ErrNoCheckpoint
	}
	if err != nil {
		return nil, "", fmt.Errorf("audit: %w", err)
	}
	if l.pub == nil {
		return nil, note, errors.New("audit: no public key to verify the checkpoint with")
	}
	c, err := OpenNote(note, l.pub)
	return c, note, err
}

// Proof is a Merkle proof against a signed checkpoint (RFC 6962 §2.1.1 and
// §2.1.2), to check with transparency-dev/merkle's proof package or any
// RFC 6962 verifier.
type Proof struct {
	// Checkpoint is the signed note the proof leads to.
	Checkpoint string
	Size       uint64
	Hashes     [][]byte
	// For an inclusion proof: the entry and its leaf hash (leaf index
	// Seq-1).
	Seq      int64
	LeafHash []byte
}

// InclusionProof proves that entry seq is in the log the latest checkpoint
// signs. It reads the leaf hashes of the whole tree (32 bytes an entry):
// cheap for an occasional request, not for every read.
func (l *Log) InclusionProof(ctx context.Context, seq int64) (*Proof, error) {
	c, note, err := l.Latest(ctx)
	if err != nil {
		return nil, err
	}
	if seq < 1 || uint64(seq) > c.Size {
		return nil, ErrNoCheckpoint
	}
	nodes, err := proof.Inclusion(uint64(seq-1), c.Size)
	if err != nil {
		return nil, err
	}
	hashes, err := l.proofHashes(ctx, nodes)
	if err != nil {
		return nil, err
	}
	var leaf []byte
	if err := l.read.QueryRowContext(ctx, l.d.q("SELECT leaf FROM audit_log WHERE seq = ?"), seq).Scan(&leaf); err != nil {
		return nil, fmt.Errorf("audit: entry %d: %w", seq, err)
	}
	return &Proof{Checkpoint: note, Size: c.Size, Hashes: hashes, Seq: seq, LeafHash: leaf}, nil
}

// ConsistencyProof proves that the tree of size1 entries is a prefix of the
// one the latest checkpoint signs: nothing before size1 was changed since
// a checkpoint of that size was handed out.
func (l *Log) ConsistencyProof(ctx context.Context, size1 uint64) (*Proof, error) {
	c, note, err := l.Latest(ctx)
	if err != nil {
		return nil, err
	}
	if size1 > c.Size {
		return nil, ErrNoCheckpoint
	}
	nodes, err := proof.Consistency(size1, c.Size)
	if err != nil {
		return nil, err
	}
	hashes, err := l.proofHashes(ctx, nodes)
	if err != nil {
		return nil, err
	}
	return &Proof{Checkpoint: note, Size: c.Size, Hashes: hashes}, nil
}

func (l *Log) proofHashes(ctx context.Context, nodes proof.Nodes) ([][]byte, error) {
	h := make([][]byte, len(nodes.IDs))
	for i, id := range nodes.IDs {
		var err error
		if h[i], err = l.nodeHash(ctx, id); err != nil {
			return nil, err
		}
	}
	return nodes.Rehash(h, hasher.HashChildren)
}

// nodeHash computes a perfect subtree's root from its leaves: the log
// keeps leaves only.
func (l *Log) nodeHash(ctx context.Context, id compact.NodeID) ([]byte, error) {
	begin, end := id.Coverage()
	rs, err := l.read.QueryContext(ctx, l.d.q("SELECT seq, leaf FROM audit_log WHERE seq > ? AND seq <= ? ORDER BY seq"), int64(begin), int64(end))
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	r := rangeFactory.NewEmptyRange(begin)
	for rs.Next() {
		var seq int64
		var leaf []byte
		if err := rs.Scan(&seq, &leaf); err != nil {
			return nil, err
		}
		if uint64(seq) != r.End()+1 {
			return nil, fmt.Errorf("audit: entry %d is missing", r.End()+1)
		}
		if err := r.Append(leaf, nil); err != nil {
			return nil, err
		}
	}
	if err := rs.Err(); err != nil {
		return nil, err
	}
	if r.End() != end || len(r.Hashes()) != 1 {
		return nil, fmt.Errorf("audit: entries %d to %d are incomplete", begin+1, end)
	}
	return r.Hashes()[0], nil
}
