package mpitest

import (
	"fmt"
	"strings"

	"github.com/sharedcare/sharedcare/internal/mpi"
)

// Organisations that hold records: the GP practice (clean, traced NHS
// number), hospital trusts, community services and the council.
var orgs = []string{"RHQ", "RFR", "RP5", "RFF", "RCU", "COM", "LA"}

func mrnSystem(org string) string { return "https://sharedcare.example/Id/" + org + "/mrn" }

// Sources returns person i's records: first the GP's, as registered and
// traced, then one to three from other organisations, each corrupted
// independently, and sometimes a second, hurried registration at one
// hospital.
func (p *Population) Sources(i int) []Source {
	per := &p.People[i]
	out := []Source{{Record: p.Registered(i), Person: i}}
	n := 1 + p.r.IntN(3)
	start := p.r.IntN(len(orgs))
	for k := range n {
		org := orgs[(start+k)%len(orgs)]
		out = append(out, p.corrupt(i, org, fmt.Sprintf("%s-%s", per.ID, org), fmt.Sprintf("%s%07d", org[:1], i)))
	}
	if p.chance(0.03) {
		org := orgs[start]
		out = append(out, p.corrupt(i, org, per.ID+"-"+org+"-dup", fmt.Sprintf("%s%07d", org[:1], i+5_000_000)))
	}
	return out
}

// Registered is person i's GP record: their true demographics, the NHS
// number traced, and the practice's own number. It draws nothing from
// the random stream, so an index of a whole population can be built
// without generating every source.
func (p *Population) Registered(i int) mpi.Record {
	per := &p.People[i]
	gp := per.Truth
	gp.ID = per.ID + "-GP"
	gp.Source = "GP"
	gp.Identifiers = append(append([]mpi.Identifier(nil), gp.Identifiers...),
		mpi.Identifier{System: mrnSystem("GP"), Value: fmt.Sprintf("G%07d", i)})
	return gp
}

// corrupt derives one organisation's record of person i.
func (p *Population) corrupt(i int, org, id, mrn string) Source {
	t := p.People[i].Truth
	s := Source{Person: i}
	note := func(c string) { s.Changes = append(s.Changes, c) }
	r := mpi.Record{ID: id, Source: org, Family: t.Family, Given: append([]string(nil), t.Given...),
		BirthDate: t.BirthDate, Sex: t.Sex, Postcode: t.Postcode, AddressLine: t.AddressLine,
		Phones: append([]string(nil), t.Phones...), Email: t.Email}
	nhs := t.Identifiers[0]
	switch x := p.r.Float64(); {
	case x < 0.30:
		note("no NHS number")
	case x < 0.55:
		nhs.Verification = mpi.NotTraced
		note("NHS number not traced")
		r.Identifiers = append(r.Identifiers, nhs)
	default:
		r.Identifiers = append(r.Identifiers, nhs)
	}
	r.Identifiers = append(r.Identifiers, mpi.Identifier{System: mrnSystem(org), Value: mrn})

	// Given names.
	if len(r.Given) > 1 && p.chance(0.5) {
		r.Given = r.Given[:1]
	}
	switch x := p.r.Float64(); {
	case x < 0.10:
		if nn := nicknameOf[r.Given[0]]; len(nn) > 0 {
			r.Given[0] = p.pick(nn)
			note("nickname")
		}
	case x < 0.14:
		r.Given[0] = p.typo(r.Given[0])
		note("given typo")
	case x < 0.16:
		r.Given[0] = r.Given[0][:1]
		note("initial")
	case x < 0.18:
		if len(t.Given) > 1 {
			r.Given = []string{t.Given[1]}
			note("called by middle name")
		}
	}
	// Family name.
	age := 2024 - int(t.BirthDate.Year)
	switch x := p.r.Float64(); {
	case x < 0.05:
		r.Family = p.typo(r.Family)
		note("family typo")
	case x < 0.10 && t.Sex == mpi.Female && age >= 18 && age < 70:
		old := r.Family
		r.Family = p.family()
		if p.chance(0.4) {
			r.PreviousFamily = []string{old}
		}
		note("married name")
	case x < 0.11:
		r.Family = r.Family + "-" + p.family()
		note("double-barrelled")
	case x < 0.12:
		r.Family, r.Given = r.Given[0], []string{r.Family}
		note("given and family swapped")
	}
	if p.chance(0.2) {
		r.Family = strings.ToUpper(r.Family)
	}
	// Birth date.
	d := r.BirthDate
	switch x := p.r.Float64(); {
	case x < 0.02 && d.Day <= 12 && d.Day != d.Month:
		r.BirthDate = mpi.Date{Year: d.Year, Month: d.Day, Day: d.Month}
		note("day and month transposed")
	case x < 0.04:
		r.BirthDate = p.dateTypo(d)
		note("birth date typo")
	case x < 0.045:
		r.BirthDate = mpi.Date{Year: d.Year}
		note("birth year only")
	}
	// Where they live.
	switch x := p.r.Float64(); {
	case x < 0.12:
		r.Postcode, r.AddressLine = p.address()
		r.Phones = nil
		if p.chance(0.5) {
			r.Phones = []string{p.phone()}
		}
		note("moved house")
	case x < 0.15:
		r.Postcode, r.AddressLine = "", ""
		note("no address")
	case x < 0.17:
		r.AddressLine = strings.ToUpper(r.AddressLine)
	}
	if p.chance(0.4) {
		r.Phones = nil
	}
	if p.chance(0.6) {
		r.Email = ""
	}
	if p.chance(0.01) {
		r.Sex = mpi.SexUnknown
	}
	s.Record = r
	return s
}

// typo makes one keying error: a dropped, doubled or swapped letter, or
// a vowel for another. The first letter is kept (people spell their
// initial right).
func (p *Population) typo(s string) string {
	b := []byte(s)
	if len(b) < 3 {
		return s + "e"
	}
	i := 1 + p.r.IntN(len(b)-2)
	switch p.r.IntN(4) {
	case 0:
		b = append(b[:i], b[i+1:]...)
	case 1:
		b = append(b[:i+1], b[i:]...)
	case 2:
		b[i], b[i+1] = b[i+1], b[i]
	default:
		const vowels = "aeiou"
		if strings.IndexByte(vowels, b[i]) >= 0 {
			b[i] = vowels[(strings.IndexByte(vowels, b[i])+1+p.r.IntN(4))%5]
		} else {
			b = append(b[:i], b[i+1:]...)
		}
	}
	return string(b)
}

// dateTypo changes one digit of the day or of the year's last digit.
func (p *Population) dateTypo(d mpi.Date) mpi.Date {
	if p.chance(0.5) {
		day := int(d.Day)
		for day == int(d.Day) {
			if p.chance(0.5) {
				day = day/10*10 + p.r.IntN(10)
			} else {
				day = p.r.IntN(3)*10 + day%10
			}
			if day < 1 || day > 28 {
				day = int(d.Day)
			}
		}
		d.Day = uint8(day)
		return d
	}
	y := d.Year
	for y == d.Year || y > 2024 {
		y = d.Year/10*10 + uint16(p.r.IntN(10))
	}
	d.Year = y
	return d
}
