package mpi

import (
	"fmt"
	"math"
)

// Field is an attribute that two records are compared on.
type Field uint8

const (
	FieldNHS        Field = iota // NHS number
	FieldIdentifier              // other identifiers of the same system (an MRN)
	FieldFamily                  // family name
	FieldGiven                   // first given name
	FieldMiddle                  // second given name
	FieldBirthDate
	FieldSex
	FieldAddress // postcode and first line together
	FieldPhone
	FieldEmail
	FieldDeathDate
	NumFields
)

var fieldNames = [NumFields]string{"NHS number", "identifier", "family name", "given name", "middle name",
	"birth date", "sex", "address", "phone", "email", "death date"}

func (f Field) String() string {
	if f < NumFields {
		return fieldNames[f]
	}
	return fmt.Sprintf("field(%d)", uint8(f))
}

// Level is how far two values of a field agree. Every field uses Missing,
// Exact and Disagree; the others belong to the fields named.
type Level uint8

const (
	Missing       Level = iota // one side or both have no value: no evidence
	Exact                      // equal after normalisation
	Close                      // names: Jaro–Winkler at or over the threshold, or the same NYSIIS code
	Nickname                   // given: a nickname or variant of the same name (Bob, Robert)
	Initial                    // given, middle: one side is an initial that agrees
	MiddleAsFirst              // given: one record's first name is the other's middle name
	Part                       // family: one word of a double-barrelled name (Smith, Smith-Jones)
	Alias                      // family: agrees with a previous (maiden) family name
	Swapped                    // family and given: written the other way round
	Transposed                 // birth date: day and month swapped
	Typo                       // birth date: one digit different, or two adjacent digits swapped
	YearMonth                  // birth date: known only to the month on one side, and that agrees
	YearOnly                   // birth date: known only to the year on one side, and that agrees
	SamePostcode               // address: same postcode, different first line (a neighbour)
	Sector                     // address: same postcode sector ("S7 0")
	District                   // address: same postcode district ("S7")
	Disagree                   // present on both sides and different
	NumLevels
)

var levelNames = [NumLevels]string{"missing", "exact", "close", "nickname", "initial", "middle as first",
	"part", "alias", "swapped", "day and month transposed", "one digit typo", "year and month", "year only",
	"same postcode", "same sector", "same district", "disagree"}

func (l Level) String() string {
	if l < NumLevels {
		return levelNames[l]
	}
	return fmt.Sprintf("level(%d)", uint8(l))
}

// MU is the pair of probabilities behind a weight: M, that a true match
// shows this outcome, and U, that two different people do. The weight is
// log2(M/U). Both are conditional on the field being present on both
// sides (Missing always weighs 0).
type MU struct{ M, U float64 }

// Weight is log2(M/U), 0 when either is not positive.
func (p MU) Weight() float64 {
	if p.M <= 0 || p.U <= 0 {
		return 0
	}
	return math.Log2(p.M / p.U)
}

// Thresholds turn a total weight into a decision: AutoLink at or over
// AutoLink, Review at or over Review, otherwise NoLink.
type Thresholds struct {
	AutoLink, Review float64
}

// Model is the matching model: an m/u pair per field outcome, the
// thresholds, and the prior used for probabilities. DefaultModel gives
// the documented one; change a copy's table to tune it. A Model must not
// be changed while it is in use.
type Model struct {
	MU         [NumFields][NumLevels]MU
	Thresholds Thresholds
	// PriorOdds is the odds that two records picked from a population
	// are the same person before comparing them; with the total weight W
	// the match probability is 1/(1 + 1/(PriorOdds·2^W)).
	PriorOdds float64
	// ContactCap bounds the sum of the positive weights of address,
	// phone and email: everyone in a home shares them, so agreement on
	// all three is one piece of evidence (lives with, or is, this
	// person), not three independent ones.
	ContactCap float64
	// MinNameU is the least u a name's frequency may give its exact
	// agreement, so a rare (or misspelt-in-both) name cannot outweigh
	// everything else.
	MinNameU float64

	w [NumFields][NumLevels]float64 // weights, from MU by Compile
}

// DefaultModel returns the model documented in the package comment and
// docs/MPI.md. Each call returns a new Model.
func DefaultModel() *Model {
	m := &Model{
		Thresholds: Thresholds{AutoLink: 32, Review: 14},
		PriorOdds:  1e-6,
		ContactCap: 16,
		MinNameU:   1e-4,
	}
	t := &m.MU
	// NHS number: a wrong but valid number on a true match is a
	// transcription or a relative's number, rare; two people sharing one
	// happens only by error.
	t[FieldNHS][Exact] = MU{0.99, 1e-6}
	t[FieldNHS][Disagree] = MU{0.002, 1}
	// Another identifier of the same system (the same organisation's
	// MRN): equal is the same registration; different is a second
	// registration at one organisation, which does happen (duplicates).
	t[FieldIdentifier][Exact] = MU{0.98, 1e-6}
	t[FieldIdentifier][Disagree] = MU{0.05, 1}
	// Family name: u of Exact is the name's frequency when the index
	// knows it (Smith is weaker evidence than Staniforth); 0.002 if not.
	// Disagreement on a true match is mostly marriage.
	t[FieldFamily][Exact] = MU{0.88, 0.002}
	t[FieldFamily][Close] = MU{0.05, 0.01}
	t[FieldFamily][Part] = MU{0.02, 0.0005}
	t[FieldFamily][Alias] = MU{0.02, 0.002}
	t[FieldFamily][Swapped] = MU{0.005, 1e-5} // counts for both names
	t[FieldFamily][Disagree] = MU{0.04, 0.985}
	t[FieldGiven][Exact] = MU{0.85, 0.005}
	t[FieldGiven][Nickname] = MU{0.04, 0.002}
	t[FieldGiven][Close] = MU{0.05, 0.01}
	t[FieldGiven][Initial] = MU{0.9, 0.07}
	t[FieldGiven][MiddleAsFirst] = MU{0.02, 0.001}
	t[FieldGiven][Swapped] = MU{1, 1} // weighed under family
	t[FieldGiven][Disagree] = MU{0.04, 0.98}
	t[FieldMiddle][Exact] = MU{0.7, 0.02}
	t[FieldMiddle][Initial] = MU{0.9, 0.07}
	t[FieldMiddle][Close] = MU{0.1, 0.01}
	t[FieldMiddle][Disagree] = MU{0.2, 0.97}
	// Birth date: about 25,000 distinct dates among the living, so two
	// people share one with probability 1/25,000.
	t[FieldBirthDate][Exact] = MU{0.95, 4e-5}
	t[FieldBirthDate][Transposed] = MU{0.005, 4e-5}
	t[FieldBirthDate][Typo] = MU{0.02, 1.6e-3}
	t[FieldBirthDate][YearMonth] = MU{0.95, 1e-3}
	t[FieldBirthDate][YearOnly] = MU{0.95, 0.012}
	t[FieldBirthDate][Disagree] = MU{0.005, 0.998}
	t[FieldSex][Exact] = MU{0.98, 0.5}
	t[FieldSex][Disagree] = MU{0.02, 0.5}
	// Address: a postcode holds about fifteen homes.
	t[FieldAddress][Exact] = MU{0.7, 4e-5}
	t[FieldAddress][SamePostcode] = MU{0.01, 3e-5}
	t[FieldAddress][Sector] = MU{0.05, 0.01}
	t[FieldAddress][District] = MU{0.04, 0.04}
	t[FieldAddress][Disagree] = MU{0.2, 0.95}
	t[FieldPhone][Exact] = MU{0.6, 1e-4}
	t[FieldPhone][Disagree] = MU{0.4, 0.9999}
	t[FieldEmail][Exact] = MU{0.7, 1e-6}
	t[FieldEmail][Disagree] = MU{0.3, 1}
	t[FieldDeathDate][Exact] = MU{0.9, 1e-3}
	t[FieldDeathDate][Disagree] = MU{0.05, 0.999}
	m.Compile()
	return m
}

// Compile recomputes the weights from the MU table. Call it after
// changing the table.
func (m *Model) Compile() {
	for f := range m.MU {
		for l := range m.MU[f] {
			m.w[f][l] = m.MU[f][l].Weight()
		}
	}
}

// Weight is the compiled weight of a field outcome.
func (m *Model) Weight(f Field, l Level) float64 { return m.w[f][l] }
