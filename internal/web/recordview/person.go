package recordview

import (
	"slices"
	"strings"
	"time"
)

// person merges the Patients into Record.Person. The Patient opened comes
// first; then active ones before merged-away registrations, GP practices'
// before others (the GP holds the record most often kept up to date),
// then by ODS code.
func (b *builder) person(rs []*resource) {
	type pat struct {
		r      *resource
		src    Source
		opened bool
		active bool
		gp     bool
	}
	var pats []pat
	for _, r := range rs {
		if r == nil || r.ResourceType != "Patient" {
			continue
		}
		p := pat{r: r, opened: r.ID == b.patient, active: r.Active == nil || *r.Active}
		if codes := odsOf(r); len(codes) > 0 {
			p.src = b.source(codes[0])
			if o := b.orgODS[codes[0]]; o != nil {
				p.gp = b.orgKind(o) == orgGP
			}
		}
		pats = append(pats, p)
	}
	slices.SortStableFunc(pats, func(x, y pat) int {
		switch {
		case x.opened != y.opened:
			return boolFirst(x.opened)
		case x.active != y.active:
			return boolFirst(x.active)
		case x.gp != y.gp:
			return boolFirst(x.gp)
		}
		if c := strings.Compare(x.src.ODS, y.src.ODS); c != 0 {
			return c
		}
		return strings.Compare(x.r.ID, y.r.ID)
	})
	P := &b.rec.Person
	set := func(f *Fact, v string, src Source) {
		if f.Value == "" && v != "" {
			*f = Fact{Value: v, Source: src}
		}
	}
	var notStated Fact
	for _, p := range pats {
		r, src := p.r, p.src
		P.Patients = append(P.Patients, SourcePatient{Ref: "Patient/" + r.ID, Source: src, Active: p.active, Opened: p.opened})
		var names []humanName
		decodeRaw(r.Name, &names)
		if len(names) > 0 {
			n := pickName(names)
			full := n.Text
			if full == "" {
				full = joinNonEmpty(" ", strings.Join(n.Given, " "), strings.ToUpper(n.Family))
			}
			if P.Name.Value == "" && full != "" {
				P.Name = Fact{full, src}
				set(&P.Title, strings.Join(n.Prefix, " "), src)
			}
		}
		for _, id := range r.Identifier {
			switch {
			case id.Value == "":
			case id.System == sysNHSNumber:
				set(&P.NHSNumber, formatNHS(id.Value), src)
			default:
				kind := id.System
				if i := strings.LastIndexByte(kind, '/'); i >= 0 && i < len(kind)-1 {
					kind = kind[i+1:]
				}
				P.Identifiers = append(P.Identifiers, LocalID{Kind: kind, System: id.System, Value: id.Value, Source: src})
			}
		}
		if P.BirthDate.Value == "" {
			if d := parseDate(r.BirthDate); d.Prec > 0 {
				P.BirthDate = Fact{d.text(), src}
				P.Born = d.T
			}
		}
		set(&P.Gender, r.Gender, src)
		if d := parseDate(r.DeceasedDateTime); d.Prec > 0 {
			P.Deceased = true
			set(&P.DiedOn, d.text(), src)
		} else if r.DeceasedBoolean != nil && *r.DeceasedBoolean {
			P.Deceased = true
		}
		set(&P.Address, addressLine(r), src)
		set(&P.Phone, phone(r.Telecom), src)
		for _, e := range r.Extension {
			if e.URL == extEthnicCategory && e.ValueCodeableConcept != nil {
				// "Not stated" from one organisation should not hide
				// another's answer.
				if e.ValueCodeableConcept.has(sysEthnicCategory, "Z") {
					set(&notStated, e.ValueCodeableConcept.display(), src)
				} else {
					set(&P.Ethnicity, e.ValueCodeableConcept.display(), src)
				}
			}
		}
		for _, gp := range r.GeneralPractitioner {
			switch {
			case strings.HasPrefix(gp.Reference, "Organization/"):
				if P.GPPractice.Value == "" {
					o := b.orgSource(gp)
					set(&P.GPPractice, o.Name, src)
					P.GPPracticeODS = o.ODS
				}
			case gp.Reference != "" || gp.Display != "":
				set(&P.UsualGP, b.personName(gp), src)
			}
		}
		for _, c := range r.Contact {
			ct := Contact{Name: joinNonEmpty(" ", c.Name.Text, strings.Join(c.Name.Given, " "), c.Name.Family), Phone: phone(c.Telecom), Source: src}
			if c.Name.Text != "" {
				ct.Name = c.Name.Text
			}
			rels := make([]string, 0, len(c.Relationship))
			for _, rel := range c.Relationship {
				if d := rel.display(); d != "" {
					rels = append(rels, d)
				}
			}
			ct.Relationship = strings.Join(rels, ", ")
			if ct.Name == "" && ct.Phone == "" {
				continue
			}
			if !slices.ContainsFunc(P.Contacts, func(x Contact) bool {
				return strings.EqualFold(x.Name, ct.Name) && x.Relationship == ct.Relationship
			}) {
				P.Contacts = append(P.Contacts, ct)
			}
		}
	}
	if P.Ethnicity.Value == "" {
		P.Ethnicity = notStated
	}
	if !P.Born.IsZero() {
		end := b.now
		if d := parseDate(diedOn(pats[0].r, rs)); d.Prec > 0 {
			end = d.T
		}
		P.Age, P.AgeText = age(P.Born, end)
	}
}

// diedOn finds the date of death among the Patients, the first one's first.
func diedOn(first *resource, rs []*resource) string {
	if first.DeceasedDateTime != "" {
		return first.DeceasedDateTime
	}
	for _, r := range rs {
		if r != nil && r.ResourceType == "Patient" && r.DeceasedDateTime != "" {
			return r.DeceasedDateTime
		}
	}
	return ""
}

func boolFirst(x bool) int {
	if x {
		return -1
	}
	return 1
}

// pickName prefers the official name, then usual, then any current one.
func pickName(ns []humanName) humanName {
	for _, use := range []string{"official", "usual", ""} {
		for _, n := range ns {
			if n.Period.End == "" && n.Use == use {
				return n
			}
		}
	}
	return ns[0]
}

// formatNHS writes a ten-digit NHS number as 3-3-4, as NHS systems show it.
func formatNHS(s string) string {
	s = strings.ReplaceAll(s, " ", "")
	if len(s) != 10 {
		return s
	}
	return s[:3] + " " + s[3:6] + " " + s[6:]
}

func addressLine(r *resource) string {
	var as []address
	if !decodeRaw(r.Address, &as) {
		var a address
		if !decodeRaw(r.Address, &a) {
			return ""
		}
		as = []address{a}
	}
	best := -1
	for i, a := range as {
		if a.Period.End != "" || a.Use == "old" {
			continue
		}
		if best < 0 || a.Use == "home" && as[best].Use != "home" {
			best = i
		}
	}
	if best < 0 {
		return ""
	}
	a := as[best]
	if a.Text != "" {
		return a.Text
	}
	return joinNonEmpty(", ", strings.Join(a.Line, ", "), a.City, a.PostalCode)
}

func phone(ts []contactPoint) string {
	var any string
	for _, t := range ts {
		if t.System != "phone" || t.Value == "" {
			continue
		}
		if t.Use == "home" || t.Use == "mobile" {
			return t.Value
		}
		if any == "" {
			any = t.Value
		}
	}
	return any
}

// age in whole years, and as words: months for under twos, as children's
// services write it.
func age(born, at time.Time) (int, string) {
	if at.Before(born) {
		return 0, ""
	}
	months := (at.Year()-born.Year())*12 + int(at.Month()-born.Month())
	if at.Day() < born.Day() {
		months--
	}
	years := months / 12
	switch {
	case months < 24 && months == 1:
		return 0, "1 month"
	case months < 24:
		return years, itoa(months) + " months"
	case years == 1:
		return 1, "1 year"
	}
	return years, itoa(years) + " years"
}
