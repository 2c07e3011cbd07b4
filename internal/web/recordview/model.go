package recordview

import "time"

// Record is one person's record, organised by PRSB heading. Lists are in
// the order a page shows them.
type Record struct {
	PatientID string    // the Patient opened
	Now       time.Time // what ages and "upcoming" are relative to
	Person    Person
	Alerts    []Alert
	Allergy   AllergySummary
	Problems  []Problem // active first, then resolved; newest onset first within each
	// Medications are current first, then past; newest first within each.
	Medications   []Medication
	Allergies     []Allergy
	Results       []ResultGroup // by code, the group with the newest result first
	Reports       []Report      // DiagnosticReports
	Trends        []Trend       // BP, HbA1c, eGFR, weight, BMI, NEWS2, then others by title
	Timeline      []Event       // newest first
	CarePlans     []CarePlan    // prominent first, then active, newest first
	Documents     []Document    // newest first
	Immunisations []Item        // newest first
	Procedures    []Item        // newest first
	Referrals     []Referral    // newest first
	Appointments  []Appointment // upcoming first (soonest first), then past (newest first)
	Goals         []Item
	Consents      Consents
	// Skipped counts resources left out because they could not be read.
	Skipped int
}

// Source is an organisation that reported an item.
type Source struct {
	ODS  string // ODS code
	Name string // the Organization's name, or the code when it is not among the resources
}

// Item is what every heading's entries share.
type Item struct {
	Title    string
	Detail   string    // a second line: reason, dose, reaction, …
	Code     string    // "system|code" of the main coding, "" when uncoded
	Date     time.Time // the date the heading sorts by; zero when unknown
	DateText string    // Date at the precision it was recorded: "2024", "Mar 2024", "12 Mar 2024"
	// First is the earliest date among merged copies (the date a medicine
	// was first recorded, say); equal to Date for an unmerged item.
	First     time.Time
	FirstText string
	Status    string   // the resource's status in words ("active", "completed", …)
	Author    string   // who recorded, performed or prescribed it, by name
	Refs      []string // "Type/id" of every resource behind the item
	Sources   []Source // every organisation that reported it
	// PatientEntered: the person (or someone for them) entered it, not a
	// professional.
	PatientEntered bool
	// Sealed: labelled restricted or very restricted (meta.security R or
	// V); shown only because the reader may see it, and marked so.
	Sealed bool
	// Withheld: tagged patient-view|withhold (a result not yet discussed);
	// the patient portal leaves it out.
	Withheld bool
}

func (it *Item) base() *Item { return it }

// Fact is a demographic value and the organisation it was taken from.
type Fact struct {
	Value  string
	Source Source
}

// Person is who the record is about, merged from every organisation's
// Patient: each field from the Patient opened when it has one, otherwise
// from the next that does (GP practices first, then by ODS code).
type Person struct {
	Name      Fact // "Given FAMILY", the official name preferred
	Title     Fact // "Mrs"
	NHSNumber Fact // "943 476 5919"
	BirthDate Fact // "6 Mar 1952"
	Born      time.Time
	Age       int    // whole years (at death, for the dead)
	AgeText   string // "74 years"; "18 months" under two
	Gender    Fact   // as recorded: "male", "female", "other", "unknown"
	Deceased  bool
	DiedOn    Fact // "3 Jan 2026", when known
	Address   Fact // one line
	Phone     Fact
	Ethnicity Fact
	// GPPractice is the registered practice's name, GPPracticeODS its code.
	GPPractice    Fact
	GPPracticeODS string
	UsualGP       Fact
	Contacts      []Contact
	Identifiers   []LocalID       // organisations' own numbers (hospital MRN, …)
	Patients      []SourcePatient // the Patients merged into this person
}

// Contact is a next of kin or other contact.
type Contact struct {
	Name, Relationship, Phone string
	Source                    Source
}

// LocalID is an organisation's own number for the person.
type LocalID struct {
	Kind   string // the last part of the system ("mrn", "patient-number"), else the system
	System string
	Value  string
	Source Source
}

// SourcePatient is one organisation's Patient for the person.
type SourcePatient struct {
	Ref    string // "Patient/id"
	Source Source
	Active bool // false for a registration merged into another
	Opened bool // the Patient the user opened
}

// Alert is an active Flag: shown prominently at the top of the record.
type Alert struct {
	Item
	Category string // "Safety", …
}

// AllergySummary is the allergies banner.
type AllergySummary struct {
	Count int
	Names []string
	// Text is the banner line: the names, or "No known allergies" when an
	// organisation recorded that, or "No allergies recorded".
	Text string
}

// Problem is a Condition.
type Problem struct {
	Item
	Active       bool
	Resolved     string // when it resolved, if recorded
	Verification string // "confirmed", "provisional", …
	Severity     string
}

// Medication is a MedicationRequest or MedicationStatement.
type Medication struct {
	Item
	Current       bool
	Dose          string
	Course        string // "continuous", "acute", … as the prescriber coded it
	Prescriber    string // who prescribed it
	PrescriberOrg string // their organisation
}

// Allergy is an AllergyIntolerance.
type Allergy struct {
	Item
	Active      bool
	Category    string // "medication", "food", …
	Criticality string // "low", "high", "unable-to-assess"
	Reactions   []string
	Severity    string // the worst reaction's
}

// Result is one Observation.
type Result struct {
	Item
	Value    string // "142/92", "48", "Never smoked tobacco"
	Unit     string
	Range    string // reference range: "20–41 mmol/mol"
	Flag     string // interpretation: "H", "L", "A", … ("" normal or unknown)
	Abnormal bool
	// FlagDerived: Flag comes from comparing the value with the range,
	// the sender having given no interpretation.
	FlagDerived bool
}

// ResultGroup is every result with one code.
type ResultGroup struct {
	Key     string // "system|code"
	Title   string
	Unit    string
	Results []Result // newest first
}

// Report is a DiagnosticReport, its results listed by reference.
type Report struct {
	Item
	Conclusion string
	Results    []string // "Observation/id"
}

// Point is one value of a series.
type Point struct {
	T time.Time
	V float64
}

// Trend is a chartable measurement: one or more series (blood pressure
// has two) of numeric values, oldest first.
type Trend struct {
	Key    string // "bp", "hba1c", "egfr", "weight", "bmi", "news2", else the code key
	Title  string
	Unit   string
	Names  []string  // one per series: "Systolic", "Diastolic"
	Series [][]Point // oldest first
	Latest string    // the latest value with its unit: "142/92 mmHg"
	At     time.Time // when Latest was taken
}

// Event kinds on the timeline.
const (
	KindAdmission  = "admission"   // hospital inpatient stay (IMP)
	KindEmergency  = "emergency"   // A&E attendance (EMER)
	KindOutpatient = "outpatient"  // hospital or mental health clinic
	KindGP         = "gp"          // GP consultation
	KindCommunity  = "community"   // home visit, community service, pharmacy, dentist, optometrist, hospice
	KindCareHome   = "care-home"   // care home residence or visit
	KindSocialCare = "social-care" // council assessment or visit
	KindDocument   = "document"    // a letter, summary or note
	KindOther      = "other"
)

// Event is an entry on the timeline: an Encounter, an EpisodeOfCare or a
// DocumentReference. Procedures stay under their own heading: each sits
// within an encounter already on the timeline.
type Event struct {
	Item
	Kind     string // one of the Kind constants
	KindText string // "Hospital admission", "A&E attendance", …
	End      time.Time
	EndText  string
	Place    string // ward or location
	Org      Source // where it happened (the service provider)
	Reason   string
}

// CarePlan is a CarePlan.
type CarePlan struct {
	Item
	Kind        string // "end-of-life", "respect", "mental-health-crisis", … or the category's words
	Description string
	EndText     string
	// Prominent plans (end of life, ReSPECT, mental health crisis, and
	// other advance care plans) that are active go at the top of the page.
	Prominent bool
}

// Document is a DocumentReference.
type Document struct {
	Item
	Type        string
	Custodian   Source
	ContentType string
	// Text is the document's text when it came as text/plain or
	// text/markdown, decoded; other content (HTML, PDF) is never
	// interpreted: URL says where it is.
	Text string
	URL  string
}

// Referral is a ServiceRequest.
type Referral struct {
	Item
	Priority  string
	Performer string
	Reason    string
}

// Appointment is an Appointment.
type Appointment struct {
	Item
	Upcoming bool
	Place    string
}

// Consents is the person's choices about their record, in plain words.
type Consents struct {
	// Sharing says how the record is shared for their care.
	Sharing string
	// OptOuts are the opt-outs from uses beyond their care (national data
	// opt-out, type 1).
	OptOuts []string
	NDOP    bool
	Type1   bool
	Dissent bool // no sharing at all, or only in an emergency
	Items   []Item
}
