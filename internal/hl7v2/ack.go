package hl7v2

import (
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"time"
)

// Acknowledgement codes (MSA-1). Original mode answers with an application
// acknowledgement; enhanced mode's accept acknowledgement says only
// whether the message was safely received (committed).
const (
	AckAccept      = "AA" // application accept
	AckError       = "AE" // application error: the content is wrong
	AckReject      = "AR" // application reject: not this kind of message, or try again later
	AckCommit      = "CA" // enhanced mode: commit accept
	AckCommitError = "CE" // enhanced mode: commit error
	AckCommitRej   = "CR" // enhanced mode: commit reject
)

// AckOptions fill the parts of an ACK the original message does not give.
type AckOptions struct {
	// Application and Facility are this receiver's names (MSH-3 and
	// MSH-4 of the ACK) when the message did not name its receiver in
	// MSH-5 and MSH-6.
	Application, Facility string
	// Time is MSH-7; zero means now.
	Time time.Time
	// ControlID is the ACK's own MSH-10; empty means a random one.
	ControlID string
}

// NewAck builds the acknowledgement of m with code (AA, AE, AR or, in
// enhanced mode, CA, CE, CR). The ACK is in m's version and delimiters;
// its MSH names m's receiver as sender and m's sender as receiver, its
// type is ACK^<m's trigger>^ACK and MSA-2 is m's control id. m may be
// nil or hold only an MSH when the message could not be read: the ACK is
// then built from what there is.
//
// When err is not nil an ERR segment says what was wrong and where (see
// Error): in v2.5 and later in ERR-2 (location), ERR-3 (the table 0357
// code), ERR-4 (severity) and ERR-8 (the message); before v2.5 in ERR-1
// (segment^sequence^field^code), with the message in MSA-3 and the code
// in MSA-6 as those versions define them.
func NewAck(m *Message, code string, err error, opt AckOptions) *Message {
	d := DefaultDelimiters
	if m != nil && m.Delims.Component != 0 && m.Delims.SubComponent != 0 && m.Delims.Escape != 0 && m.Delims.Repetition != 0 {
		d = m.Delims
		d.Truncation = 0
	}
	a := NewMessage(d)
	msh := &a.Segments[0]
	orig := m.Segment("MSH")
	raw := func(n int) string { return orig.Field(n).Raw() }
	version := m.Version()
	if version == "" {
		version = "2.5"
	}
	app, fac := raw(5), raw(6)
	if app == "" && fac == "" {
		app, fac = d.EscapeString(opt.Application), d.EscapeString(opt.Facility)
	}
	when := opt.Time
	if when.IsZero() {
		when = time.Now()
	}
	id := opt.ControlID
	if id == "" {
		id = newControlID()
	}
	msgType := "ACK"
	if trigger := orig.Field(9).Comp(2).Raw(); trigger != "" {
		msgType += string(d.Component) + trigger
		if VersionAtLeast(version, "2.3.1") {
			msgType += string(d.Component) + "ACK"
		}
	}
	processing := raw(11)
	if processing == "" {
		processing = "P"
	}
	versionRaw := raw(12)
	if versionRaw == "" {
		versionRaw = version
	}
	for n, v := range map[int]string{
		3: app, 4: fac, 5: raw(3), 6: raw(4), 7: FormatTime(when), 9: msgType, 10: d.EscapeString(id),
		11: processing, 12: versionRaw, 18: raw(18),
	} {
		if v != "" {
			msh.SetRaw(n, v)
		}
	}

	e := AsError(err)
	modern := VersionAtLeast(version, "2.5")
	msa := a.Add("MSA", code, m.ControlID())
	if e != nil && !modern {
		msa.Set(3, e.message())
		msa.SetRaw(6, d.EscapeString(strconv.Itoa(int(e.Code)))+string(d.Component)+d.EscapeString(e.Code.Text())+string(d.Component)+"HL70357")
	}
	if e == nil {
		return a
	}
	loc, _ := ParsePath(e.Location)
	num := func(n int) string {
		if n == 0 {
			return ""
		}
		return strconv.Itoa(n)
	}
	seq := ""
	if loc.Segment != "" {
		seq = strconv.Itoa(max(loc.SegmentRep, 1))
	}
	errSeg := a.Add("ERR")
	c, s := string(d.Component), string(d.SubComponent)
	if modern {
		// ERL: segment ^ sequence ^ field ^ repetition ^ component ^ sub-component.
		rep := ""
		if loc.Field > 0 {
			rep = strconv.Itoa(max(loc.Rep, 1))
		}
		erl := trimRight(loc.Segment+c+seq+c+num(loc.Field)+c+rep+c+num(loc.Comp)+c+num(loc.Sub), d.Component)
		errSeg.SetRaw(2, erl)
		errSeg.SetRaw(3, strconv.Itoa(int(e.Code))+c+d.EscapeString(e.Code.Text())+c+"HL70357")
		errSeg.SetRaw(4, "E")
		errSeg.Set(8, e.message())
	} else {
		// ELD: segment ^ sequence ^ field ^ code (a CE, its parts as
		// sub-components).
		errSeg.SetRaw(1, loc.Segment+c+seq+c+num(loc.Field)+c+
			strconv.Itoa(int(e.Code))+s+d.EscapeString(e.Code.Text())+s+"HL70357")
	}
	return a
}

// message is the text for the sender: Msg, or the code's name.
func (e *Error) message() string {
	if e.Msg != "" {
		return e.Msg
	}
	return e.Code.Text()
}

func trimRight(s string, c byte) string {
	for len(s) > 0 && s[len(s)-1] == c {
		s = s[:len(s)-1]
	}
	return s
}

// newControlID returns 20 random hexadecimal digits: as long as MSH-10
// may be before v2.5.
func newControlID() string {
	var b [10]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// AckCodeOf returns an ACK's MSA-1.
func AckCodeOf(ack *Message) string { return ack.Get("MSA-1") }

// ackMode decides the acknowledgement of a message that was handled with
// outcome err: the code to send, or send false when the sender asked for
// none.
//
// In original mode (MSH-15 and MSH-16 both empty) the answer is always
// the application acknowledgement AA, AE or AR. In enhanced mode the
// server's accept acknowledgement (CA, CE, CR) is sent as MSH-15 asks (AL
// always, the default; NE never; ER on error; SU on success). Handlers
// commit before returning, so the application outcome is known at the
// same moment; when MSH-15 asks for no accept acknowledgement but MSH-16
// asks for an application one, that (AA, AE, AR) is sent on the same
// connection instead. The server never originates a separate application
// acknowledgement message.
func ackMode(m *Message, err *Error) (code string, send bool) {
	accept, app := m.AcceptAckType(), m.AppAckType()
	appCode := AckAccept
	if err != nil {
		appCode = err.AckCode()
	}
	if accept == "" && app == "" {
		return appCode, true
	}
	ok := err == nil
	if accept == "" {
		accept = "AL"
	}
	if wants(accept, ok) {
		switch appCode {
		case AckAccept:
			return AckCommit, true
		case AckError:
			return AckCommitError, true
		}
		return AckCommitRej, true
	}
	if wants(app, ok) {
		return appCode, true
	}
	return "", false
}

// wants reports whether acknowledgement condition cond (table 0155) calls
// for an acknowledgement after a success (ok) or a failure.
func wants(cond string, ok bool) bool {
	switch cond {
	case "NE", "":
		return false
	case "ER":
		return !ok
	case "SU":
		return ok
	}
	return true // AL, and anything unknown: answering is the safe side
}
