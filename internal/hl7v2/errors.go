package hl7v2

import (
	"errors"
	"fmt"
	"strconv"
)

// ErrorCode is an HL7 message error condition (table 0357), sent in ERR.
type ErrorCode int

// Error conditions of table 0357. The 1xx codes are about the content of
// the message (the sender should correct it: AE); the 2xx codes about
// whether this receiver can take it at all (AR).
const (
	CodeSegmentSequence        ErrorCode = 100 // segment missing, out of order or unreadable
	CodeRequiredFieldMissing   ErrorCode = 101
	CodeDataType               ErrorCode = 102 // a value of the wrong form
	CodeTableValue             ErrorCode = 103 // a code not in its table
	CodeValueTooLong           ErrorCode = 104
	CodeUnsupportedMessageType ErrorCode = 200
	CodeUnsupportedEvent       ErrorCode = 201
	CodeUnsupportedProcessing  ErrorCode = 202
	CodeUnsupportedVersion     ErrorCode = 203
	CodeUnknownKey             ErrorCode = 204 // e.g. a merge of a patient not known
	CodeDuplicateKey           ErrorCode = 205
	CodeRecordLocked           ErrorCode = 206
	CodeInternal               ErrorCode = 207 // application internal error
)

var codeText = map[ErrorCode]string{
	CodeSegmentSequence:        "Segment sequence error",
	CodeRequiredFieldMissing:   "Required field missing",
	CodeDataType:               "Data type error",
	CodeTableValue:             "Table value not found",
	CodeValueTooLong:           "Value too long",
	CodeUnsupportedMessageType: "Unsupported message type",
	CodeUnsupportedEvent:       "Unsupported event code",
	CodeUnsupportedProcessing:  "Unsupported processing id",
	CodeUnsupportedVersion:     "Unsupported version id",
	CodeUnknownKey:             "Unknown key identifier",
	CodeDuplicateKey:           "Duplicate key identifier",
	CodeRecordLocked:           "Application record locked",
	CodeInternal:               "Application internal error",
}

// Text is the code's name in table 0357.
func (c ErrorCode) Text() string {
	if t, ok := codeText[c]; ok {
		return t
	}
	return "Error " + strconv.Itoa(int(c))
}

// Error is why a message was not accepted, as a Handler returns it: the
// condition code, where in the message the fault is and a message for the
// sender. The server turns it into the ACK's MSA-1 (AE or AR) and ERR
// segment. Msg is sent to the sender and Err is only logged; neither
// should quote patient data.
type Error struct {
	Code ErrorCode
	// Location is a path such as "PID-3", "PID-3(2)-1" or "OBX(2)-5";
	// empty when the fault is in no one place.
	Location string
	Msg      string
	// Reject asks for AR (rejected: resending the same message later may
	// succeed, or the receiver cannot take this kind of message) rather
	// than AE (the content is in error). Codes 200 to 203, 206 and 207
	// reject whatever Reject says.
	Reject bool
	Err    error
}

// Errorf returns an *Error with a formatted message.
func Errorf(code ErrorCode, location, format string, args ...any) *Error {
	return &Error{Code: code, Location: location, Msg: fmt.Sprintf(format, args...)}
}

func (e *Error) Error() string {
	s := "hl7v2: "
	if e.Location != "" {
		s += e.Location + ": "
	}
	if e.Msg != "" {
		s += e.Msg
	} else {
		s += e.Code.Text()
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// AckCode is the acknowledgement code the error calls for in original
// mode: "AE" or "AR".
func (e *Error) AckCode() string {
	switch e.Code {
	case CodeUnsupportedMessageType, CodeUnsupportedEvent, CodeUnsupportedProcessing, CodeUnsupportedVersion,
		CodeRecordLocked, CodeInternal:
		return "AR"
	}
	if e.Reject {
		return "AR"
	}
	return "AE"
}

// AsError returns err as an *Error: itself if it is one (or wraps one); a
// ParseError as a segment sequence or data type error at its place
// (rejected when the header itself cannot be read); anything else as an
// application internal error, rejected so that the sender tries again.
func AsError(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var pe *ParseError
	if errors.As(err, &pe) {
		out := &Error{Code: CodeSegmentSequence, Msg: pe.Msg, Err: err}
		if pe.Field > 0 {
			out.Code = CodeDataType
		}
		if pe.Name != "" {
			p := pe.Path()
			p.SegmentRep = 0
			out.Location = p.String()
		}
		out.Reject = pe.Segment <= 1
		return out
	}
	return &Error{Code: CodeInternal, Err: err}
}
