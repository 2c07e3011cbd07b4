package hl7v2

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

var ackTime = time.Date(2024, 5, 6, 7, 8, 9, 0, time.FixedZone("", 3600))

func TestNewAck(t *testing.T) {
	msg := func(version string) *Message {
		return mustParse(t, "MSH|^~\\&|PAS|RHQ|SHAREDCARE|QF7|20240506070000||ADT^A01^ADT_A01|C42|P|"+version+"|||AL|NE||8859/1\rPID|1")
	}
	opt := AckOptions{Time: ackTime, ControlID: "ACK1", Application: "SC", Facility: "X"}
	tests := []struct {
		name string
		m    *Message
		code string
		err  error
		want string
	}{
		{
			name: "v2.5 accept",
			m:    msg("2.5"), code: "AA",
			want: "MSH|^~\\&|SHAREDCARE|QF7|PAS|RHQ|20240506070809+0100||ACK^A01^ACK|ACK1|P|2.5||||||8859/1\r" +
				"MSA|AA|C42\r",
		},
		{
			name: "v2.5.1 error naming a component",
			m:    msg("2.5.1"), code: "AE",
			err: Errorf(CodeDataType, "PID-3(2)-1", "NHS number fails its check digit"),
			want: "MSH|^~\\&|SHAREDCARE|QF7|PAS|RHQ|20240506070809+0100||ACK^A01^ACK|ACK1|P|2.5.1||||||8859/1\r" +
				"MSA|AE|C42\r" +
				"ERR||PID^1^3^2^1|102^Data type error^HL70357|E||||NHS number fails its check digit\r",
		},
		{
			name: "v2.4 error",
			m:    msg("2.4"), code: "AE",
			err: Errorf(CodeRequiredFieldMissing, "OBX(3)-5", "no value"),
			want: "MSH|^~\\&|SHAREDCARE|QF7|PAS|RHQ|20240506070809+0100||ACK^A01^ACK|ACK1|P|2.4||||||8859/1\r" +
				"MSA|AE|C42|no value|||101^Required field missing^HL70357\r" +
				"ERR|OBX^3^5^101&Required field missing&HL70357\r",
		},
		{
			name: "v2.3: no message structure; an internal error",
			m:    msg("2.3"), code: "AR",
			err: errors.New("database is down"),
			want: "MSH|^~\\&|SHAREDCARE|QF7|PAS|RHQ|20240506070809+0100||ACK^A01|ACK1|P|2.3||||||8859/1\r" +
				"MSA|AR|C42|Application internal error|||207^Application internal error^HL70357\r" +
				"ERR|^^^207&Application internal error&HL70357\r",
		},
		{
			name: "unreadable message",
			m:    nil, code: "AR",
			err: &ParseError{Segment: 1, Msg: "a message must start with MSH"},
			want: "MSH|^~\\&|SC|X|||20240506070809+0100||ACK|ACK1|P|2.5\r" +
				"MSA|AR|\r" +
				"ERR|||100^Segment sequence error^HL70357|E||||a message must start with MSH\r",
		},
		{
			name: "escaped text",
			m:    msg("2.5"), code: "AE",
			err: Errorf(CodeTableValue, "PV1-2", "class must be I|O|E"),
			want: "MSH|^~\\&|SHAREDCARE|QF7|PAS|RHQ|20240506070809+0100||ACK^A01^ACK|ACK1|P|2.5||||||8859/1\r" +
				"MSA|AE|C42\r" +
				"ERR||PV1^1^2^1|103^Table value not found^HL70357|E||||class must be I\\F\\O\\F\\E\r",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := string(NewAck(tc.m, tc.code, tc.err, opt).Encode())
			if got != tc.want {
				t.Errorf("ACK\n%q\nwant\n%q", got, tc.want)
			}
			if _, err := Parse([]byte(got)); err != nil {
				t.Errorf("ACK does not parse: %v", err)
			}
		})
	}
	// Defaults: a fresh control id, the time now.
	a := NewAck(msg("2.5"), "AA", nil, AckOptions{})
	if id := a.ControlID(); len(id) != 20 || id == NewAck(msg("2.5"), "AA", nil, AckOptions{}).ControlID() {
		t.Errorf("control id %q", id)
	}
	if tm, err := a.Time(); err != nil || time.Since(tm.Time) > time.Minute {
		t.Errorf("time %v %v", tm, err)
	}
	if AckCodeOf(a) != "AA" {
		t.Error("AckCodeOf")
	}
}

func TestAckMode(t *testing.T) {
	appErr := Errorf(CodeDataType, "PID-3", "bad")
	rejErr := &Error{Code: CodeInternal}
	tests := []struct {
		accept, app string
		err         *Error
		want        string // "" for no ACK
	}{
		{"", "", nil, "AA"},
		{"", "", appErr, "AE"},
		{"", "", rejErr, "AR"},
		{"AL", "", nil, "CA"},
		{"AL", "NE", appErr, "CE"},
		{"AL", "NE", rejErr, "CR"},
		{"NE", "", nil, ""},
		{"NE", "AL", nil, "AA"},
		{"NE", "ER", nil, ""},
		{"NE", "ER", appErr, "AE"},
		{"ER", "NE", nil, ""},
		{"ER", "NE", appErr, "CE"},
		{"SU", "NE", nil, "CA"},
		{"SU", "NE", rejErr, ""},
		{"SU", "AL", rejErr, "AR"},
		{"", "AL", nil, "CA"}, // enhanced mode, MSH-15 empty: AL
		{"XX", "", nil, "CA"}, // unknown condition: answer
	}
	for _, tc := range tests {
		m := mustParse(t, "MSH|^~\\&|A|B|C|D|||ADT^A01|1|P|2.5|||"+tc.accept+"|"+tc.app)
		code, send := ackMode(m, tc.err)
		if !send {
			code = ""
		}
		if code != tc.want {
			t.Errorf("MSH-15 %q MSH-16 %q err %v: %q, want %q", tc.accept, tc.app, tc.err, code, tc.want)
		}
	}
}

func TestAsError(t *testing.T) {
	tests := []struct {
		err  error
		want string // code, ack and location
	}{
		{Errorf(CodeDataType, "PID-7", "x"), "102 AE PID-7"},
		{&Error{Code: CodeDataType, Reject: true}, "102 AR "},
		{&Error{Code: CodeUnsupportedEvent}, "201 AR "},
		{&ParseError{Segment: 1, Msg: "x"}, "100 AR "},
		{&ParseError{Segment: 1, Name: "MSH", Field: 2, Msg: "x"}, "102 AR MSH-2"},
		{&ParseError{Segment: 4, Name: "OBX", Msg: "x"}, "100 AE OBX"},
		{errors.New("boom"), "207 AR "},
	}
	for _, tc := range tests {
		e := AsError(tc.err)
		got := strings.Join([]string{strconv.Itoa(int(e.Code)), e.AckCode(), e.Location}, " ")
		if got != tc.want {
			t.Errorf("AsError(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
	if AsError(nil) != nil {
		t.Error("AsError(nil)")
	}
	wrapped := errors.Join(errors.New("context"), Errorf(CodeTableValue, "PV1-2", "x"))
	if e := AsError(wrapped); e.Code != CodeTableValue {
		t.Errorf("wrapped: %v", e)
	}
}
