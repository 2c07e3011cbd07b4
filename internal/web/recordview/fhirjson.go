package recordview

import (
	"encoding/json"
	"strings"
	"time"

	gojson "github.com/goccy/go-json"
)

// resource is the union of the fields the view reads from any resource
// type. Fields whose JSON shape differs between types (name is a string on
// an Organization and a list on a Patient; type, category, code,
// performer, author, location, organization and participant likewise) are
// kept raw and decoded by the type that knows their shape. One struct
// decodes every type in one pass: typed decoding skips what the view does
// not read, several times faster than decoding into maps.
type resource struct {
	ResourceType string `json:"resourceType"`
	ID           string `json:"id"`
	Meta         struct {
		Source   string   `json:"source"`
		Tag      []coding `json:"tag"`
		Security []coding `json:"security"`
	} `json:"meta"`
	Identifier []identifier `json:"identifier"`
	Status     string       `json:"status"`
	Active     *bool        `json:"active"`

	Name         json.RawMessage `json:"name"`
	Type         json.RawMessage `json:"type"`
	Category     json.RawMessage `json:"category"`
	Code         json.RawMessage `json:"code"`
	Performer    json.RawMessage `json:"performer"`
	Author       json.RawMessage `json:"author"`
	Location     json.RawMessage `json:"location"`
	Organization json.RawMessage `json:"organization"`
	Participant  json.RawMessage `json:"participant"`

	// Patient, Practitioner
	BirthDate           string          `json:"birthDate"`
	Gender              string          `json:"gender"`
	DeceasedBoolean     *bool           `json:"deceasedBoolean"`
	DeceasedDateTime    string          `json:"deceasedDateTime"`
	Address             json.RawMessage `json:"address"` // one on a Location
	Telecom             []contactPoint  `json:"telecom"`
	Extension           []extension     `json:"extension"`
	GeneralPractitioner []reference     `json:"generalPractitioner"`
	Contact             []contact       `json:"contact"`
	Link                []struct {
		Other reference `json:"other"`
		Type  string    `json:"type"`
	} `json:"link"`

	// PractitionerRole, Location
	Practitioner         reference `json:"practitioner"`
	ManagingOrganization reference `json:"managingOrganization"`
	CareManager          reference `json:"careManager"`
	PartOf               reference `json:"partOf"`

	// clinical
	Subject            reference       `json:"subject"`
	Patient            reference       `json:"patient"`
	Encounter          reference       `json:"encounter"`
	ClinicalStatus     concept         `json:"clinicalStatus"`
	VerificationStatus concept         `json:"verificationStatus"`
	Severity           concept         `json:"severity"`
	OnsetDateTime      string          `json:"onsetDateTime"`
	OnsetPeriod        period          `json:"onsetPeriod"`
	OnsetString        string          `json:"onsetString"`
	AbatementDateTime  string          `json:"abatementDateTime"`
	RecordedDate       string          `json:"recordedDate"`
	Recorded           string          `json:"recorded"`
	Recorder           reference       `json:"recorder"`
	Asserter           reference       `json:"asserter"`
	InformationSource  reference       `json:"informationSource"`
	Requester          reference       `json:"requester"`
	ReasonCode         []concept       `json:"reasonCode"`
	Note               []note          `json:"note"`
	Description        json.RawMessage `json:"description"` // a string; a CodeableConcept on a Goal
	Title              string          `json:"title"`
	Period             period          `json:"period"`
	Created            string          `json:"created"`
	Date               string          `json:"date"`
	DateTime           string          `json:"dateTime"`
	Intent             string          `json:"intent"`
	ServiceProvider    reference       `json:"serviceProvider"`
	Class              coding          `json:"class"`
	Hospitalization    *hospStay       `json:"hospitalization"`
	BasedOn            []reference     `json:"basedOn"`

	// Observation, DiagnosticReport
	EffectiveDateTime    string           `json:"effectiveDateTime"`
	EffectivePeriod      period           `json:"effectivePeriod"`
	EffectiveInstant     string           `json:"effectiveInstant"`
	Issued               string           `json:"issued"`
	ValueQuantity        *quantity        `json:"valueQuantity"`
	ValueCodeableConcept *concept         `json:"valueCodeableConcept"`
	ValueString          *string          `json:"valueString"`
	ValueBoolean         *bool            `json:"valueBoolean"`
	ValueInteger         *json.Number     `json:"valueInteger"`
	Interpretation       []concept        `json:"interpretation"`
	ReferenceRange       []referenceRange `json:"referenceRange"`
	Component            []component      `json:"component"`
	HasMember            []reference      `json:"hasMember"`
	Result               []reference      `json:"result"`
	Conclusion           string           `json:"conclusion"`
	DateAsserted         string           `json:"dateAsserted"`

	// medicines
	MedicationCodeableConcept *concept  `json:"medicationCodeableConcept"`
	MedicationReference       reference `json:"medicationReference"`
	AuthoredOn                string    `json:"authoredOn"`
	DosageInstruction         []dosage  `json:"dosageInstruction"`
	Dosage                    []dosage  `json:"dosage"`
	CourseOfTherapyType       concept   `json:"courseOfTherapyType"`

	// AllergyIntolerance
	Criticality string     `json:"criticality"`
	Reaction    []reaction `json:"reaction"`

	// Procedure, Immunization
	PerformedDateTime  string    `json:"performedDateTime"`
	PerformedPeriod    period    `json:"performedPeriod"`
	PerformedString    string    `json:"performedString"`
	OccurrenceDateTime string    `json:"occurrenceDateTime"`
	OccurrenceString   string    `json:"occurrenceString"`
	OccurrencePeriod   period    `json:"occurrencePeriod"`
	VaccineCode        concept   `json:"vaccineCode"`
	DoseQuantity       *quantity `json:"doseQuantity"`
	ProtocolApplied    []struct {
		DoseNumberPositiveInt *json.Number `json:"doseNumberPositiveInt"`
		DoseNumberString      string       `json:"doseNumberString"`
	} `json:"protocolApplied"`

	// DocumentReference
	Content []struct {
		Attachment attachment `json:"attachment"`
	} `json:"content"`
	Custodian reference `json:"custodian"`
	Context   struct {
		Encounter []reference `json:"encounter"`
		Period    period      `json:"period"`
	} `json:"context"`

	// Appointment
	Start           string          `json:"start"`
	End             string          `json:"end"`
	ServiceType     json.RawMessage `json:"serviceType"` // one on an Encounter, a list on an Appointment
	AppointmentType concept         `json:"appointmentType"`

	// ServiceRequest, Appointment: a code on one, a number on the other
	Priority json.RawMessage `json:"priority"`

	// Goal
	LifecycleStatus   string          `json:"lifecycleStatus"`
	AchievementStatus concept         `json:"achievementStatus"`
	Target            json.RawMessage `json:"target"`

	// Medication
	Form concept `json:"form"`

	// raw is the resource as it came, for what reads it whole (Consent).
	raw []byte
	// Decoded while decoding the resource, on the decoding goroutines:
	// code and performer are read for nearly every clinical resource.
	codes      []concept
	performers []reference
	name       string // an Organization's or Location's name
}

type coding struct {
	System  string `json:"system"`
	Code    string `json:"code"`
	Display string `json:"display"`
}

type concept struct {
	Coding []coding `json:"coding"`
	Text   string   `json:"text"`
}

type reference struct {
	Reference  string      `json:"reference"`
	Display    string      `json:"display"`
	Identifier *identifier `json:"identifier"`
}

type identifier struct {
	System string  `json:"system"`
	Value  string  `json:"value"`
	Type   concept `json:"type"`
}

type period struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

type quantity struct {
	Value      *json.Number `json:"value"`
	Comparator string       `json:"comparator"`
	Unit       string       `json:"unit"`
	Code       string       `json:"code"`
}

type referenceRange struct {
	Low  *quantity `json:"low"`
	High *quantity `json:"high"`
	Text string    `json:"text"`
}

type component struct {
	Code                 concept   `json:"code"`
	ValueQuantity        *quantity `json:"valueQuantity"`
	ValueCodeableConcept *concept  `json:"valueCodeableConcept"`
	ValueString          *string   `json:"valueString"`
	Interpretation       []concept `json:"interpretation"`
}

type humanName struct {
	Use    string   `json:"use"`
	Text   string   `json:"text"`
	Family string   `json:"family"`
	Given  []string `json:"given"`
	Prefix []string `json:"prefix"`
	Period period   `json:"period"`
}

type address struct {
	Use        string   `json:"use"`
	Text       string   `json:"text"`
	Line       []string `json:"line"`
	City       string   `json:"city"`
	District   string   `json:"district"`
	PostalCode string   `json:"postalCode"`
	Period     period   `json:"period"`
}

type contactPoint struct {
	System string `json:"system"`
	Value  string `json:"value"`
	Use    string `json:"use"`
}

type extension struct {
	URL                  string   `json:"url"`
	ValueCodeableConcept *concept `json:"valueCodeableConcept"`
}

type contact struct {
	Name         humanName      `json:"name"`
	Relationship []concept      `json:"relationship"`
	Telecom      []contactPoint `json:"telecom"`
}

type hospStay struct {
	AdmitSource concept `json:"admitSource"`
}

type note struct {
	Text string `json:"text"`
}

type dosage struct {
	Text string `json:"text"`
}

type reaction struct {
	Substance     concept   `json:"substance"`
	Manifestation []concept `json:"manifestation"`
	Severity      string    `json:"severity"`
	Description   string    `json:"description"`
}

type attachment struct {
	ContentType string `json:"contentType"`
	Data        string `json:"data"`
	URL         string `json:"url"`
	Title       string `json:"title"`
	Creation    string `json:"creation"`
}

type encLocation struct {
	Location reference `json:"location"`
	Period   period    `json:"period"`
}

// decodeResource decodes one resource, or reports false for anything that
// is not a JSON object with a resourceType and id of the shapes FHIR gives
// them. A field of the wrong shape costs the whole resource: the view
// would rather leave out what it cannot read than show it half read.
//
// goccy/go-json reads past the end of some invalid input, so the standard
// library (which allocates nothing to check) decides validity first, as in
// internal/fhir; the recover is for whatever goccy's fast paths still
// miss: one resource must not take the page down.
func decodeResource(b []byte) (r *resource, ok bool) {
	if !json.Valid(b) {
		return nil, false
	}
	defer func() {
		if recover() != nil {
			r, ok = nil, false
		}
	}()
	r = new(resource)
	if err := gojson.UnmarshalNoEscape(b, r); err != nil || r.ResourceType == "" {
		return nil, false
	}
	r.raw = b
	r.codes = concepts(r.Code)
	r.performers = actors(r.Performer)
	if r.ResourceType == "Organization" || r.ResourceType == "Location" {
		decodeRaw(r.Name, &r.name)
	}
	return r, true
}

// decodeRaw decodes a field kept raw; a missing or malformed one leaves v
// as it was.
func decodeRaw(b json.RawMessage, v any) bool {
	if len(b) == 0 || string(b) == "null" {
		return false
	}
	return gojson.UnmarshalNoEscape(b, v) == nil
}

// concepts decodes a CodeableConcept or a list of them.
func concepts(b json.RawMessage) []concept {
	if len(b) == 0 {
		return nil
	}
	if b[0] == '[' {
		var cs []concept
		decodeRaw(b, &cs)
		return cs
	}
	var c concept
	if decodeRaw(b, &c) {
		return []concept{c}
	}
	return nil
}

// references decodes a Reference or a list of them.
func references(b json.RawMessage) []reference {
	if len(b) == 0 {
		return nil
	}
	if b[0] == '[' {
		var rs []reference
		decodeRaw(b, &rs)
		return rs
	}
	var r reference
	if decodeRaw(b, &r) {
		return []reference{r}
	}
	return nil
}

// actors decodes performer/participant lists whose elements wrap the
// reference (Procedure, Immunization, Encounter, Appointment) or are the
// reference (Observation, ServiceRequest).
func actors(b json.RawMessage) []reference {
	if len(b) == 0 || b[0] != '[' {
		return references(b)
	}
	var as []struct {
		Actor      reference `json:"actor"`
		Individual reference `json:"individual"`
		Reference  string    `json:"reference"`
		Display    string    `json:"display"`
	}
	if !decodeRaw(b, &as) {
		return nil
	}
	out := make([]reference, 0, len(as))
	for _, a := range as {
		switch {
		case a.Actor.Reference != "" || a.Actor.Display != "":
			out = append(out, a.Actor)
		case a.Individual.Reference != "" || a.Individual.Display != "":
			out = append(out, a.Individual)
		default:
			out = append(out, reference{Reference: a.Reference, Display: a.Display})
		}
	}
	return out
}

// display returns a concept's words: its text, else the first coding's
// display, else the first code (a code beats nothing: a clinician can
// look it up).
func (c concept) display() string {
	if c.Text != "" {
		return c.Text
	}
	for _, cd := range c.Coding {
		if cd.Display != "" {
			return cd.Display
		}
	}
	for _, cd := range c.Coding {
		if cd.Code != "" {
			return cd.Code
		}
	}
	return ""
}

// preferredSystems rank code systems for identity: two organisations that
// code the same thing in SNOMED CT and in a local code agree on the
// SNOMED CT one.
var preferredSystems = []string{sysSNOMED, sysLOINC, sysDMD}

// key returns "system|code" of the concept's preferred coding, else its
// lowercased text: what two sources' codings of the same thing share.
func (c concept) key() string {
	for _, s := range preferredSystems {
		for _, cd := range c.Coding {
			if cd.System == s && cd.Code != "" {
				return cd.System + "|" + cd.Code
			}
		}
	}
	for _, cd := range c.Coding {
		if cd.Code != "" {
			return cd.System + "|" + cd.Code
		}
	}
	if c.Text != "" {
		return "text|" + strings.ToLower(strings.TrimSpace(c.Text))
	}
	return ""
}

func (c concept) has(system, code string) bool {
	for _, cd := range c.Coding {
		if cd.System == system && cd.Code == code {
			return true
		}
	}
	return false
}

func (c concept) code(system string) string {
	for _, cd := range c.Coding {
		if cd.System == system {
			return cd.Code
		}
	}
	return ""
}

func firstConcept(cs []concept) concept {
	for _, c := range cs {
		if len(c.Coding) > 0 || c.Text != "" {
			return c
		}
	}
	return concept{}
}

// Code systems the view reads.
const (
	sysSNOMED         = "http://snomed.info/sct"
	sysLOINC          = "http://loinc.org"
	sysDMD            = "https://dmd.nhs.uk"
	sysODS            = "https://fhir.nhs.uk/Id/ods-organization-code"
	sysNHSNumber      = "https://fhir.nhs.uk/Id/nhs-number"
	sysConfidential   = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
	sysPatientView    = "https://sharedcare.example/CodeSystem/patient-view"
	sysCarePlanKind   = "https://sharedcare.example/CodeSystem/care-plan-kind"
	sysEthnicCategory = "https://fhir.hl7.org.uk/CodeSystem/UKCore-EthnicCategoryEngland"
	extEthnicCategory = "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-EthnicCategory"
	// sysPatientEntered tags an item the person entered themselves (the
	// patient portal's own writes); performer-style references to a
	// Patient or RelatedPerson say the same for other senders.
	sysProvenance = "https://sharedcare.example/CodeSystem/provenance"
)

// fdate is a FHIR date or dateTime with its precision.
type fdate struct {
	T    time.Time
	Prec int // 0 none, 1 year, 2 month, 3 day, 4 time
}

func parseDate(s string) fdate {
	switch len(s) {
	case 0:
		return fdate{}
	case 4:
		if t, err := time.Parse("2006", s); err == nil {
			return fdate{t, 1}
		}
	case 7:
		if t, err := time.Parse("2006-01", s); err == nil {
			return fdate{t, 2}
		}
	case 10:
		if t, err := time.Parse(time.DateOnly, s); err == nil {
			return fdate{t, 3}
		}
	default:
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return fdate{t.UTC(), 4}
		}
		// FHIR allows a dateTime with hours and minutes but no seconds
		// only in instants' neighbours; be lenient with "2024-03-12T10:30Z".
		if t, err := time.Parse("2006-01-02T15:04Z07:00", s); err == nil {
			return fdate{t.UTC(), 4}
		}
	}
	return fdate{}
}

// text renders a date at its precision: "2024", "Mar 2024", "12 Mar 2024".
func (d fdate) text() string {
	switch d.Prec {
	case 1:
		return d.T.Format("2006")
	case 2:
		return d.T.Format("Jan 2006")
	case 3, 4:
		return d.T.Format("2 Jan 2006")
	}
	return ""
}

// firstDate returns the first of ss that parses.
func firstDate(ss ...string) fdate {
	for _, s := range ss {
		if d := parseDate(s); d.Prec > 0 {
			return d
		}
	}
	return fdate{}
}
