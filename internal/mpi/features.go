package mpi

// features is a Record prepared for comparison: every value normalised
// once, when the record enters the index (or is scored alone), so that
// comparing two records allocates nothing and does no text work beyond
// Jaro–Winkler on the names that are not equal.
type features struct {
	nhs         NHSNumber
	nhsVerified bool
	ids         []ident // identifiers other than the NHS number

	family     string // normalised, spaces removed ("smithjones")
	familyFull string // normalised with its words ("smith jones")
	familyCode string // NYSIIS of family
	prevFamily []string

	given     string // first given name, normalised
	givenCode string // NYSIIS of given
	middle    string // second given name, normalised

	dob, dod uint32 // Date.packed
	sex      Sex

	postcode string // canonical "S7 0SB", or the odd text as written
	line     string // normalised first address line
	phones   []string
	email    string
}

type ident struct{ system, value string }

// interner shares the backing bytes of repeated strings (names, systems,
// phonetic codes): a million records hold perhaps fifty thousand
// distinct surnames. The Index owns one; nil interns nothing.
type interner map[string]string

func (in interner) get(s string) string {
	if in == nil || s == "" {
		return s
	}
	if v, ok := in[s]; ok {
		return v
	}
	in[s] = s
	return s
}

// prepare computes r's features.
func prepare(r *Record, in interner) features {
	var f features
	for _, id := range r.Identifiers {
		if id.System == NHSNumberSystem {
			if f.nhs != 0 {
				continue
			}
			if n, err := ParseNHSNumber(id.Value); err == nil {
				f.nhs = n
				f.nhsVerified = id.Verification == Verified
			}
			continue
		}
		if id.Value == "" {
			continue
		}
		f.ids = append(f.ids, ident{system: in.get(id.System), value: id.Value})
	}
	f.familyFull = in.get(normName(r.Family))
	f.family = in.get(squash(f.familyFull))
	f.familyCode = in.get(nysiis(f.family))
	for _, p := range r.PreviousFamily {
		if n := squash(normName(p)); n != "" && n != f.family {
			f.prevFamily = append(f.prevFamily, in.get(n))
		}
	}
	// Given names: one FHIR given element may hold two ("Mary Ann"); the
	// first word is the first name, the next word or element the middle.
	var words []string
	for _, g := range r.Given {
		n := normName(g)
		for n != "" {
			w := firstWord(n)
			words = append(words, w)
			n = n[len(w):]
			if n != "" {
				n = n[1:]
			}
		}
		if len(words) >= 2 {
			break
		}
	}
	if len(words) > 0 {
		f.given = in.get(words[0])
		f.givenCode = in.get(nysiis(f.given))
	}
	if len(words) > 1 {
		f.middle = in.get(words[1])
	}
	if r.BirthDate.Year != 0 {
		f.dob = r.BirthDate.packed()
	}
	if r.DeathDate.Year != 0 {
		f.dod = r.DeathDate.packed()
	}
	f.sex = r.Sex
	f.postcode = normPostcode(r.Postcode)
	f.line = normLine(r.AddressLine)
	for _, p := range r.Phones {
		if n := normPhone(p); n != "" && !contains(f.phones, n) {
			f.phones = append(f.phones, n)
		}
	}
	f.email = normEmail(r.Email)
	return f
}
