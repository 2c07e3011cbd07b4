package mpi

import (
	"fmt"
	"strconv"
	"strings"
)

// Record is one source record of a person: what one organisation holds
// about them (its Patient resource), reduced to what matching uses. It is
// plain data, so a store can keep it beside the Patient or rebuild it
// from the Patient with FromPatient.
type Record struct {
	// ID identifies the source record: the Patient's logical id in the
	// store. Unique within an Index.
	ID string
	// Source is the organisation that holds the record: an ODS code where
	// known ("RHQ", "C88922").
	Source string
	// Identifiers are every identifier of the Patient, the NHS number
	// among them (flagged NHS).
	Identifiers []Identifier
	// Family is the current family name; PreviousFamily are former ones
	// (FHIR names with use "old" or "maiden"), so a married name still
	// agrees with a maiden name in another record.
	Family         string
	PreviousFamily []string
	// Given names in order: the first is the name the person is called
	// by in most records, the rest are middle names.
	Given []string
	// BirthDate and DeathDate with their precision (a year, a month or a
	// day); DeathDate is zero for the living or unknown.
	BirthDate Date
	DeathDate Date
	Sex       Sex
	// Postcode and AddressLine are of the current home address: the
	// postcode as written, the first line ("129 Moor Lane").
	Postcode    string
	AddressLine string
	Phones      []string
	Email       string
	// ReplacedBy is the id of the Patient this record was merged into at
	// its source (Patient.link type replaced-by), "" for none. The source
	// has told us the two are one person; the integration should link
	// them without scoring.
	ReplacedBy string
}

// Identifier is a business identifier: a system and a value.
type Identifier struct {
	System string
	Value  string
	// NHS marks a valid NHS number (system NHSNumberSystem, checked).
	NHS bool
	// Verification is the NHS number's verification status, if the
	// source gave one.
	Verification Verification
}

// NHS returns the record's first valid NHS number and its verification
// status, or 0 if it has none.
func (r *Record) NHS() (NHSNumber, Verification) {
	for _, id := range r.Identifiers {
		if id.System == NHSNumberSystem {
			if n, err := ParseNHSNumber(id.Value); err == nil {
				return n, id.Verification
			}
		}
	}
	return 0, VerificationUnknown
}

// Verification is the NHS number verification status of England's
// Personal Demographics Service, as UK Core records it
// (UKCore-NHSNumberVerificationStatusEngland): only 01 means the number
// was traced against PDS and confirmed.
type Verification uint8

const (
	VerificationUnknown Verification = iota // no status given
	Verified                                // 01 Number present and verified
	NotTraced                               // 02 Number present but not traced
	TraceRequired                           // 03
	TraceNoMatch                            // 04 Trace attempted: no match or multiple matches
	TraceConflict                           // 05 Trace needs to be resolved
	TraceInProgress                         // 06
	NotPresent                              // 07 Number not present and trace not required
	TracePostponed                          // 08 Trace postponed (baby under six weeks old)
)

// VerificationSystem is the code system of Verification codes.
const VerificationSystem = "https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland"

// VerificationExtension is the UK Core extension on an NHS number
// identifier that carries its verification status.
const VerificationExtension = "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus"

// ParseVerification reads a verification status code ("01" to "08").
func ParseVerification(code string) Verification {
	if len(code) == 2 && code[0] == '0' && code[1] >= '1' && code[1] <= '8' {
		return Verification(code[1] - '0')
	}
	return VerificationUnknown
}

// Code is the status's two-digit code, "" for unknown.
func (v Verification) Code() string {
	if v == VerificationUnknown || v > TracePostponed {
		return ""
	}
	return "0" + strconv.Itoa(int(v))
}

// Sex is administrative gender as FHIR records it.
type Sex uint8

const (
	SexUnknown Sex = iota // unknown or not given: never evidence either way
	Male
	Female
	SexOther
)

// ParseSex reads a FHIR administrative-gender code.
func ParseSex(code string) Sex {
	switch code {
	case "male":
		return Male
	case "female":
		return Female
	case "other":
		return SexOther
	}
	return SexUnknown
}

func (s Sex) String() string {
	switch s {
	case Male:
		return "male"
	case Female:
		return "female"
	case SexOther:
		return "other"
	}
	return "unknown"
}

// Date is a calendar date to a precision: a year (Month and Day 0), a
// year and month (Day 0), or a day, as FHIR dates are.
type Date struct {
	Year       uint16
	Month, Day uint8
}

// ParseDate reads a FHIR date or the date part of a dateTime
// ("1953", "1953-06", "1953-06-20", "1953-06-20T10:00:00Z").
func ParseDate(s string) (Date, error) {
	if i := strings.IndexByte(s, 'T'); i >= 0 {
		s = s[:i]
	}
	bad := func() (Date, error) {
		return Date{}, fmt.Errorf("mpi: %q is not a date (YYYY, YYYY-MM or YYYY-MM-DD)", s)
	}
	num := func(t string) (int, bool) {
		n := 0
		for i := 0; i < len(t); i++ {
			if t[i] < '0' || t[i] > '9' {
				return 0, false
			}
			n = n*10 + int(t[i]-'0')
		}
		return n, t != ""
	}
	var d Date
	switch len(s) {
	case 4, 7, 10:
	default:
		return bad()
	}
	y, ok := num(s[:4])
	if !ok || y == 0 {
		return bad()
	}
	d.Year = uint16(y)
	if len(s) >= 7 {
		m, ok := num(s[5:7])
		if s[4] != '-' || !ok || m < 1 || m > 12 {
			return bad()
		}
		d.Month = uint8(m)
	}
	if len(s) == 10 {
		dd, ok := num(s[8:10])
		if s[7] != '-' || !ok || dd < 1 || dd > daysIn(y, d.Month) {
			return bad()
		}
		d.Day = uint8(dd)
	}
	return d, nil
}

func daysIn(y int, m uint8) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// IsZero reports whether d is no date.
func (d Date) IsZero() bool { return d.Year == 0 }

// String writes d as FHIR does, to its precision.
func (d Date) String() string {
	switch {
	case d.Year == 0:
		return ""
	case d.Month == 0:
		return fmt.Sprintf("%04d", d.Year)
	case d.Day == 0:
		return fmt.Sprintf("%04d-%02d", d.Year, d.Month)
	}
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day)
}

// packed is d as one number, yyyymmdd, with 0 for unknown parts.
func (d Date) packed() uint32 {
	return uint32(d.Year)*10000 + uint32(d.Month)*100 + uint32(d.Day)
}

func unpack(p uint32) Date {
	return Date{Year: uint16(p / 10000), Month: uint8(p / 100 % 100), Day: uint8(p % 100)}
}
