package synth

// A record is what one organisation holds about one person: its own
// Patient and the items it recorded. The FHIR writer (fhir.go) turns a
// record into a transaction Bundle, the HL7 writer (hl7.go) turns a
// hospital's events into messages. Items refer to each other by index
// (an item's enc is the index of its encounter in the same record, -1 for
// none), so the record is plain data.
type record struct {
	org        int
	pid        uid
	local      string // the organisation's own number for the person
	verify     string // NHS number verification status, "" for none
	eth        int    // the ethnic category this organisation recorded
	oldAddr    bool   // still has the address from before a move
	knowsDeath bool
	hospital   bool // a trust's hospital record: its events can go as HL7
	dup        *duplicate

	encs      []encounter
	conds     []condition
	obs       []observation
	meds      []medication
	allergies []allergy
	imms      []immunisation
	procs     []procedure
	plans     []carePlan
	docs      []document
	flags     []flag
	consents  []consent
	episodes  []episode
}

// duplicate is a second registration of the same person at a hospital:
// made in a hurry, with errors, sometimes later merged into the first.
type duplicate struct {
	pid        uid
	local      string
	given      string
	family     string
	birth      ts
	noNHS      bool
	merged     bool
	mergedAt   ts
	registered ts
}

type encKind uint8

const (
	encGP encKind = iota
	encReview
	encAE
	encEmergencyAdmission
	encElectiveAdmission
	encDayCase
	encOutpatient
	encCommunity
	encMentalHealth
	encCareHome
	encSocialCare
	encHospice
	encHospiceInpatient
	encPharmacy
	encDental
	encOptometry
)

// hospitalEvent reports whether an encounter of kind k is a hospital
// event that a trust's PAS would send as HL7 ADT.
func (k encKind) hospitalEvent() bool {
	switch k {
	case encAE, encEmergencyAdmission, encElectiveAdmission, encDayCase, encOutpatient:
		return true
	}
	return false
}

type encounter struct {
	id         uid
	kind       encKind
	start, end ts
	prac       int
	reason     code
	onDup      bool // registered against the duplicate patient
	stays      []stay
	loc        int // emergency department or clinic, -1 for none
	spec       specialty
	admit      string // admission method code
	dischMeth  string // discharge method code
	dischDest  string // discharge destination code
	visit      string // visit number
	died       bool
	consultant int // attending, for updates (A08)
	sens       sensitiveKind
	followUp   bool // an outpatient follow-up, not a first appointment
}

type stay struct {
	loc        int
	start, end ts
}

type condition struct {
	id        uid
	code      code
	onset     ts
	recorded  ts
	abated    ts
	enc       int
	diagnosis bool // an encounter diagnosis, not a problem-list entry
	sens      sensitiveKind
	prac      int
}

type observation struct {
	id    uid
	kind  obsKind
	at    ts
	v, v2 float64
	enc   int
	prac  int
}

type medication struct {
	id        uid
	m         med
	start     ts
	end       ts // 0: continuing
	statement bool
	status    string
	enc       int
	prac      int
	acute     bool
	repeats   int
}

type allergy struct {
	id       uid
	def      int
	onset    ts
	recorded ts
	prac     int
}

type immunisation struct {
	id      uid
	vaccine code
	at      ts
	prac    int
	lot     string
}

type procedure struct {
	id   uid
	code code
	at   ts
	enc  int
	prac int
	sens sensitiveKind
}

type carePlan struct {
	id         uid
	kind       planKind
	start, end ts
	enc        int
	prac       int
	note       string
}

type document struct {
	id    uid
	typ   code
	at    ts
	enc   int
	prac  int
	title string
	text  string
}

type flag struct {
	id    uid
	code  code
	start ts
	prac  int
}

type consentKind uint8

const (
	consentKindType1 consentKind = iota
	consentKindSharing
	consentKindNDOP
)

type consent struct {
	id   uid
	kind consentKind
	at   ts
}

type episode struct {
	id         uid
	start, end ts
	text       string
	prac       int
}
