// Package fhir holds what every layer of sharedcare shares about FHIR R4 as
// JSON: the error type whose kind decides the HTTP status and the
// OperationOutcome issue code, the safe resource decoder (numbers kept as
// written, never through float64), the canonical resource writer that sets
// the server-owned id and meta, and the few structs the server itself reads
// (Bundle entries, Reference, OperationOutcome).
package fhir

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Kind classifies an error. Each kind maps, in one place (Status and
// IssueCode), to an HTTP status and an OperationOutcome issue code, so no
// layer below the REST edge needs to know about HTTP.
type Kind int

const (
	Internal         Kind = iota // a bug or an infrastructure failure: 500
	Invalid                      // malformed or structurally invalid input: 400
	Unprocessable                // well-formed but fails validation rules: 422
	NotFound                     // no such resource or version: 404
	Gone                         // deleted: 410
	Conflict                     // version or state conflict: 409
	PreconditionFail             // If-Match and friends: 412
	Forbidden                    // access denied: 403
	Unauthorized                 // no or bad credentials: 401
	NotSupported                 // an interaction or parameter we do not implement: 501/400
	MethodNotAllowed             // 405
	NotAcceptable                // Accept asks for a format we do not produce: 406
	UnsupportedMedia             // request body format we do not read: 415
	TooLarge                     // request body too large: 413
	MultipleMatches              // conditional operation matched more than one: 412
	Unavailable                  // shutting down or overloaded: 503
)

// Status is the HTTP status for a kind.
func (k Kind) Status() int {
	switch k {
	case Invalid:
		return http.StatusBadRequest
	case Unprocessable:
		return http.StatusUnprocessableEntity
	case NotFound:
		return http.StatusNotFound
	case Gone:
		return http.StatusGone
	case Conflict:
		return http.StatusConflict
	case PreconditionFail, MultipleMatches:
		return http.StatusPreconditionFailed
	case Forbidden:
		return http.StatusForbidden
	case Unauthorized:
		return http.StatusUnauthorized
	case NotSupported:
		return http.StatusNotImplemented
	case MethodNotAllowed:
		return http.StatusMethodNotAllowed
	case NotAcceptable:
		return http.StatusNotAcceptable
	case UnsupportedMedia:
		return http.StatusUnsupportedMediaType
	case TooLarge:
		return http.StatusRequestEntityTooLarge
	case Unavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// IssueCode is the OperationOutcome.issue.code (http://hl7.org/fhir/issue-type).
func (k Kind) IssueCode() string {
	switch k {
	case Invalid:
		return "invalid"
	case Unprocessable:
		return "processing"
	case NotFound, Gone:
		return "not-found"
	case Conflict, PreconditionFail:
		return "conflict"
	case MultipleMatches:
		return "multiple-matches"
	case Forbidden:
		return "forbidden"
	case Unauthorized:
		return "login"
	case NotSupported, MethodNotAllowed, NotAcceptable, UnsupportedMedia:
		return "not-supported"
	case TooLarge:
		return "too-costly"
	case Unavailable:
		return "transient"
	}
	return "exception"
}

func (k Kind) String() string {
	switch k {
	case Invalid:
		return "invalid"
	case Unprocessable:
		return "unprocessable"
	case NotFound:
		return "not found"
	case Gone:
		return "gone"
	case Conflict:
		return "conflict"
	case PreconditionFail:
		return "precondition failed"
	case Forbidden:
		return "forbidden"
	case Unauthorized:
		return "unauthorized"
	case NotSupported:
		return "not supported"
	case MethodNotAllowed:
		return "method not allowed"
	case NotAcceptable:
		return "not acceptable"
	case UnsupportedMedia:
		return "unsupported media type"
	case TooLarge:
		return "too large"
	case MultipleMatches:
		return "multiple matches"
	case Unavailable:
		return "unavailable"
	}
	return "internal"
}

// Issue is one finding about a request, with the FHIRPath expression of the
// offending element where there is one.
type Issue struct {
	Severity    string // fatal | error | warning | information
	Code        string // issue-type code; empty means the error's kind decides
	Diagnostics string
	Expression  []string
}

// Error is the one error type of sharedcare. Op names the operation that
// failed ("create", "transaction entry 3"); Msg is safe to show to the
// client; Err is the cause, logged but never sent to the client when Kind is
// Internal.
type Error struct {
	Kind   Kind
	Op     string
	Msg    string
	Issues []Issue
	Err    error
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}
	if e.Msg != "" {
		b.WriteString(e.Msg)
	} else {
		b.WriteString(e.Kind.String())
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// E builds an Error with a message.
func E(k Kind, format string, args ...any) *Error {
	return &Error{Kind: k, Msg: fmt.Sprintf(format, args...)}
}

// Wrap builds an Error of kind k around a cause; the cause is logged, not shown.
func Wrap(k Kind, err error, format string, args ...any) *Error {
	return &Error{Kind: k, Msg: fmt.Sprintf(format, args...), Err: err}
}

// WithIssues returns an Error carrying findings.
func WithIssues(k Kind, msg string, issues []Issue) *Error {
	return &Error{Kind: k, Msg: msg, Issues: issues}
}

// KindOf returns the kind of err: Internal for errors that are not *Error.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}

// Is reports whether err is an *Error of kind k.
func Is(err error, k Kind) bool { return err != nil && KindOf(err) == k }

// Outcome renders err as an OperationOutcome. Internal errors say only that
// something went wrong on the server; their cause belongs in the log.
func Outcome(err error) *OperationOutcome {
	var e *Error
	if !errors.As(err, &e) {
		return &OperationOutcome{ResourceType: "OperationOutcome", Issue: []OutcomeIssue{{
			Severity: "error", Code: "exception", Diagnostics: "internal server error",
		}}}
	}
	oo := &OperationOutcome{ResourceType: "OperationOutcome"}
	msg := e.Msg
	if e.Kind == Internal {
		msg = "internal server error"
	}
	if e.Op != "" && e.Kind != Internal {
		msg = e.Op + ": " + msg
	}
	if len(e.Issues) == 0 || msg != "" {
		oo.Issue = append(oo.Issue, OutcomeIssue{Severity: "error", Code: e.Kind.IssueCode(), Diagnostics: msg})
	}
	for _, is := range e.Issues {
		sev := is.Severity
		if sev == "" {
			sev = "error"
		}
		code := is.Code
		if code == "" {
			code = e.Kind.IssueCode()
		}
		oo.Issue = append(oo.Issue, OutcomeIssue{Severity: sev, Code: code, Diagnostics: is.Diagnostics, Expression: is.Expression})
	}
	return oo
}

// OperationOutcome is the FHIR resource for reporting errors and warnings.
type OperationOutcome struct {
	ResourceType string         `json:"resourceType"`
	ID           string         `json:"id,omitempty"`
	Issue        []OutcomeIssue `json:"issue"`
}

// OutcomeIssue is OperationOutcome.issue.
type OutcomeIssue struct {
	Severity    string   `json:"severity"`
	Code        string   `json:"code"`
	Diagnostics string   `json:"diagnostics,omitempty"`
	Expression  []string `json:"expression,omitempty"`
}

// Info builds an informational OperationOutcome (for Prefer: return=OperationOutcome).
func Info(msg string) *OperationOutcome {
	return &OperationOutcome{ResourceType: "OperationOutcome", Issue: []OutcomeIssue{{Severity: "information", Code: "informational", Diagnostics: msg}}}
}

// Warnings is an OperationOutcome of warnings, for a search Bundle's
// outcome entry (parameters ignored, results capped).
func Warnings(msgs []string) *OperationOutcome {
	oo := &OperationOutcome{ResourceType: "OperationOutcome"}
	for _, m := range msgs {
		oo.Issue = append(oo.Issue, OutcomeIssue{Severity: "warning", Code: "informational", Diagnostics: m})
	}
	return oo
}
