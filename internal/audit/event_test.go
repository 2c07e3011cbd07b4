package audit

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gowebpki/jcs"
)

// The types below are the AuditEvent's elements, as referenceAuditEvent
// built it, their fields in the order of their JSON names: encoding/json
// then writes RFC 8785's member order (all names are ASCII), which
// canonical relies on.

type coding struct {
	Code    string `json:"code,omitempty"`
	Display string `json:"display,omitempty"`
	System  string `json:"system,omitempty"`
}

type concept struct {
	Coding []coding `json:"coding,omitempty"`
	Text   string   `json:"text,omitempty"`
}

type identifier struct {
	System string `json:"system,omitempty"`
	Value  string `json:"value,omitempty"`
}

type reference struct {
	Display    string      `json:"display,omitempty"`
	Identifier *identifier `json:"identifier,omitempty"`
	Reference  string      `json:"reference,omitempty"`
}

type network struct {
	Address string `json:"address"`
	Type    string `json:"type"`
}

type agent struct {
	Network   *network  `json:"network,omitempty"`
	Requestor bool      `json:"requestor"`
	Role      []concept `json:"role,omitempty"`
	Type      *concept  `json:"type,omitempty"`
	Who       reference `json:"who"`
}

type source struct {
	Observer reference `json:"observer"`
	Type     []coding  `json:"type"`
}

type entity struct {
	Description string     `json:"description,omitempty"`
	Query       string     `json:"query,omitempty"`
	Role        *coding    `json:"role,omitempty"`
	Type        *coding    `json:"type,omitempty"`
	What        *reference `json:"what,omitempty"`
}

type auditEvent struct {
	Action         string    `json:"action,omitempty"`
	Agent          []agent   `json:"agent"`
	Entity         []entity  `json:"entity,omitempty"`
	Outcome        string    `json:"outcome"`
	OutcomeDesc    string    `json:"outcomeDesc,omitempty"`
	PurposeOfEvent []concept `json:"purposeOfEvent,omitempty"`
	Recorded       string    `json:"recorded"`
	ResourceType   string    `json:"resourceType"`
	Source         source    `json:"source"`
	Subtype        []coding  `json:"subtype,omitempty"`
	Type           coding    `json:"type"`
}

// referenceAuditEvent is AuditEvent as it was before the hand-written
// encoder: the document built as structs and written by encoding/json, with
// jcs for what encoding/json escapes and RFC 8785 does not. Databases hold
// hashes of its bytes, so it stays here, frozen, as the definition AuditEvent
// must match byte for byte.
func referenceAuditEvent(e *Event, observer string) ([]byte, error) {
	if e.Interaction == "" {
		return nil, fmt.Errorf("audit: event without an interaction")
	}
	if e.Time.IsZero() {
		return nil, fmt.Errorf("audit: event without a time")
	}
	ae := auditEvent{
		ResourceType: "AuditEvent",
		Recorded:     e.Time.UTC().Format(time.RFC3339Nano),
		Outcome:      e.Outcome,
		OutcomeDesc:  e.OutcomeDesc,
		Action:       e.Action,
	}
	if ae.Outcome == "" {
		ae.Outcome = "0"
	}
	ae.Type, ae.Subtype = referenceEventType(e.Interaction)
	if ae.Action == "" {
		ae.Action = action(e.Interaction)
	}
	if e.Purpose != "" || e.Reason != "" {
		c := concept{Text: e.Reason}
		if e.Purpose != "" {
			c.Coding = []coding{{System: sysActReason, Code: e.Purpose}}
		}
		ae.PurposeOfEvent = []concept{c}
	}

	who := agent{Requestor: true, Who: reference{Reference: e.FHIRUser, Display: e.Name}}
	if e.Who != "" {
		who.Who.Identifier = &identifier{Value: e.Who}
	}
	if e.Role != "" {
		who.Role = []concept{{Coding: []coding{{System: sysRole, Code: e.Role}}}}
	}
	if e.Address != "" {
		who.Network = &network{Address: e.Address, Type: "1"}
		if _, err := netip.ParseAddr(e.Address); err == nil {
			who.Network.Type = "2"
		}
	}
	ae.Agent = append(ae.Agent, who)
	if e.Org != "" {
		ae.Agent = append(ae.Agent, agent{
			Type: &concept{Coding: []coding{{System: sysRoleClass, Code: "PROV", Display: "healthcare provider"}}},
			Who:  reference{Identifier: &identifier{System: sysODS, Value: e.Org}},
		})
	}
	if e.ClientID != "" {
		ae.Agent = append(ae.Agent, agent{
			Type: &concept{Coding: []coding{{System: sysDICOM, Code: "110150", Display: "Application"}}},
			Who:  reference{Identifier: &identifier{System: sysOAuthClient, Value: e.ClientID}},
		})
	}
	ae.Source = source{
		Observer: reference{Display: observer},
		Type:     []coding{{System: sysSourceType, Code: "4", Display: "Application Server"}},
	}
	for _, p := range e.Patients {
		ref := p
		if !strings.HasPrefix(ref, "Patient/") {
			ref = "Patient/" + p
		}
		ae.Entity = append(ae.Entity, entity{
			What: &reference{Reference: ref},
			Type: &coding{System: sysEntityType, Code: "1", Display: "Person"},
			Role: &coding{System: sysObjectRole, Code: "1", Display: "Patient"},
		})
	}
	for _, r := range e.Entities {
		ae.Entity = append(ae.Entity, entity{
			What: &reference{Reference: r},
			Type: &coding{System: sysEntityType, Code: "2", Display: "System Object"},
			Role: &coding{System: sysObjectRole, Code: "4", Display: "Domain Resource"},
		})
	}
	if e.Query != "" {
		ae.Entity = append(ae.Entity, entity{
			Type:  &coding{System: sysEntityType, Code: "2", Display: "System Object"},
			Role:  &coding{System: sysObjectRole, Code: "24", Display: "Query"},
			Query: base64.StdEncoding.EncodeToString([]byte(e.Query)),
		})
	}
	if e.RequestID != "" {
		ae.Entity = append(ae.Entity, entity{
			What:        &reference{Identifier: &identifier{System: sysRequestID, Value: e.RequestID}},
			Type:        &coding{System: sysEntityType, Code: "4", Display: "Other"},
			Description: "X-Request-Id",
		})
	}
	return canonical(ae)
}

// referenceEventType is eventType as referenceAuditEvent used it.
func referenceEventType(interaction string) (coding, []coding) {
	rest := coding{System: sysEventType, Code: "rest", Display: "RESTful Operation"}
	if op, ok := strings.CutPrefix(interaction, "operation:"); ok {
		return rest, []coding{{System: sysRESTful, Code: "operation"}, {System: sysInteractions, Code: op}}
	}
	if _, ok := restful[interaction]; ok {
		return rest, []coding{{System: sysRESTful, Code: interaction}}
	}
	switch interaction {
	case "login":
		return coding{System: sysDICOM, Code: "110114", Display: "User Authentication"}, []coding{{System: sysDICOM, Code: "110122", Display: "Login"}}
	case "logout":
		return coding{System: sysDICOM, Code: "110114", Display: "User Authentication"}, []coding{{System: sysDICOM, Code: "110123", Display: "Logout"}}
	case "break-glass", "refused":
		return coding{System: sysDICOM, Code: "110113", Display: "Security Alert"}, []coding{{System: sysInteractions, Code: interaction}}
	}
	return rest, []coding{{System: sysInteractions, Code: interaction}}
}

// canonical returns v in RFC 8785 canonical JSON. encoding/json, with the
// fields in name order and no HTML escaping, writes exactly that unless a
// string holds U+2028, U+2029 or invalid UTF-8, which it escapes and RFC
// 8785 does not: those few go through jcs.
func canonical(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	out := bytes.TrimSuffix(b.Bytes(), []byte("\n"))
	if bytes.Contains(out, []byte(`\u202`)) || bytes.Contains(out, []byte(`\ufffd`)) {
		return jcs.Transform(out)
	}
	return out, nil
}

// checkEncoding fails t unless AuditEvent writes what the reference does,
// errors included, and what it writes is RFC 8785 JSON.
func checkEncoding(t *testing.T, ev Event, observer string) {
	t.Helper()
	want, wantErr := referenceAuditEvent(&ev, observer)
	got, err := ev.AuditEvent(observer)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("%+v: error %v, reference %v", ev, err, wantErr)
	}
	if err != nil {
		return
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%+v:\n got %q\nwant %q", ev, got, want)
	}
	if !json.Valid(got) {
		t.Fatalf("not JSON: %q", got)
	}
	canon, err := jcs.Transform(got)
	if err != nil || !bytes.Equal(canon, got) {
		t.Fatalf("not canonical (%v):\n got %q\n jcs %q", err, got, canon)
	}
}

// gpRead is an event as most are: a GP reading an Observation.
func gpRead() Event {
	return Event{
		Time:        time.Date(2026, 3, 1, 9, 41, 7, 123456789, time.UTC),
		Interaction: "read",
		Who:         "https://idp.example.nhs.uk/realms/sharedcare#f3b2c1d0-8e9a-4b7c-a1d2-e3f4a5b6c7d8",
		Name:        "Dr Amelia Hughes",
		Role:        "gp",
		Org:         "A81001",
		ClientID:    "sharedcare-clinician-portal",
		FHIRUser:    "Practitioner/9c4e2b7a-1f3d-4e5a-8b6c-7d8e9f0a1b2c",
		Address:     "10.20.31.144",
		Purpose:     "TREAT",
		Patients:    []string{"4f1c8a2e-6b3d-4c9e-a7f0-2d5b8e1c3a9f"},
		Entities:    []string{"Observation/b7e2d9c4-3a1f-4e8b-9c6d-0f2a5e7b1d3c/_history/3"},
		RequestID:   "01JNQ8ZK3T9V4W5X6Y7Z8A9B0C",
	}
}

func TestAuditEventEncoding(t *testing.T) {
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	full := gpRead()
	full.Action, full.Outcome, full.OutcomeDesc = "R", "4", "refused: no legitimate relationship"
	full.Reason, full.Query = "reviewing results", "code=http://loinc.org|1234-5&_count=10"
	// Every string field set to s, with the interaction kept valid.
	all := func(s string) Event {
		return Event{
			Time: at, Interaction: "read", Action: s, Outcome: s, OutcomeDesc: s,
			Who: s, Name: s, Role: s, Org: s, ClientID: s, FHIRUser: s, Address: s,
			Purpose: s, Reason: s, Patients: []string{s, s}, Entities: []string{s}, Query: s, RequestID: s,
		}
	}
	tests := []struct {
		name     string
		ev       Event
		observer string
	}{
		{"minimal", Event{Time: at, Interaction: "read"}, "n"},
		{"no observer", Event{Time: at, Interaction: "read"}, ""},
		{"no interaction", Event{Time: at}, "n"},
		{"no time", Event{Interaction: "read"}, "n"},
		{"gp read", gpRead(), "node-1"},
		{"everything", full, "node-1"},
		{"local time", Event{Time: time.Date(2026, 7, 1, 12, 0, 0, 500, time.FixedZone("BST", 3600)), Interaction: "vread"}, "n"},
		{"login", Event{Time: at, Interaction: "login", Who: "u", Address: "192.0.2.1"}, "n"},
		{"logout", Event{Time: at, Interaction: "logout", Who: "u"}, "n"},
		{"break-glass", Event{Time: at, Interaction: "break-glass", Purpose: "ETREAT", Reason: "unconscious in A&E", Patients: []string{"p1"}}, "n"},
		{"refused", Event{Time: at, Interaction: "refused", Outcome: "4", OutcomeDesc: "no consent", Patients: []string{"Patient/p1"}}, "n"},
		{"operation", Event{Time: at, Interaction: "operation:$everything", Patients: []string{"p1"}}, "n"},
		{"operation empty", Event{Time: at, Interaction: "operation:"}, "n"},
		{"search", Event{Time: at, Interaction: "search-type", Query: "name=smith&birthdate=ge1950"}, "n"},
		{"unknown interaction", Event{Time: at, Interaction: "frobnicate"}, "n"},
		{"reason only", Event{Time: at, Interaction: "read", Reason: "audit"}, "n"},
		{"purpose only", Event{Time: at, Interaction: "read", Purpose: "HOPERAT"}, "n"},
		{"org only", Event{Time: at, Interaction: "read", Org: "B82002"}, "n"},
		{"client only", Event{Time: at, Interaction: "read", ClientID: "app"}, "n"},
		{"who only", Event{Time: at, Interaction: "read", Who: "u"}, "n"},
		{"name only", Event{Time: at, Interaction: "read", Name: "N"}, "n"},
		{"fhir user only", Event{Time: at, Interaction: "read", FHIRUser: "Patient/1"}, "n"},
		{"role only", Event{Time: at, Interaction: "read", Role: "nurse"}, "n"},
		{"patients", Event{Time: at, Interaction: "search", Patients: []string{"p1", "Patient/p2", "", "Patient/", "patient/p3"}}, "n"},
		{"entities", Event{Time: at, Interaction: "history", Entities: []string{"Observation/1", "", "Condition/2/_history/7"}}, "n"},
		{"empty lists", Event{Time: at, Interaction: "read", Patients: []string{}, Entities: []string{}}, "n"},
		{"request id only", Event{Time: at, Interaction: "read", RequestID: "r"}, "n"},
		{"ipv4", Event{Time: at, Interaction: "read", Address: "10.0.0.1"}, "n"},
		{"ipv6", Event{Time: at, Interaction: "read", Address: "2001:db8::1"}, "n"},
		{"ipv6 zone", Event{Time: at, Interaction: "read", Address: "fe80::1%eth0"}, "n"},
		{"ipv4 with port", Event{Time: at, Interaction: "read", Address: "10.0.0.1:443"}, "n"},
		{"hostname", Event{Time: at, Interaction: "read", Address: "gateway.example.nhs.uk"}, "n"},
		{"quotes", all(`say "hello"`), `"`},
		{"backslashes", all(`C:\path\to\`), `\`},
		{"escapes as text", all(`\u2028 \ufffd \n \"`), `\u202`},
		{"control", all("\x00\x01\b\t\n\v\f\r\x0e\x1b\x1f"), "\x00"},
		{"delete", all("\x7f"), "\x7f"},
		{"html", all("<script>&amp;</script>'"), "<>&"},
		{"line separators", all("a\u2028b\u2029c"), "\u2028"},
		{"u+2027 and u+202a", all("\u2027\u202a\u202f"), "n"},
		{"invalid utf-8", all("a\xffb\xfe\xc0\x80\xed\xa0\x80\xe2\x82"), "\xff"},
		{"truncated at end", all("abc\xe2"), "\xf0\x9f"},
		{"replacement char", all("\ufffd"), "\ufffd"},
		{"replacement and invalid", all("\ufffd\xff"), "n"},
		{"emoji", all("🙂👩‍⚕️🏥"), "🙂"},
		{"non-ascii", all("é漢字Ωß"), "ü"},
		{"interaction escapes", Event{Time: at, Interaction: "operation:\"\\\n\u2028\xff"}, "n"},
		{"interaction invalid", Event{Time: at, Interaction: "\xff"}, "n"},
		{"long", all(strings.Repeat("x\"\u2028\xff", 5000)), strings.Repeat("o", 3000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkEncoding(t, tt.ev, tt.observer)
		})
	}
	for i := range 100 {
		checkEncoding(t, event(i), "test-node")
	}
	for interaction := range restful {
		checkEncoding(t, Event{Time: at, Interaction: interaction}, "n")
	}

	// Where nothing needed escaping, the buffer was allocated once: a
	// capacity other than the hint means it was regrown.
	sized := []Event{gpRead(), full}
	for i := range 100 {
		sized = append(sized, event(i))
	}
	for _, tt := range tests {
		sized = append(sized, tt.ev)
	}
	for _, ev := range sized {
		body, err := ev.AuditEvent("test-node")
		if err != nil || bytes.ContainsAny(body, "\\\uFFFD") {
			continue
		}
		if hint := ev.sizeHint("test-node"); cap(body) != hint {
			t.Errorf("%+v: %d bytes, hint %d, capacity %d", ev, len(body), hint, cap(body))
		}
	}
}

// FuzzAuditEventEncoding holds AuditEvent to the reference for any text
// in any of the event's strings. set says which are left empty, so that
// every omitted member is omitted in combination with the others, and
// which string each of the others holds; which picks the interaction.
func FuzzAuditEventEncoding(f *testing.F) {
	for _, s := range []string{"", "plain", "\b\f\n\r\t\x00\x01\x1f\x7f", "<>&'\"\\", "\u2028\u2029", "\xff\xfe", "\xed\xa0\x80",
		"é漢字🙂", `\u2028`, `\ufffd`, "\ufffd", "10.0.0.1", "::1", "Patient/p1", "operation:$x"} {
		f.Add(s, "b", uint32(0xffffffff), uint8(0), int64(0))
		f.Add("a", s, uint32(0x5555_5555), uint8(1), int64(1772355600123456789))
	}
	f.Fuzz(func(t *testing.T, a, b string, set uint32, which uint8, ns int64) {
		// pick is a or b for field i, or empty when set says so.
		pick := func(i int) string {
			if set&(1<<i) == 0 {
				return ""
			}
			if set&(1<<(i+16)) == 0 {
				return a
			}
			return b
		}
		list := func(i int) []string {
			switch {
			case set&(1<<i) == 0:
				return nil
			case set&(1<<(i+16)) == 0:
				return []string{a}
			}
			return []string{a, b, a}
		}
		interactions := []string{a, "operation:" + a, "read", "search", "login", "logout", "break-glass", "refused"}
		ev := Event{
			Time:        time.Unix(0, ns),
			Interaction: interactions[int(which)%len(interactions)],
			Action:      pick(0),
			Outcome:     pick(1),
			OutcomeDesc: pick(2),
			Who:         pick(3),
			Name:        pick(4),
			Role:        pick(5),
			Org:         pick(6),
			ClientID:    pick(7),
			FHIRUser:    pick(8),
			Address:     pick(9),
			Purpose:     pick(10),
			Reason:      pick(11),
			Patients:    list(12),
			Entities:    list(13),
			Query:       pick(14),
			RequestID:   pick(15),
		}
		checkEncoding(t, ev, b)
		checkFilters(t, ev)
	})
}

// checkFilters checks that Verify derives from ev's AuditEvent the query
// columns Append writes for ev, so that an untouched log never shows a
// filter-mismatch.
func checkFilters(t *testing.T, ev Event) {
	t.Helper()
	for _, p := range ev.Patients {
		if strings.ContainsAny(p, " \t\n") || !utf8.ValidString(p) {
			// No Patient id has white space or invalid UTF-8 (FHIR ids are
			// [A-Za-z0-9.-]); the patients column could not hold the one,
			// nor the AuditEvent tell two of the other apart.
			return
		}
	}
	body, err := ev.AuditEvent("node")
	if err != nil {
		return
	}
	got, err := filtersOf(body)
	if err != nil {
		t.Fatalf("filtersOf: %v\n%s", err, body)
	}
	want := filters{recorded: ev.Time.UnixMicro(), agent: ev.Who, org: ev.Org, purpose: ev.Purpose, btg: ev.BreakGlass()}
	if ids := patientIDs(ev.Patients); len(ids) > 0 {
		want.patients = " " + strings.Join(ids, " ") + " "
	}
	if d := got.compare(want); len(d) > 0 {
		t.Errorf("columns derived from the AuditEvent differ from Append's: %v\n%s", d, body)
	}
}

// BenchmarkAuditEvent measures the encoder on the usual event against the
// reflection it replaced: the writer pays one of these per event.
func BenchmarkAuditEvent(b *testing.B) {
	ev := gpRead()
	b.Run("new", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ev.AuditEvent("node-1"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("reference", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := referenceAuditEvent(&ev, "node-1"); err != nil {
				b.Fatal(err)
			}
		}
	})
}
