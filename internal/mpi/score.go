package mpi

import (
	"fmt"
	"math"
	"strings"
)

// Outcome is how one field compared and what it weighed.
type Outcome struct {
	Level  Level
	Weight float64
}

// Rule is a rule that overrides or bounds the weighed decision.
type Rule uint8

const (
	NoRule Rule = iota
	// RuleVerifiedNHS: the same NHS number, verified against PDS on both
	// sides. The national index has already matched both to one person;
	// link whatever the demographics say.
	RuleVerifiedNHS
	// RuleNHSConflict: two different valid NHS numbers. Never linked
	// automatically; reviewed only when the rest weighs enough to pass
	// the auto-link threshold despite the NHS number's penalty (a person
	// can be issued two numbers, which PDS later merges).
	RuleNHSConflict
	// RuleVerifiedNHSConflict: two different NHS numbers, both verified:
	// PDS holds them as two people. Not linked.
	RuleVerifiedNHSConflict
	// RulePossibleTwin: the same (or nearly the same) birth date and
	// family name or home, and given names that are not the same name:
	// the pattern of twins, which a weight that counts each agreement
	// independently over-rates. Never auto-linked. Not linked when the
	// given names disagree outright, unless the NHS numbers agree (a
	// twin's record may carry the sibling's number); reviewed when they
	// are alike (a typo, an initial, a middle name: one person or
	// twins, only a person can tell).
	RulePossibleTwin
)

var ruleText = [...]string{"", "same verified NHS number: deterministic link",
	"different NHS numbers: never auto-linked", "different verified NHS numbers: not linked",
	"possible twin (same birth date and family or home, given name not the same): never auto-linked"}

func (r Rule) String() string {
	if int(r) < len(ruleText) {
		return ruleText[r]
	}
	return fmt.Sprintf("rule(%d)", uint8(r))
}

// Score is the comparison of two records: the total weight (the sum of
// the field weights, a log2 likelihood ratio), the match probability it
// gives under the model's prior, each field's outcome, and a rule if one
// applies. It holds no personal data, so it can be logged and stored
// with the decision.
type Score struct {
	Weight      float64
	Probability float64
	Fields      [NumFields]Outcome
	Rule        Rule
}

// Reason is one field's outcome in words.
type Reason struct {
	Field  Field
	Level  Level
	Weight float64
}

func (r Reason) String() string {
	return fmt.Sprintf("%s: %s (%+.1f)", r.Field, r.Level, r.Weight)
}

// Reasons lists the outcomes of the fields present on both sides, in
// field order.
func (s *Score) Reasons() []Reason {
	var out []Reason
	for f, o := range s.Fields {
		if o.Level != Missing {
			out = append(out, Reason{Field: Field(f), Level: o.Level, Weight: o.Weight})
		}
	}
	return out
}

// String is the score in one line: weight, probability, rule, reasons.
func (s Score) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "weight %.1f, probability %.4f", s.Weight, s.Probability)
	if s.Rule != NoRule {
		fmt.Fprintf(&b, ", %s", s.Rule)
	}
	for _, r := range s.Reasons() {
		b.WriteString("; ")
		b.WriteString(r.String())
	}
	return b.String()
}

// Score compares two records under the model, with no knowledge of how
// common their names are (an Index scores with it).
func (m *Model) Score(a, b Record) Score {
	fa, fb := prepare(&a, nil), prepare(&b, nil)
	return m.score(&fa, &fb, nil)
}

// nameFreq gives the share of a population that has a normalised family
// (FieldFamily) or given (FieldGiven) name; 0 when unknown.
type nameFreq interface {
	share(f Field, name string) float64
}

func (m *Model) score(a, b *features, tf nameFreq) Score {
	var s Score
	set := func(f Field, l Level) {
		s.Fields[f] = Outcome{Level: l, Weight: m.w[f][l]}
	}
	set(FieldNHS, cmpNHS(a, b))
	set(FieldIdentifier, cmpIdentifiers(a, b))
	fam, giv := cmpNames(a, b)
	set(FieldFamily, fam)
	set(FieldGiven, giv)
	if giv == MiddleAsFirst || giv == Swapped {
		set(FieldMiddle, Missing) // already counted
	} else {
		set(FieldMiddle, cmpMiddle(a.middle, b.middle))
	}
	// Term frequency: an exact name weighs by how common it is.
	if tf != nil {
		if fam == Exact {
			if u := tf.share(FieldFamily, a.family); u > 0 {
				s.Fields[FieldFamily].Weight = MU{m.MU[FieldFamily][Exact].M, max(u, m.MinNameU)}.Weight()
			}
		}
		if giv == Exact {
			if u := tf.share(FieldGiven, a.given); u > 0 {
				s.Fields[FieldGiven].Weight = MU{m.MU[FieldGiven][Exact].M, max(u, m.MinNameU)}.Weight()
			}
		}
	}
	set(FieldBirthDate, cmpDate(a.dob, b.dob))
	set(FieldSex, cmpSex(a.sex, b.sex))
	set(FieldAddress, cmpAddress(a, b))
	set(FieldPhone, cmpPhones(a.phones, b.phones))
	set(FieldEmail, cmpString(a.email, b.email))
	if a.dod != 0 && b.dod != 0 {
		l := cmpDate(a.dod, b.dod)
		if l != Exact && l != Missing {
			l = Disagree
		}
		set(FieldDeathDate, l)
	}
	// The contact fields share one cap on what they add.
	var w, contact float64
	for f, o := range s.Fields {
		switch Field(f) {
		case FieldAddress, FieldPhone, FieldEmail:
			if o.Weight > 0 {
				contact += o.Weight
				continue
			}
		}
		w += o.Weight
	}
	if contact > m.ContactCap {
		scale := m.ContactCap / contact
		for _, f := range []Field{FieldAddress, FieldPhone, FieldEmail} {
			if s.Fields[f].Weight > 0 {
				s.Fields[f].Weight *= scale
			}
		}
		contact = m.ContactCap
	}
	s.Weight = w + contact
	s.Rule = rules(a, b, &s)
	if s.Rule == RuleVerifiedNHS {
		s.Probability = 1
	} else {
		s.Probability = 1 / (1 + 1/(m.PriorOdds*math.Exp2(s.Weight)))
	}
	return s
}

func rules(a, b *features, s *Score) Rule {
	nhs := s.Fields[FieldNHS].Level
	switch {
	case nhs == Exact && a.nhsVerified && b.nhsVerified:
		return RuleVerifiedNHS
	case nhs == Disagree && a.nhsVerified && b.nhsVerified:
		return RuleVerifiedNHSConflict
	}
	// The twin pattern: birth dates that agree (or nearly: a typo in one
	// twin's record), the same family name or home, and given names
	// that are not the same name. Twins' names are often alike (Louis
	// and Louise, Jack and Jake), so a close spelling, an initial or a
	// middle name counts as well as an outright difference, unless the
	// NHS numbers agree.
	g := s.Fields[FieldGiven].Level
	switch s.Fields[FieldBirthDate].Level {
	case Exact, Typo, Transposed:
		famOrHome := false
		switch s.Fields[FieldFamily].Level {
		case Exact, Close, Part, Alias:
			famOrHome = true
		}
		famOrHome = famOrHome || s.Fields[FieldAddress].Level == Exact || s.Fields[FieldPhone].Level == Exact
		if famOrHome && (g == Disagree || nhs != Exact && (g == Close || g == Initial || g == MiddleAsFirst)) {
			return RulePossibleTwin
		}
	}
	if nhs == Disagree {
		return RuleNHSConflict
	}
	return NoRule
}

// corroborated reports whether something beyond names and dates
// agrees exactly.
func (s *Score) corroborated() bool {
	for _, f := range [...]Field{FieldNHS, FieldIdentifier, FieldAddress, FieldPhone, FieldEmail} {
		if s.Fields[f].Level == Exact {
			return true
		}
	}
	return false
}

// Decision is what to do with a candidate.
type Decision uint8

const (
	NoLink   Decision = iota // a different person
	Review                   // a person should look: link or not
	AutoLink                 // the same person: link without asking
)

func (d Decision) String() string {
	switch d {
	case AutoLink:
		return "auto-link"
	case Review:
		return "review"
	}
	return "no-link"
}

// Decide turns a score into a decision with thresholds and the rules:
//
//   - RuleVerifiedNHS: AutoLink.
//   - RuleVerifiedNHSConflict: NoLink.
//   - RuleNHSConflict: Review if the weight, penalty included, still
//     reaches the auto-link threshold (everything else agrees strongly);
//     otherwise NoLink. Never AutoLink.
//   - RulePossibleTwin: NoLink if the given names disagree outright and
//     the NHS numbers do not agree; otherwise Review (at or over
//     t.Review), never AutoLink.
//   - otherwise AutoLink at or over t.AutoLink, Review at or over
//     t.Review, NoLink below; but AutoLink only with corroboration: an
//     identifier (NHS number or another) or a contact detail (home
//     address, phone, email) that agrees exactly. Names and a birth date
//     alone, however well they agree, go to Review: two people with a
//     common name born on the same day in one city are too likely among
//     a million.
func Decide(s Score, t Thresholds) Decision {
	switch s.Rule {
	case RuleVerifiedNHS:
		return AutoLink
	case RuleVerifiedNHSConflict:
		return NoLink
	case RuleNHSConflict:
		if s.Weight >= t.AutoLink {
			return Review
		}
		return NoLink
	case RulePossibleTwin:
		if s.Fields[FieldGiven].Level == Disagree && s.Fields[FieldNHS].Level != Exact {
			return NoLink
		}
		if s.Weight >= t.Review {
			return Review
		}
		return NoLink
	}
	switch {
	case s.Weight >= t.AutoLink && s.corroborated():
		return AutoLink
	case s.Weight >= t.Review:
		return Review
	}
	return NoLink
}

// MatchGrade is a code of the FHIR match-grade extension
// (http://hl7.org/fhir/StructureDefinition/match-grade) that Patient
// $match puts on each entry.
type MatchGrade string

const (
	GradeCertain      MatchGrade = "certain"
	GradeProbable     MatchGrade = "probable"
	GradePossible     MatchGrade = "possible"
	GradeCertainlyNot MatchGrade = "certainly-not"
)

// MatchGradeURL is the extension's URL.
const MatchGradeURL = "http://hl7.org/fhir/StructureDefinition/match-grade"

// Grade maps a score to a match grade: AutoLink is certain; Review is
// probable in the upper half of the review band and possible in the
// lower; NoLink is certainly-not ($match leaves those out unless asked).
func Grade(s Score, t Thresholds) MatchGrade {
	switch Decide(s, t) {
	case AutoLink:
		return GradeCertain
	case Review:
		if s.Weight >= (t.AutoLink+t.Review)/2 {
			return GradeProbable
		}
		return GradePossible
	}
	return GradeCertainlyNot
}
