package hl7v2

import (
	"strconv"
	"strings"
)

// MessageType is MSH-9: message code, trigger event and message
// structure, such as ADT, A04 and ADT_A01.
type MessageType struct {
	Code, Trigger, Structure string
}

// String writes the type as ER7 does: "ADT^A04^ADT_A01", leaving out what
// is empty at the end.
func (t MessageType) String() string {
	s := t.Code + "^" + t.Trigger + "^" + t.Structure
	return strings.TrimRight(s, "^")
}

// HD is a hierarchic designator (applications, facilities, assigning
// authorities): a local namespace id and/or a universal id with its type
// (ISO for an OID, URI, DNS...).
type HD struct {
	Namespace, UniversalID, UniversalIDType string
}

// HDOf reads a repetition (or a component holding sub-components, read
// through Rep) as an HD.
func HDOf(r Rep) HD {
	return HD{Namespace: r.Comp(1).String(), UniversalID: r.Comp(2).String(), UniversalIDType: r.Comp(3).String()}
}

// HDOfComp reads an HD held in one component, its parts as sub-components
// (the assigning authority of a CX or XCN).
func HDOfComp(c Comp) HD {
	return HD{Namespace: c.Sub(1), UniversalID: c.Sub(2), UniversalIDType: c.Sub(3)}
}

// String is the namespace, or the universal id when there is none.
func (h HD) String() string {
	if h.Namespace != "" {
		return h.Namespace
	}
	return h.UniversalID
}

// IsZero reports whether h names nothing.
func (h HD) IsZero() bool { return h.Namespace == "" && h.UniversalID == "" }

func (m *Message) msh() *Segment { return m.Segment("MSH") }

// Type returns MSH-9.
func (m *Message) Type() MessageType {
	f := m.msh().Field(9)
	return MessageType{Code: f.Comp(1).String(), Trigger: f.Comp(2).String(), Structure: f.Comp(3).String()}
}

// ControlID returns MSH-10, the id the sender will match the ACK against.
func (m *Message) ControlID() string { return m.msh().Field(10).String() }

// ProcessingID returns MSH-11: P production, T training, D debugging.
func (m *Message) ProcessingID() string { return m.msh().Field(11).String() }

// Version returns MSH-12, such as "2.4".
func (m *Message) Version() string { return m.msh().Field(12).String() }

// SendingApplication returns MSH-3.
func (m *Message) SendingApplication() HD { return HDOf(m.msh().Field(3).Rep(1)) }

// SendingFacility returns MSH-4.
func (m *Message) SendingFacility() HD { return HDOf(m.msh().Field(4).Rep(1)) }

// ReceivingApplication returns MSH-5.
func (m *Message) ReceivingApplication() HD { return HDOf(m.msh().Field(5).Rep(1)) }

// ReceivingFacility returns MSH-6.
func (m *Message) ReceivingFacility() HD { return HDOf(m.msh().Field(6).Rep(1)) }

// Time returns MSH-7, when the message was created.
func (m *Message) Time() (Time, error) { return ParseTime(m.msh().Field(7).String(), nil) }

// AcceptAckType returns MSH-15: AL always, NE never, ER on error or
// reject only, SU on success only; empty in original acknowledgement
// mode.
func (m *Message) AcceptAckType() string { return m.msh().Field(15).String() }

// AppAckType returns MSH-16, with the values of MSH-15.
func (m *Message) AppAckType() string { return m.msh().Field(16).String() }

// VersionAtLeast reports whether version v (such as "2.3.1") is min or
// later. An unreadable version counts as older than any.
func VersionAtLeast(v, min string) bool {
	a, b := versionParts(v), versionParts(min)
	if a == nil {
		return false
	}
	for i := 0; i < max(len(a), len(b)); i++ {
		var x, y int
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if x != y {
			return x > y
		}
	}
	return true
}

func versionParts(v string) []int {
	if v == "" {
		return nil
	}
	var out []int
	for _, p := range strings.Split(v, ".") {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return nil
		}
		out = append(out, n)
	}
	return out
}
