package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/transparency-dev/merkle/compact"
)

// ProblemKind says what Verify found wrong.
type ProblemKind string

const (
	// Changed: the entry's AuditEvent no longer hashes to its leaf hash.
	Changed ProblemKind = "changed"
	// Reordered: the entry at Seq holds the AuditEvent recorded at To.
	Reordered ProblemKind = "reordered"
	// Missing: entries Seq to To are gone.
	Missing ProblemKind = "missing"
	// ChainBroken: the entry's chain hash does not follow from the one
	// before and its leaf: an entry was inserted, moved, or changed
	// together with its leaf hash.
	ChainBroken ProblemKind = "chain-broken"
	// Truncated: a checkpoint signed entries up to To, the log ends at
	// Seq-1.
	Truncated ProblemKind = "truncated"
	// CheckpointMismatch: the log's Merkle root or chain head at the
	// checkpoint's size (To) differs from what the checkpoint signed; the
	// change lies in entries Seq to To.
	CheckpointMismatch ProblemKind = "checkpoint-mismatch"
	// CheckpointSignature: the checkpoint at To is malformed or its
	// signature does not verify with the public key.
	CheckpointSignature ProblemKind = "checkpoint-signature"
	// CheckpointUnverifiable: entries before the checkpoint at To are
	// missing, so its root cannot be recomputed.
	CheckpointUnverifiable ProblemKind = "checkpoint-unverifiable"
)

// Problem is one thing wrong with the log.
type Problem struct {
	Kind    ProblemKind
	Seq, To int64
	Detail  string
}

func (p Problem) String() string {
	where := fmt.Sprintf("entry %d", p.Seq)
	if p.To != 0 && p.To != p.Seq {
		where = fmt.Sprintf("entries %d to %d", p.Seq, p.To)
	}
	switch p.Kind {
	case Reordered:
		where = fmt.Sprintf("entry %d", p.Seq)
	case Truncated, CheckpointSignature, CheckpointUnverifiable:
		where = fmt.Sprintf("checkpoint at size %d", p.To)
	case CheckpointMismatch:
		where = fmt.Sprintf("checkpoint at size %d (entries %d to %d)", p.To, p.Seq, p.To)
	}
	return fmt.Sprintf("%s: %s: %s", p.Kind, where, p.Detail)
}

// Report is what Verify found.
type Report struct {
	Entries     int64 // entries read
	Last        int64 // highest seq
	Checkpoints int
	// Signed is the size of the last checkpoint that verified; Unsigned
	// counts the entries after the last checkpoint, not yet covered by a
	// signature (information, not a problem).
	Signed   int64
	Unsigned int64
	Problems []Problem
	// Unlisted counts problems beyond the first maxProblems.
	Unlisted int
}

// OK reports whether nothing is wrong.
func (r *Report) OK() bool { return len(r.Problems) == 0 && r.Unlisted == 0 }

func (r *Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d entries (to seq %d), %d checkpoints, verified to size %d", r.Entries, r.Last, r.Checkpoints, r.Signed)
	if r.Unsigned > 0 {
		fmt.Fprintf(&b, "; %d entries after the last checkpoint, not yet signed", r.Unsigned)
	}
	b.WriteByte('\n')
	if r.OK() {
		b.WriteString("OK\n")
		return b.String()
	}
	fmt.Fprintf(&b, "%d problems:\n", len(r.Problems)+r.Unlisted)
	for _, p := range r.Problems {
		b.WriteString("  ")
		b.WriteString(p.String())
		b.WriteByte('\n')
	}
	if r.Unlisted > 0 {
		fmt.Fprintf(&b, "  … and %d more\n", r.Unlisted)
	}
	return b.String()
}

const (
	maxProblems = 1000
	// maxMismatches bounds the changed entries remembered to tell moves
	// from changes: memory stays bounded whatever the damage.
	maxMismatches = 100000
	verifyPage    = 2000
)

// Verify checks the whole log: every entry's leaf hash against its
// AuditEvent, the hash chain, each checkpoint's signature, and the Merkle
// root and chain head each checkpoint signed against the log. It reads the
// log in pages, holding no more than a page and a compact range. Entries
// and checkpoints written while it runs are left for the next run.
func (l *Log) Verify(ctx context.Context) (*Report, error) {
	if l.pub == nil {
		return nil, errors.New("audit: verify needs the public key")
	}
	v := &verifier{l: l, r: &Report{}, chain: make([]byte, sha256.Size), rng: rangeFactory.NewEmptyRange(0)}
	// Checkpoints first: each signs entries committed before it, so the
	// bound on entries read next covers them all unless some were deleted.
	var maxCkpt, maxSeq sql.NullInt64
	if err := l.read.QueryRowContext(ctx, "SELECT MAX(size) FROM audit_checkpoint").Scan(&maxCkpt); err != nil {
		return nil, fmt.Errorf("audit: verify: %w", err)
	}
	// Read before the log's end, so every entry the index covers is read.
	v.index = &indexCheck{l: l, bucket: -1}
	if err := l.read.QueryRowContext(ctx, "SELECT upto FROM audit_indexed").Scan(&v.index.upto); err != nil {
		return nil, fmt.Errorf("audit: verify: %w", err)
	}
	if err := l.read.QueryRowContext(ctx, "SELECT MAX(seq) FROM audit_log").Scan(&maxSeq); err != nil {
		return nil, fmt.Errorf("audit: verify: %w", err)
	}
	v.ckptMax = maxCkpt.Int64
	if err := v.nextCheckpoints(ctx); err != nil {
		return nil, err
	}
	for after := int64(0); after < maxSeq.Int64; {
		rs, err := l.read.QueryContext(ctx, l.d.q("SELECT seq, body, leaf, chain, bseg, boff, blen, recorded, agent, org, purpose, btg, patients FROM audit_log WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?"), after, maxSeq.Int64, verifyPage)
		if err != nil {
			return nil, fmt.Errorf("audit: verify: %w", err)
		}
		n := 0
		for rs.Next() {
			var seq int64
			var body string
			var leaf, chain []byte
			var seg, off, size, btg int64
			var f filters
			if err := rs.Scan(&seq, &body, &leaf, &chain, &seg, &off, &size, &f.recorded, &f.agent, &f.org, &f.purpose, &btg, &f.patients); err != nil {
				rs.Close()
				return nil, err
			}
			f.btg = btg != 0
			// An event that cannot be read (its segment gone or cut) is
			// checked as empty: it shows as changed, or as moved.
			ev, _ := l.event(body, seg, off, size)
			if err := v.row(ctx, seq, ev, leaf, chain, f); err != nil {
				rs.Close()
				return nil, err
			}
			after = seq
			n++
		}
		rs.Close()
		if err := rs.Err(); err != nil {
			return nil, err
		}
		if n == 0 {
			break
		}
	}
	v.finishBucket()
	if err := v.checkpointsBelow(ctx, 1<<62, true); err != nil {
		return nil, err
	}
	v.moves()
	v.r.Last = v.seq
	if v.lastCkpt < v.r.Last {
		v.r.Unsigned = v.r.Last - v.lastCkpt
	}
	return v.r, nil
}

type verifier struct {
	l     *Log
	r     *Report
	seq   int64  // last entry read
	chain []byte // its chain hash
	rng   *compact.Range
	gap   bool // an entry is missing: later roots cannot be recomputed

	ckpts    []ckptRow // the page of checkpoints not yet checked
	ckptAt   int64     // size of the last checkpoint fetched
	ckptMax  int64
	lastCkpt int64 // size of the last checkpoint checked
	lastGood int64 // size of the last checkpoint that matched

	mismatched []mismatch
	index      *indexCheck
}

type ckptRow struct {
	size int64
	note string
}

type mismatch struct {
	seq              int64
	computed, stored []byte
}

func (v *verifier) problem(p Problem) {
	if len(v.r.Problems) >= maxProblems {
		v.r.Unlisted++
		return
	}
	v.r.Problems = append(v.r.Problems, p)
}

// row checks one entry, then, if its AuditEvent can be trusted, the
// columns and index entries queries read for it.
func (v *verifier) row(ctx context.Context, seq int64, ev, leaf, chain []byte, f filters) error {
	authentic, err := v.entry(ctx, seq, ev, leaf, chain)
	switch {
	case err != nil:
		return err
	case authentic:
		return v.checkFilters(ctx, seq, ev, f)
	}
	// What it says is not known: its index entries are not compared, nor
	// left over as no entry's.
	_, _, err = v.indexed(ctx, seq)
	return err
}

// entry checks one entry; authentic reports whether its AuditEvent hashes
// to its leaf and its chain hash follows, so what it says can be trusted.
func (v *verifier) entry(ctx context.Context, seq int64, body, leaf, chain []byte) (authentic bool, err error) {
	if err := v.checkpointsBelow(ctx, seq, false); err != nil {
		return false, err
	}
	v.r.Entries++
	chained := true
	if seq != v.seq+1 {
		v.problem(Problem{Kind: Missing, Seq: v.seq + 1, To: seq - 1, Detail: "deleted from the log"})
		v.gap = true
	} else if !bytes.Equal(chainHash(v.chain, leaf), chain) {
		v.problem(Problem{Kind: ChainBroken, Seq: seq, Detail: "its chain hash does not follow from the entry before and its leaf hash"})
		chained = false
	}
	computed := hasher.HashLeaf(body)
	hashes := bytes.Equal(computed, leaf)
	authentic = chained && hashes
	if !hashes {
		if len(v.mismatched) < maxMismatches {
			v.mismatched = append(v.mismatched, mismatch{seq: seq, computed: computed, stored: leaf})
		} else {
			v.problem(Problem{Kind: Changed, Seq: seq, Detail: "its AuditEvent does not match its leaf hash"})
		}
	}
	if !v.gap {
		// The tree is rebuilt from the stored leaf hashes, each checked
		// against its body above: a change shows once, where it is.
		if len(leaf) != sha256.Size {
			leaf = make([]byte, sha256.Size)
		}
		if err := v.rng.Append(leaf, nil); err != nil {
			return false, err
		}
	}
	v.seq, v.chain = seq, chain
	return authentic, nil
}

// moves tells reordered entries (a body now at a seq whose stored leaf is
// another's) from changed ones.
func (v *verifier) moves() {
	byStored := make(map[string]int64, len(v.mismatched))
	for _, m := range v.mismatched {
		byStored[string(m.stored)] = m.seq
	}
	for _, m := range v.mismatched {
		if from, ok := byStored[string(m.computed)]; ok {
			v.problem(Problem{Kind: Reordered, Seq: m.seq, To: from, Detail: fmt.Sprintf("holds the AuditEvent recorded as entry %d", from)})
			continue
		}
		v.problem(Problem{Kind: Changed, Seq: m.seq, Detail: "its AuditEvent does not match its leaf hash"})
	}
}

func (v *verifier) nextCheckpoints(ctx context.Context) error {
	v.ckpts = v.ckpts[:0]
	if v.ckptAt >= v.ckptMax {
		return nil
	}
	rs, err := v.l.read.QueryContext(ctx, v.l.d.q("SELECT size, note FROM audit_checkpoint WHERE size > ? AND size <= ? ORDER BY size LIMIT ?"), v.ckptAt, v.ckptMax, verifyPage)
	if err != nil {
		return fmt.Errorf("audit: verify: %w", err)
	}
	defer rs.Close()
	for rs.Next() {
		var c ckptRow
		if err := rs.Scan(&c.size, &c.note); err != nil {
			return err
		}
		v.ckpts = append(v.ckpts, c)
		v.ckptAt = c.size
	}
	return rs.Err()
}

// checkpointsBelow checks the checkpoints of size below seq, all of which
// the entries read so far should cover; at the end (final) the rest.
func (v *verifier) checkpointsBelow(ctx context.Context, seq int64, final bool) error {
	for {
		if len(v.ckpts) == 0 {
			if err := v.nextCheckpoints(ctx); err != nil {
				return err
			}
			if len(v.ckpts) == 0 {
				return nil
			}
		}
		c := v.ckpts[0]
		if c.size >= seq {
			return nil
		}
		v.ckpts = v.ckpts[1:]
		v.checkpoint(c, final)
	}
}

func (v *verifier) checkpoint(row ckptRow, final bool) {
	v.r.Checkpoints++
	v.lastCkpt = row.size
	c, err := OpenNote(row.note, v.l.pub)
	if err != nil {
		v.problem(Problem{Kind: CheckpointSignature, To: row.size, Detail: err.Error()})
		return
	}
	if c.Origin != v.l.o.Origin {
		v.problem(Problem{Kind: CheckpointSignature, To: row.size, Detail: fmt.Sprintf("signed for log %q, not %q", c.Origin, v.l.o.Origin)})
		return
	}
	if int64(c.Size) != row.size {
		v.problem(Problem{Kind: CheckpointSignature, To: row.size, Detail: fmt.Sprintf("its note signs size %d", c.Size)})
		return
	}
	if row.size > v.seq {
		if final {
			v.problem(Problem{Kind: Truncated, Seq: v.seq + 1, To: row.size, Detail: fmt.Sprintf("signed %d entries, the log ends at %d: entries %d to %d deleted", row.size, v.seq, v.seq+1, row.size)})
		} else {
			v.problem(Problem{Kind: CheckpointUnverifiable, To: row.size, Detail: fmt.Sprintf("entry %d is missing", row.size)})
		}
		return
	}
	if v.gap || int64(v.rng.End()) != row.size {
		v.problem(Problem{Kind: CheckpointUnverifiable, To: row.size, Detail: "entries before it are missing"})
		return
	}
	root, err := v.rng.GetRootHash(nil)
	if err != nil {
		v.problem(Problem{Kind: CheckpointUnverifiable, To: row.size, Detail: err.Error()})
		return
	}
	var what []string
	if !bytes.Equal(root, c.Root) {
		what = append(what, "Merkle root")
	}
	if !bytes.Equal(v.chain, c.Chain) {
		what = append(what, "chain head")
	}
	if len(what) > 0 {
		v.problem(Problem{Kind: CheckpointMismatch, Seq: v.lastGood + 1, To: row.size, Detail: "the log's " + strings.Join(what, " and ") + " not what was signed"})
		return
	}
	v.lastGood = row.size
	v.r.Signed = row.size
}
