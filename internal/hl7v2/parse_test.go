package hl7v2

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// adt is a small ADT^A01 in v2.5 with the features tests look at:
// repetitions, components, sub-components, escapes and a Z-segment.
const adt = "MSH|^~\\&|PAS|RHQ^1.2.3^ISO|SHAREDCARE|QF7|20240102030405.12+0100||ADT^A01^ADT_A01|CTRL1|P|2.5|||AL|NE\r" +
	"EVN|A01|20240102030400\r" +
	"PID|1||9434765919^^^NHS^NH~M123^^^RHQ^MR||O\\T\\BRIEN^Mary\\S\\Ann^^^Ms||19700101|F|||1 High St\\F\\Flat 2^^Sheffield^^S1 1AA^GBR^H\r" +
	"PV1|1|I|Ward 5^^^RHQNG&2.16.840&ISO||||||||||||||||V42^^^RHQ^VN\r" +
	"ZXY|1|custom^data\r"

func mustParse(t testing.TB, s string) *Message {
	t.Helper()
	m, err := Parse([]byte(s))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return m
}

func TestGet(t *testing.T) {
	m := mustParse(t, adt)
	tests := []struct {
		path, want string
	}{
		{"MSH-1", "|"},
		{"MSH-2", "^~\\&"},
		{"MSH-3", "PAS"},
		{"MSH-4", "RHQ"},
		{"MSH-4-2", "1.2.3"},
		{"MSH-9", "ADT"},
		{"MSH-9-2", "A01"},
		{"MSH.9.3", "ADT_A01"},
		{"MSH-10", "CTRL1"},
		{"PID-3", "9434765919"},
		{"PID-3(1)-1", "9434765919"},
		{"PID-3(2)-1", "M123"},
		{"PID-3(2)-5", "MR"},
		{"PID-3(3)-1", ""},
		{"PID-5", "O&BRIEN"},
		{"PID-5-2", "Mary^Ann"},
		{"PID-5-5", "Ms"},
		{"PID-11-1", "1 High St|Flat 2"},
		{"PV1-3-4", "RHQNG"},
		{"PV1-3-4-2", "2.16.840"},
		{"PV1-3-4-3", "ISO"},
		{"PV1-3-4-4", ""},
		{"PV1-19", "V42"},
		{"ZXY-2-2", "data"},
		{"OBX-5", ""},      // no such segment
		{"PID-99", ""},     // no such field
		{"PID-3-40", ""},   // no such component
		{"PID-3(9)-1", ""}, // no such repetition
		{"PID(2)-3", ""},   // no second PID
		{"EVN(1)-2", "20240102030400"},
		{"bad", ""},
		{"PID-x", ""},
		{"PID--3", ""},
		{"PID-3-", ""},
	}
	for _, tc := range tests {
		if got := m.Get(tc.path); got != tc.want {
			t.Errorf("Get(%q) = %q, want %q", tc.path, got, tc.want)
		}
	}
}

func TestAccessors(t *testing.T) {
	m := mustParse(t, adt)
	pid := m.Segment("PID")
	if got := pid.Field(3).NumReps(); got != 2 {
		t.Errorf("PID-3 reps = %d", got)
	}
	if got := pid.Field(3).Rep(2).Comp(4).String(); got != "RHQ" {
		t.Errorf("PID-3(2)-4 = %q", got)
	}
	if got := pid.Field(5).Rep(1).Raw(); got != `O\T\BRIEN^Mary\S\Ann^^^Ms` {
		t.Errorf("raw PID-5 = %q", got)
	}
	if got := pid.Field(5).Rep(1).Text(); got != "O&BRIEN^Mary^Ann^^^Ms" {
		t.Errorf("text PID-5 = %q", got)
	}
	var ids []string
	for i, r := range pid.Field(3).Reps() {
		ids = append(ids, r.Comp(1).String()+"/"+string(rune('0'+i)))
	}
	if diff := cmp.Diff([]string{"9434765919/1", "M123/2"}, ids); diff != "" {
		t.Errorf("Reps: %s", diff)
	}
	// Absent segments and out-of-range indexes give empty values.
	var none *Segment
	if none.Field(1).String() != "" || m.Segment("AL1") != nil || none.NumFields() != 0 || none.Raw() != "" {
		t.Error("nil segment not empty")
	}
	if pid.Field(0).Raw() != "" || pid.Field(-1).Raw() != "" || pid.Field(3).Rep(0).Raw() != "" ||
		pid.Field(3).Comp(-2).Raw() != "" || pid.Field(3).Comp(1).Sub(0) != "" {
		t.Error("out-of-range index not empty")
	}
	// MSH-1 and MSH-2 are not split.
	msh := m.Segment("MSH")
	if msh.Field(2).Rep(1).Comp(1).String() != `^~\&` || msh.Field(2).NumReps() != 1 {
		t.Errorf("MSH-2 split: %q", msh.Field(2).Rep(1).Comp(1).String())
	}
	if got := len(m.All("PID")); got != 1 {
		t.Errorf("All(PID) = %d", got)
	}
	if m.Segment("ZXY").Index != 4 {
		t.Errorf("ZXY index %d", m.Segment("ZXY").Index)
	}
	if got := pid.Get("3(2)-1"); got != "M123" {
		t.Errorf("seg.Get = %q", got)
	}
}

func TestHeader(t *testing.T) {
	m := mustParse(t, adt)
	if got := m.Type(); got != (MessageType{"ADT", "A01", "ADT_A01"}) {
		t.Errorf("Type = %+v", got)
	}
	if m.ControlID() != "CTRL1" || m.ProcessingID() != "P" || m.Version() != "2.5" {
		t.Errorf("control %q processing %q version %q", m.ControlID(), m.ProcessingID(), m.Version())
	}
	if got := m.SendingFacility(); got != (HD{"RHQ", "1.2.3", "ISO"}) {
		t.Errorf("SendingFacility = %+v", got)
	}
	if m.SendingApplication().String() != "PAS" || m.ReceivingApplication().String() != "SHAREDCARE" || m.ReceivingFacility().String() != "QF7" {
		t.Error("applications and facilities")
	}
	if m.AcceptAckType() != "AL" || m.AppAckType() != "NE" {
		t.Error("ack types")
	}
	tm, err := m.Time()
	if err != nil || tm.Precision != PrecisionFraction || !tm.Zoned || tm.UTC().Format("2006-01-02T15:04:05.00") != "2024-01-02T02:04:05.12" {
		t.Errorf("Time = %v %+v", err, tm)
	}
	if (MessageType{"ACK", "A01", ""}).String() != "ACK^A01" {
		t.Error("MessageType.String")
	}
}

func TestDelimitersAndLines(t *testing.T) {
	tests := []struct {
		name, in string
		delims   Delimiters
		segs     []string
		get      map[string]string
	}{
		{
			name:   "carriage returns",
			in:     "MSH|^~\\&|A\rPID|1||X^^^Y",
			delims: DefaultDelimiters,
			segs:   []string{"MSH", "PID"},
			get:    map[string]string{"PID-3-4": "Y", "MSH-3": "A"},
		},
		{
			name:   "newlines, CRLF, blank lines and trailing whitespace",
			in:     "\uFEFF\n\nMSH|^~\\&|A  \r\n\r\nPID|1||X \t\n\n   \nOBX|1\n\n",
			delims: DefaultDelimiters,
			segs:   []string{"MSH", "PID", "OBX"},
			get:    map[string]string{"MSH-3": "A", "PID-3": "X", "OBX-1": "1"},
		},
		{
			name:   "other delimiters",
			in:     "MSH#$*!@#APP#FAC\rPID#1##A$B*C$D@E",
			delims: Delimiters{Field: '#', Component: '$', Repetition: '*', Escape: '!', SubComponent: '@'},
			segs:   []string{"MSH", "PID"},
			get:    map[string]string{"PID-3-2": "B", "PID-3(2)-2": "D", "PID-3(2)-2-2": "E", "MSH-4": "FAC"},
		},
		{
			name:   "no sub-component separator",
			in:     "MSH|^~\\|A\rPID|1||X&Y^Z",
			delims: Delimiters{Field: '|', Component: '^', Repetition: '~', Escape: '\\'},
			segs:   []string{"MSH", "PID"},
			get:    map[string]string{"PID-3": "X&Y", "PID-3-1-2": "", "PID-3-2": "Z"},
		},
		{
			name:   "components only",
			in:     "MSH|^|A\rPID|1||X~Y^Z\\F\\",
			delims: Delimiters{Field: '|', Component: '^'},
			segs:   []string{"MSH", "PID"},
			get:    map[string]string{"PID-3": "X~Y", "PID-3-2": "Z\\F\\"},
		},
		{
			name:   "v2.7 truncation character",
			in:     "MSH|^~\\&#|A|||||||||2.7\rNTE|1||cut\\P\\",
			delims: Delimiters{Field: '|', Component: '^', Repetition: '~', Escape: '\\', SubComponent: '&', Truncation: '#'},
			segs:   []string{"MSH", "NTE"},
			get:    map[string]string{"NTE-3": "cut#", "MSH-12": "2.7"},
		},
		{
			name:   "MSH alone, MLLP bytes left on",
			in:     "\x0bMSH|^~\\&\x1c\r",
			delims: DefaultDelimiters,
			segs:   []string{"MSH"},
			get:    map[string]string{"MSH-2": "^~\\&", "MSH-3": ""},
		},
		{
			name:   "segment without fields",
			in:     "MSH|^~\\&|A\rZZZ\rPID|",
			delims: DefaultDelimiters,
			segs:   []string{"MSH", "ZZZ", "PID"},
			get:    map[string]string{"ZZZ-1": "", "PID-1": ""},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := mustParse(t, tc.in)
			if m.Delims != tc.delims {
				t.Errorf("delimiters %+v, want %+v", m.Delims, tc.delims)
			}
			var names []string
			for _, s := range m.Segments {
				names = append(names, s.Name)
			}
			if diff := cmp.Diff(tc.segs, names); diff != "" {
				t.Errorf("segments: %s", diff)
			}
			for p, want := range tc.get {
				if got := m.Get(p); got != want {
					t.Errorf("Get(%q) = %q, want %q", p, got, want)
				}
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, in string
		want     ParseError
	}{
		{"empty", "  \r\n", ParseError{Msg: "empty message"}},
		{"not HL7", "GET / HTTP/1.1\r\n", ParseError{Segment: 1, Msg: "a message must start with MSH"}},
		{"JSON", `{"resourceType":"Patient"}`, ParseError{Segment: 1, Msg: "a message must start with MSH"}},
		{"batch", "FHS|^~\\&\rMSH|^~\\&", ParseError{Segment: 1, Name: "FHS", Msg: "a batch, not a message: split it into messages first"}},
		{"no separator", "MSH", ParseError{Segment: 1, Name: "MSH", Field: 1, Msg: "no field separator"}},
		{"letter separator", "MSHA^~\\&", ParseError{Segment: 1, Name: "MSH", Field: 1}},
		{"no encoding characters", "MSH||A", ParseError{Segment: 1, Name: "MSH", Field: 2, Msg: "no encoding characters"}},
		{"repeated encoding character", "MSH|^^\\&|A", ParseError{Segment: 1, Name: "MSH", Field: 2}},
		{"too many encoding characters", "MSH|^~\\&#$|A", ParseError{Segment: 1, Name: "MSH", Field: 2}},
		{"lower-case segment", "MSH|^~\\&|A\rpid|1", ParseError{Segment: 2}},
		{"short segment", "MSH|^~\\&|A\rPI", ParseError{Segment: 2}},
		{"name not followed by separator", "MSH|^~\\&|A\r\rEVN|A01\rPIDX|1", ParseError{Segment: 3, Name: "PID"}},
		{"second message", "MSH|^~\\&|A\rPID|1\rMSH|^~\\&|B", ParseError{Segment: 3, Name: "MSH", Msg: "a second MSH: more than one message"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.in))
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v, want a *ParseError", err)
			}
			got := *pe
			if tc.want.Msg == "" {
				got.Msg = ""
			}
			if got != tc.want {
				t.Errorf("error %+v, want %+v", got, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "hl7v2: segment ") {
				t.Errorf("message %q", err.Error())
			}
		})
	}
}

func TestEscapes(t *testing.T) {
	d := DefaultDelimiters
	tests := []struct{ in, want string }{
		{`plain`, "plain"},
		{`a\F\b\S\c\T\d\R\e\E\f`, `a|b^c&d~e\f`},
		{`line one\.br\line two`, "line one\nline two"},
		{`a\.sp\b\.sp 2\c`, "a\nb\n\nc"},
		{`\H\bold\N\`, "bold"},
		{`\X4142\`, "AB"},
		{`\X4\`, `\X4\`},       // odd number of hex digits: kept
		{`\XZZ\`, `\XZZ\`},     // not hex: kept
		{`\Z99\`, `\Z99\`},     // locally defined: kept
		{`\C2842\`, `\C2842\`}, // character set switch: kept
		{`\.in+4\`, `\.in+4\`}, // other formatting: kept
		{`\P\`, `\P\`},         // no truncation character in use
		{`open\`, `open\`},
		{`\\`, `\\`},
		{`\.sp 999999\`, strings.Repeat("\n", 100)},
	}
	for _, tc := range tests {
		if got := d.UnescapeString(tc.in); got != tc.want {
			t.Errorf("UnescapeString(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	for _, s := range []string{"", "x", `a|b^c&d~e\f`, "two\nlines", "O'Brien & sons | ^~", "crlf\r\nend"} {
		esc := d.EscapeString(s)
		if strings.ContainsAny(esc, "|^~&\r\n") {
			t.Errorf("EscapeString(%q) = %q still holds a delimiter", s, esc)
		}
		want := strings.ReplaceAll(s, "\r\n", "\n")
		if got := d.UnescapeString(esc); got != want {
			t.Errorf("round trip of %q: %q", s, got)
		}
	}
}

func TestParseTime(t *testing.T) {
	london := time.FixedZone("test", 3600)
	tests := []struct {
		in    string
		want  string // RFC 3339 with nanoseconds
		prec  Precision
		zoned bool
		err   bool
	}{
		{"", "0001-01-01T00:00:00Z", PrecisionNone, false, false},
		{"2024", "2024-01-01T00:00:00Z", PrecisionYear, false, false},
		{"202402", "2024-02-01T00:00:00Z", PrecisionMonth, false, false},
		{"20240229", "2024-02-29T00:00:00Z", PrecisionDay, false, false},
		{"2024022913", "2024-02-29T13:00:00Z", PrecisionHour, false, false},
		{"202402291304", "2024-02-29T13:04:00Z", PrecisionMinute, false, false},
		{"20240229130405", "2024-02-29T13:04:05Z", PrecisionSecond, false, false},
		{"20240229130405.1", "2024-02-29T13:04:05.1Z", PrecisionFraction, false, false},
		{"20240229130405.1234", "2024-02-29T13:04:05.1234Z", PrecisionFraction, false, false},
		{"20240229130405+0100", "2024-02-29T13:04:05+01:00", PrecisionSecond, true, false},
		{"20240229130405.5-0530", "2024-02-29T13:04:05.5-05:30", PrecisionFraction, true, false},
		{"202402291304-0000", "2024-02-29T13:04:00Z", PrecisionMinute, true, false},
		{"2024+0100", "2024-01-01T00:00:00+01:00", PrecisionYear, true, false},
		{"20230229", "", 0, false, true},
		{"20241301", "", 0, false, true},
		{"2024010125", "", 0, false, true},
		{"202401011260", "", 0, false, true},
		{"20240101120060", "", 0, false, true},
		{"2024010", "", 0, false, true},
		{"20240101.5", "", 0, false, true},
		{"20240101120000.", "", 0, false, true},
		{"20240101120000+2500", "", 0, false, true},
		{"20240101120000+1401", "", 0, false, true},
		{"20240101120000+1400", "2024-01-01T12:00:00+14:00", PrecisionSecond, true, false},
		{"00000101", "", 0, false, true},
		{"2024O101", "", 0, false, true},
		{"20240101120000.1234567890", "", 0, false, true},
	}
	for _, tc := range tests {
		got, err := ParseTime(tc.in, nil)
		if (err != nil) != tc.err {
			t.Errorf("ParseTime(%q) error %v", tc.in, err)
			continue
		}
		if err != nil {
			continue
		}
		if s := got.Format(time.RFC3339Nano); s != tc.want || got.Precision != tc.prec || got.Zoned != tc.zoned {
			t.Errorf("ParseTime(%q) = %s %v %v, want %s %v %v", tc.in, s, got.Precision, got.Zoned, tc.want, tc.prec, tc.zoned)
		}
	}
	got, _ := ParseTime("20240701120000", london)
	if got.Format(time.RFC3339) != "2024-07-01T12:00:00+01:00" || got.Zoned {
		t.Errorf("in a location: %v", got)
	}
	if s := FormatTime(time.Date(2024, 7, 1, 12, 0, 0, 0, london)); s != "20240701120000+0100" {
		t.Errorf("FormatTime = %q", s)
	}
}

func TestVersionAtLeast(t *testing.T) {
	tests := []struct {
		v, min string
		want   bool
	}{
		{"2.5", "2.5", true}, {"2.5.1", "2.5", true}, {"2.4", "2.5", false}, {"2.3.1", "2.3.1", true},
		{"2.3", "2.3.1", false}, {"2.10", "2.9", true}, {"", "2.3", false}, {"x", "2.3", false},
	}
	for _, tc := range tests {
		if got := VersionAtLeast(tc.v, tc.min); got != tc.want {
			t.Errorf("VersionAtLeast(%q, %q) = %v", tc.v, tc.min, got)
		}
	}
}

func TestParsePath(t *testing.T) {
	tests := []struct {
		in   string
		want Path
		str  string
		err  bool
	}{
		{in: "PID", want: Path{Segment: "PID"}, str: "PID"},
		{in: "PID-3", want: Path{Segment: "PID", Field: 3}, str: "PID-3"},
		{in: "OBX(2)-5(3)-1-2", want: Path{Segment: "OBX", SegmentRep: 2, Field: 5, Rep: 3, Comp: 1, Sub: 2}, str: "OBX(2)-5(3)-1-2"},
		{in: "PID.3.1", want: Path{Segment: "PID", Field: 3, Comp: 1}, str: "PID-3-1"},
		{in: "PID(1)-3(1)", want: Path{Segment: "PID", SegmentRep: 1, Field: 3, Rep: 1}, str: "PID-3"},
		{in: "PI", err: true}, {in: "pid-3", err: true}, {in: "PID-0", err: true}, {in: "PID-3(0)", err: true},
		{in: "PID(x)-3", err: true}, {in: "PID-3(2", err: true}, {in: "PID3", err: true}, {in: "PID-3-1-1-1", err: true},
		{in: "PID-3x", err: true}, {in: "PID-1234567", err: true},
	}
	for _, tc := range tests {
		got, err := ParsePath(tc.in)
		if (err != nil) != tc.err {
			t.Errorf("ParsePath(%q) error %v", tc.in, err)
			continue
		}
		if err == nil && (got != tc.want || got.String() != tc.str) {
			t.Errorf("ParsePath(%q) = %+v (%s), want %+v (%s)", tc.in, got, got, tc.want, tc.str)
		}
	}
}

func TestEncodeAndSet(t *testing.T) {
	m := mustParse(t, adt)
	again := mustParse(t, string(m.Encode()))
	if diff := cmp.Diff(segmentsOf(m), segmentsOf(again)); diff != "" {
		t.Errorf("round trip: %s", diff)
	}
	if !strings.HasSuffix(string(m.Encode()), "ZXY|1|custom^data\r") {
		t.Errorf("encode: %q", m.Encode())
	}

	b := NewMessage(Delimiters{})
	steps := []struct{ path, value string }{
		{"MSH-3", "APP"},
		{"MSH-9-1", "ACK"},
		{"MSH-9-2", "A01"},
		{"MSH-10", "1|2"},
		{"PID-3(2)-4-2", "2.16"},
		{"PID-3-1", "X^Y"},
		{"PID-5", "SMITH"},
		{"PID-5-2", "Jo"},
		{"PID(2)-1", "2"},
	}
	for _, s := range steps {
		if err := b.Set(s.path, s.value); err != nil {
			t.Fatalf("Set(%q): %v", s.path, err)
		}
	}
	want := "MSH|^~\\&|APP||||||ACK^A01|1\\F\\2\r" +
		"PID|||X\\S\\Y~^^^&2.16||SMITH^Jo\r" +
		"PID|2\r"
	if got := string(b.Encode()); got != want {
		t.Errorf("built:\n%q\nwant\n%q", got, want)
	}
	back := mustParse(t, string(b.Encode()))
	for _, s := range steps {
		if got := back.Get(s.path); got != s.value {
			t.Errorf("Get(%q) = %q, want %q", s.path, got, s.value)
		}
	}
	for _, bad := range []string{"PID(4)-1", "MSH-1", "MSH-2", "PID", "x"} {
		if err := b.Set(bad, "v"); err == nil {
			t.Errorf("Set(%q) accepted", bad)
		}
	}
	seg := b.Add("NTE", "1", "", "a|b")
	if err := seg.SetRaw(4, "x^y"); err != nil {
		t.Fatal(err)
	}
	if err := seg.SetRaw(5, "x|y"); err == nil {
		t.Error("SetRaw accepted a field separator")
	}
	if got := seg.Raw(); got != "NTE|1||a\\F\\b|x^y" {
		t.Errorf("NTE = %q", got)
	}
	if err := (*Segment)(nil).Set(1, "x"); err == nil {
		t.Error("Set on nil segment")
	}
}

// segmentsOf lists each segment's name and escaped fields.
func segmentsOf(m *Message) [][]string {
	var out [][]string
	for _, s := range m.Segments {
		out = append(out, append([]string(nil), s.fields...))
	}
	return out
}

func TestGroups(t *testing.T) {
	m := mustParse(t, "MSH|^~\\&|LAB\rPID|1\rPV1|1\r"+
		"ORC|RE|1\rOBR|1|1\rNTE|1||order note\rOBX|1|NM|A\rNTE|1||a1\rNTE|2||a2\rOBX|2|NM|B\r"+
		"ORC|RE|2\rOBR|2|2\rOBX|1|ST|C\rZZZ|1\r")
	orders := m.Groups("OBR", "ORC", "PID")
	if len(orders) != 2 {
		t.Fatalf("%d orders", len(orders))
	}
	var got []string
	for _, o := range orders {
		line := o.Parent.Get("2") + ":"
		for _, n := range o.Before("OBX") {
			line += " " + n.Get("3")
		}
		for _, r := range o.Groups("OBX") {
			line += " " + r.Parent.Get("3") + "["
			for _, n := range r.All("NTE") {
				line += n.Get("3") + ","
			}
			line += "]"
		}
		got = append(got, line)
	}
	want := []string{"1: order note A[a1,a2,] B[]", "2: C[]"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("groups: %s", diff)
	}
	// The Z-segment after the second order is its child.
	if n := len(orders[1].Children); n != 2 {
		t.Errorf("second order has %d children", n)
	}
	if g := (Group{}); len(g.Before("OBX")) != 0 {
		t.Error("empty group")
	}
}

func TestSplitMessages(t *testing.T) {
	in := "FHS|^~\\&\nBHS|^~\\&\nMSH|^~\\&|A\nPID|1\n\nMSH|^~\\&|B\r\nPID|2\r\nBTS|2\nFTS|1\n"
	parts := SplitMessages([]byte(in))
	if len(parts) != 2 {
		t.Fatalf("%d parts: %q", len(parts), parts)
	}
	for i, want := range []string{"A", "B"} {
		m := mustParse(t, string(parts[i]))
		if m.Get("MSH-3") != want || len(m.Segments) != 2 {
			t.Errorf("part %d: %q", i, parts[i])
		}
	}
	if parts := SplitMessages([]byte("junk\nMSH|^~\\&\n")); len(parts) != 2 || string(parts[0]) != "junk\n" {
		t.Errorf("junk before: %q", parts)
	}
	if parts := SplitMessages([]byte("\n \n")); len(parts) != 0 {
		t.Errorf("blank: %q", parts)
	}
}
