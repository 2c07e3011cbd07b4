package access

import (
	"context"
	"slices"
	"sync"
)

// Note collects, while a request runs, what the audit must say about it:
// whose records it touched, which resources, under what purpose, whether a
// break-glass opened them and whether anything was withheld. The record
// service fills it in as it decides; the HTTP edge writes it to the audit
// log when the request ends.
type Note struct {
	mu         sync.Mutex
	patients   []string
	entities   []string
	purpose    string
	breakGlass *Grant
	withheld   int
	refused    string
	grounds    string
}

// maxEntities bounds the resources one audit entry names: a search page
// names its matches, not a whole export.
const maxEntities = 200

type noteKey struct{}

// WithNote returns ctx carrying a fresh Note.
func WithNote(ctx context.Context) (context.Context, *Note) {
	n := &Note{}
	return context.WithValue(ctx, noteKey{}, n), n
}

// NoteFrom returns the Note ctx carries, or nil (writes to a nil Note are
// dropped).
func NoteFrom(ctx context.Context) *Note {
	n, _ := ctx.Value(noteKey{}).(*Note)
	return n
}

// Patient records that a person's record (one of their Patient ids) was
// touched.
func (n *Note) Patient(ids ...string) {
	if n == nil {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, id := range ids {
		if id != "" && !slices.Contains(n.patients, id) {
			n.patients = append(n.patients, id)
		}
	}
}

// Entity records a resource reference that was read or written.
func (n *Note) Entity(ref string) {
	if n == nil {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.entities) < maxEntities {
		n.entities = append(n.entities, ref)
	}
}

// Decision records the purpose and break-glass of a decision.
func (n *Note) Decision(d Decision) {
	if n == nil {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if d.Purpose != "" && (n.purpose == "" || d.BreakGlass != nil) {
		n.purpose = d.Purpose
	}
	if d.BreakGlass != nil {
		n.breakGlass = d.BreakGlass
	}
	if !d.Allowed && n.refused == "" {
		n.refused = d.Why
	}
	if d.Allowed && d.Why != "" && n.grounds == "" {
		n.grounds = d.Why
	}
}

// Withheld records that k items were held back.
func (n *Note) Withheld(k int) {
	if n == nil {
		return
	}
	n.mu.Lock()
	n.withheld += k
	n.mu.Unlock()
}

// NoteSummary is what a Note holds at the end of a request.
type NoteSummary struct {
	Patients, Entities []string
	Purpose            string
	BreakGlass         *Grant
	Withheld           int
	Refused            string
	// Grounds is why access was granted (the first allowed decision's
	// Why: a relationship, a delegation, a share with the organisation).
	Grounds string
}

// Summary returns a copy of what the note holds.
func (n *Note) Summary() NoteSummary {
	if n == nil {
		return NoteSummary{}
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return NoteSummary{Patients: slices.Clone(n.patients), Entities: slices.Clone(n.entities), Purpose: n.purpose,
		BreakGlass: n.breakGlass, Withheld: n.withheld, Refused: n.refused, Grounds: n.grounds}
}

// WithoutNote returns ctx with no Note: for the lookups the access
// decision itself makes, which are not the request's own reads.
func WithoutNote(ctx context.Context) context.Context {
	return context.WithValue(ctx, noteKey{}, (*Note)(nil))
}
