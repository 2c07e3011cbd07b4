package audit

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/gowebpki/jcs"
)

// Event is one access to or change of the shared record, as the access
// layer sees it. Only Time and Interaction are needed; the rest is recorded
// when known.
type Event struct {
	// Time is when the access happened; zero means when Append was called.
	Time time.Time
	// Action is AuditEvent.action: C, R, U, D or E. Empty: derived from
	// Interaction.
	Action string
	// Interaction is what was done: a FHIR RESTful interaction (read,
	// vread, history, search, create, update, patch, delete, transaction,
	// batch, capabilities), "operation:$name", or a security event
	// (login, logout, break-glass, refused).
	Interaction string
	// Outcome is AuditEvent.outcome: "0" success (the default), "4" minor
	// failure (e.g. access refused), "8" serious failure, "12" major.
	Outcome     string
	OutcomeDesc string

	// The agent: the principal who asked (access.Principal).
	Who      string // stable id, access.Principal.ID()
	Name     string // for people to read
	Role     string
	Org      string // ODS code of the organisation acted for
	ClientID string // the OAuth client
	FHIRUser string // "Practitioner/…", "Patient/…", …
	Address  string // network address the request came from

	// Purpose is the HL7 v3 PurposeOfUse code (TREAT, ETREAT for break
	// glass, HOPERAT, …); Reason is free text, such as why the glass was
	// broken.
	Purpose string
	Reason  string

	// Patients are the ids of the Patients whose record was touched;
	// Entities the other resources, as references ("Observation/1/_history/2").
	Patients []string
	Entities []string
	// Query is a search's query string.
	Query     string
	RequestID string
}

// BreakGlass reports whether the event is emergency access outside the
// usual rules: what a privacy officer reviews first.
func (e *Event) BreakGlass() bool {
	return e.Purpose == "ETREAT" || e.Interaction == "break-glass"
}

// Code systems the AuditEvent uses.
const (
	sysEventType    = "http://terminology.hl7.org/CodeSystem/audit-event-type"
	sysRESTful      = "http://hl7.org/fhir/restful-interaction"
	sysDICOM        = "http://dicom.nema.org/resources/ontology/DCM"
	sysActReason    = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
	sysEntityType   = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
	sysObjectRole   = "http://terminology.hl7.org/CodeSystem/object-role"
	sysSourceType   = "http://terminology.hl7.org/CodeSystem/security-source-type"
	sysRoleClass    = "http://terminology.hl7.org/CodeSystem/v3-RoleClass"
	sysODS          = "https://fhir.nhs.uk/Id/ods-organization-code"
	sysOAuthClient  = "urn:ietf:params:oauth:client-id"
	sysRequestID    = "urn:sharedcare:request-id"
	sysRole         = "urn:sharedcare:role"
	sysInteractions = "urn:sharedcare:audit-interaction"
)

// restful are the codes of http://hl7.org/fhir/restful-interaction, with
// the action each implies.
var restful = map[string]string{
	"read": "R", "vread": "R", "update": "U", "patch": "U", "delete": "D",
	"history": "R", "history-instance": "R", "history-type": "R", "history-system": "R",
	"create": "C", "search": "E", "search-type": "E", "search-system": "E", "search-compartment": "E",
	"capabilities": "R", "transaction": "E", "batch": "E", "operation": "E",
}

// The types below are the AuditEvent's elements, their fields in the
// order of their JSON names: encoding/json then writes RFC 8785's member
// order (all names are ASCII), which canonical relies on.

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

// AuditEvent returns e as a FHIR R4 AuditEvent in RFC 8785 canonical JSON,
// the bytes that are stored and hashed. observer names the node that
// recorded it.
func (e *Event) AuditEvent(observer string) ([]byte, error) {
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
	ae.Type, ae.Subtype = eventType(e.Interaction)
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

	// The requestor: the person or system who asked.
	who := agent{Requestor: true, Who: reference{Reference: e.FHIRUser, Display: e.Name}}
	if e.Who != "" {
		who.Who.Identifier = &identifier{Value: e.Who}
	}
	if e.Role != "" {
		who.Role = []concept{{Coding: []coding{{System: sysRole, Code: e.Role}}}}
	}
	if e.Address != "" {
		who.Network = &network{Address: e.Address, Type: "1"} // machine name
		if _, err := netip.ParseAddr(e.Address); err == nil {
			who.Network.Type = "2" // IP address
		}
	}
	ae.Agent = append(ae.Agent, who)
	// IHE BALP records the organisation and the client application as
	// agents of their own, neither the requestor.
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

// canonical returns v in RFC 8785 canonical JSON. encoding/json, with the
// fields in name order and no HTML escaping, writes exactly that unless a
// string holds U+2028, U+2029 or invalid UTF-8, which it escapes and RFC
// 8785 does not: those few go through jcs. jcs alone costs about ten
// times the CPU (measured: most of the writer's time), and FuzzCanonical
// holds the two to the same output.
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

// eventType maps an interaction to AuditEvent.type and subtype: RESTful
// interactions as IHE BALP does, sign-in and emergency access as DICOM
// security events, anything else under a code system of our own.
func eventType(interaction string) (coding, []coding) {
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

func action(interaction string) string {
	if a, ok := restful[interaction]; ok {
		return a
	}
	return "E" // operations, security events
}
