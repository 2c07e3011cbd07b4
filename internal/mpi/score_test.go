package mpi

import (
	"strings"
	"testing"
)

func base() Record {
	return Record{
		ID: "a", Source: "RHQ",
		Identifiers: []Identifier{
			{System: NHSNumberSystem, Value: "9434765919", NHS: true, Verification: Verified},
			{System: "https://sharedcare.example/Id/RHQ/mrn", Value: "M1234567"},
		},
		Family: "Staniforth", Given: []string{"Robert", "James"},
		BirthDate: Date{1953, 6, 4}, Sex: Male,
		Postcode: "S7 0SB", AddressLine: "129 Moor Lane", Phones: []string{"0114 496 0438"},
	}
}

func without(r Record, systems ...string) Record {
	var ids []Identifier
	for _, id := range r.Identifiers {
		if !contains(systems, id.System) {
			ids = append(ids, id)
		}
	}
	r.Identifiers = ids
	return r
}

func TestCompareLevels(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(r *Record)
		field Field
		want  Level
	}{
		{"same family", func(r *Record) {}, FieldFamily, Exact},
		{"family case and punctuation", func(r *Record) { r.Family = "STANIFORTH." }, FieldFamily, Exact},
		{"family typo", func(r *Record) { r.Family = "Stanniforth" }, FieldFamily, Close},
		{"double-barrelled", func(r *Record) { r.Family = "Staniforth-Hague" }, FieldFamily, Part},
		{"hyphen or space", func(r *Record) { r.Family = "Stani-Forth" }, FieldFamily, Exact},
		{"family differs", func(r *Record) { r.Family = "Wainwright" }, FieldFamily, Disagree},
		{"maiden name", func(r *Record) { r.Family = "Hobson"; r.PreviousFamily = []string{"Staniforth"} }, FieldFamily, Alias},
		{"swapped", func(r *Record) { r.Family, r.Given = "Robert", []string{"Staniforth"} }, FieldFamily, Swapped},
		{"nickname", func(r *Record) { r.Given = []string{"Bob"} }, FieldGiven, Nickname},
		{"given typo", func(r *Record) { r.Given = []string{"Rbert"} }, FieldGiven, Close},
		{"initial", func(r *Record) { r.Given = []string{"R"} }, FieldGiven, Initial},
		{"initial differs", func(r *Record) { r.Given = []string{"J"} }, FieldGiven, Disagree},
		{"goes by middle name", func(r *Record) { r.Given = []string{"James"} }, FieldGiven, MiddleAsFirst},
		{"given differs", func(r *Record) { r.Given = []string{"Peter"} }, FieldGiven, Disagree},
		{"no given", func(r *Record) { r.Given = nil }, FieldGiven, Missing},
		{"middle initial", func(r *Record) { r.Given = []string{"Robert", "J"} }, FieldMiddle, Initial},
		{"middle in one element", func(r *Record) { r.Given = []string{"Robert James"} }, FieldMiddle, Exact},
		{"dob", func(r *Record) {}, FieldBirthDate, Exact},
		{"dob transposed", func(r *Record) { r.BirthDate = Date{1953, 4, 6} }, FieldBirthDate, Transposed},
		{"dob digit", func(r *Record) { r.BirthDate = Date{1958, 6, 4} }, FieldBirthDate, Typo},
		{"dob digits swapped", func(r *Record) { r.BirthDate = Date{1935, 6, 4} }, FieldBirthDate, Typo},
		{"dob year only", func(r *Record) { r.BirthDate = Date{Year: 1953} }, FieldBirthDate, YearOnly},
		{"dob month", func(r *Record) { r.BirthDate = Date{Year: 1953, Month: 6} }, FieldBirthDate, YearMonth},
		{"dob differs", func(r *Record) { r.BirthDate = Date{1961, 11, 23} }, FieldBirthDate, Disagree},
		{"sex differs", func(r *Record) { r.Sex = Female }, FieldSex, Disagree},
		{"sex unknown", func(r *Record) { r.Sex = SexUnknown }, FieldSex, Missing},
		{"household", func(r *Record) { r.AddressLine = "129 MOOR LN" }, FieldAddress, Exact},
		{"neighbour", func(r *Record) { r.AddressLine = "131 Moor Lane" }, FieldAddress, SamePostcode},
		{"sector", func(r *Record) { r.Postcode = "s70xx" }, FieldAddress, Sector},
		{"district", func(r *Record) { r.Postcode = "S7 1AB" }, FieldAddress, District},
		{"moved", func(r *Record) { r.Postcode = "DN4 5PL" }, FieldAddress, Disagree},
		{"no fixed abode", func(r *Record) { r.Postcode = "ZZ99 3VZ" }, FieldAddress, Missing},
		{"phone other format", func(r *Record) { r.Phones = []string{"+44 114 4960438"} }, FieldPhone, Exact},
		{"mrn differs", func(r *Record) { r.Identifiers[1].Value = "M7654321" }, FieldIdentifier, Disagree},
		{"other system", func(r *Record) { r.Identifiers[1].System = "x" }, FieldIdentifier, Missing},
		{"nhs differs", func(r *Record) { r.Identifiers[0].Value = "4010232137" }, FieldNHS, Disagree},
		{"nhs spaced", func(r *Record) { r.Identifiers[0].Value = "943 476 5919" }, FieldNHS, Exact},
	}
	m := DefaultModel()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := base(), base()
			b.Identifiers = append([]Identifier(nil), a.Identifiers...)
			tt.edit(&b)
			s := m.Score(a, b)
			if got := s.Fields[tt.field].Level; got != tt.want {
				t.Errorf("%s = %s, want %s (%v)", tt.field, got, tt.want, s)
			}
		})
	}
}

func TestDecide(t *testing.T) {
	const nhs2 = "4010232137"
	// Records from another organisation: no MRN of the same system.
	noNHS := func(r *Record) { *r = without(*r, NHSNumberSystem, "https://sharedcare.example/Id/RHQ/mrn") }
	unverified := func(r *Record) {
		ids := append([]Identifier(nil), r.Identifiers...)
		ids[0].Verification = NotTraced
		r.Identifiers = ids
	}
	tests := []struct {
		name string
		a, b func(r *Record)
		want Decision
		rule Rule
	}{
		{name: "identical", want: AutoLink, rule: RuleVerifiedNHS},
		{name: "verified NHS, all else differs", b: func(r *Record) {
			*r = Record{Identifiers: r.Identifiers, Family: "Khan", Given: []string{"Aisha"}, BirthDate: Date{2001, 1, 1}, Sex: Female}
		}, want: AutoLink, rule: RuleVerifiedNHS},
		{name: "no NHS, same everything", b: noNHS, want: AutoLink},
		{name: "no NHS, nickname and typo", b: func(r *Record) {
			noNHS(r)
			r.Given = []string{"Bob"}
			r.Family = "Stanniforth"
		}, want: AutoLink},
		{name: "no NHS, names and birth date only", b: func(r *Record) { noNHS(r); r.Postcode, r.AddressLine, r.Phones = "", "", nil }, want: Review},
		{name: "no NHS, moved house", b: func(r *Record) { noNHS(r); r.Postcode, r.AddressLine, r.Phones = "DN4 5PL", "2 High St", nil }, want: Review},
		{name: "no NHS, married and moved", a: func(r *Record) { r.Given = []string{"Margaret"}; r.Sex = Female }, b: func(r *Record) {
			noNHS(r)
			r.Given, r.Sex, r.Family = []string{"Margaret"}, Female, "Wainwright"
			r.Postcode, r.AddressLine, r.Phones = "DN4 5PL", "2 High St", nil
		}, want: Review},
		{name: "NHS unverified equal, rest equal", a: unverified, b: unverified, want: AutoLink},
		{name: "different NHS, different people", b: func(r *Record) {
			ids := append([]Identifier(nil), r.Identifiers...)
			ids[0].Value, ids[0].Verification = nhs2, NotTraced
			r.Identifiers = ids
			r.Given = []string{"Peter"}
			r.BirthDate = Date{1971, 2, 3}
		}, want: NoLink, rule: RuleNHSConflict},
		{name: "different NHS, everything else equal", b: func(r *Record) {
			ids := append([]Identifier(nil), r.Identifiers...)
			ids[0].Value, ids[0].Verification = nhs2, NotTraced
			r.Identifiers = ids
		}, want: Review, rule: RuleNHSConflict},
		{name: "different verified NHS", b: func(r *Record) {
			ids := append([]Identifier(nil), r.Identifiers...)
			ids[0].Value = nhs2
			r.Identifiers = ids
		}, want: NoLink, rule: RuleVerifiedNHSConflict},
		{name: "twin without NHS", b: func(r *Record) { noNHS(r); r.Given = []string{"Peter"} }, want: NoLink, rule: RulePossibleTwin},
		{name: "twin with sibling's unverified NHS", a: unverified, b: func(r *Record) { unverified(r); r.Given = []string{"Peter"} }, want: Review, rule: RulePossibleTwin},
		{name: "same name and birth date, same district, no NHS", b: func(r *Record) {
			noNHS(r)
			r.Postcode, r.AddressLine, r.Phones = "S7 2QQ", "4 Ecclesall Road", []string{"0114 496 0999"}
		}, want: Review},
		{name: "father and son at one address", b: func(r *Record) { noNHS(r); r.BirthDate = Date{1979, 10, 12} }, want: Review},
		{name: "unrelated", b: func(r *Record) {
			*r = Record{Family: "Khan", Given: []string{"Aisha"}, BirthDate: Date{2001, 1, 1}, Sex: Female, Postcode: "DN1 1AA"}
		}, want: NoLink},
	}
	m := DefaultModel()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := base(), base()
			if tt.a != nil {
				tt.a(&a)
				tt.a(&b)
			}
			if tt.b != nil {
				tt.b(&b)
			}
			s := m.Score(a, b)
			d := Decide(s, m.Thresholds)
			if d != tt.want || s.Rule != tt.rule {
				t.Errorf("Decide = %s, rule %q; want %s, %q\n%v", d, s.Rule, tt.want, tt.rule, s)
			}
			if s2 := m.Score(b, a); s2.Weight != s.Weight || s2.Rule != s.Rule {
				t.Errorf("not symmetric: %v / %v", s, s2)
			}
		})
	}
}

func TestGradeAndReasons(t *testing.T) {
	m := DefaultModel()
	th := m.Thresholds
	tests := []struct {
		w    float64
		rule Rule
		want MatchGrade
	}{
		{40, NoRule, GradeCertain},
		{-10, RuleVerifiedNHS, GradeCertain},
		{(th.AutoLink + th.Review) / 2, NoRule, GradeProbable},
		{th.Review, NoRule, GradePossible},
		{th.Review - 1, NoRule, GradeCertainlyNot},
		{50, RuleVerifiedNHSConflict, GradeCertainlyNot},
	}
	for _, tt := range tests {
		s := Score{Weight: tt.w, Rule: tt.rule}
		s.Fields[FieldAddress].Level = Exact // corroborated
		if g := Grade(s, th); g != tt.want {
			t.Errorf("Grade(%v, %v) = %s, want %s", tt.w, tt.rule, g, tt.want)
		}
	}
	a, b := base(), base()
	b.Given = []string{"Bob"}
	s := m.Score(a, b)
	txt := s.String()
	for _, want := range []string{"given name: nickname (+4.3)", "NHS number: exact (+19.9)", "same verified NHS number"} {
		if !strings.Contains(txt, want) {
			t.Errorf("%q lacks %q", txt, want)
		}
	}
	if strings.Contains(txt, "Staniforth") || strings.Contains(txt, "Bob") {
		t.Errorf("reasons carry personal data: %s", txt)
	}
	if s.Probability != 1 {
		t.Errorf("probability %v", s.Probability)
	}
}
