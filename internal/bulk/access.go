package bulk

import (
	"context"
	"errors"

	"github.com/sharedcare/sharedcare/internal/fhir"
)

// Op is what a bulk job does with a resource.
type Op int

const (
	Read  Op = iota // an export reads it
	Write           // an import writes it
)

func (o Op) String() string {
	if o == Write {
		return "write"
	}
	return "read"
}

// Subject is one resource a bulk job is about to read or write.
type Subject struct {
	Type, ID string
	// PatientKey is the Patient whose record a stored resource is in ("" if
	// none); set on reads.
	PatientKey string
	// Body is the stored JSON, on reads.
	Body []byte
	// Object is the decoded resource, on writes; do not modify it.
	Object fhir.Object
}

// Access decides whether the job may read or write one resource: nil to go
// ahead, an error (a fhir.Error of kind Forbidden, typically) to leave it
// out, reported as that resource's error. The requester is in ctx: a job
// runs with the values of the request that started it.
type Access func(ctx context.Context, op Op, s Subject) error

// ErrLeftOut, wrapped by an Access error, leaves a resource out of an
// export without an error line: what secondary use may not see (a person
// who opted out) must not even be named in the error file.
var ErrLeftOut = errors.New("left out")

// check is the one place every resource of a bulk job passes through.
// Without an Access function everything is allowed: there is no access
// control yet on any path.
func check(ctx context.Context, a Access, op Op, s Subject) error {
	if a == nil {
		return nil
	}
	return a(ctx, op, s)
}
