package mpi

import (
	"encoding/json"
	"strings"

	"github.com/sharedcare/sharedcare/internal/fhir"
)

// The parts of a FHIR R4 Patient that matching reads. Everything else is
// ignored, so a Patient with any extensions or elements decodes.
type fhirPatient struct {
	ResourceType string `json:"resourceType"`
	ID           string `json:"id"`
	Meta         struct {
		Source string `json:"source"`
	} `json:"meta"`
	Identifier []struct {
		System    string          `json:"system"`
		Value     string          `json:"value"`
		Extension []fhirExtension `json:"extension"`
	} `json:"identifier"`
	Name []struct {
		Use    string   `json:"use"`
		Text   string   `json:"text"`
		Family string   `json:"family"`
		Given  []string `json:"given"`
		Period struct {
			End string `json:"end"`
		} `json:"period"`
	} `json:"name"`
	Telecom []struct {
		System string `json:"system"`
		Value  string `json:"value"`
	} `json:"telecom"`
	Gender           string        `json:"gender"`
	BirthDate        string        `json:"birthDate"`
	DeceasedDateTime string        `json:"deceasedDateTime"`
	Address          []fhirAddress `json:"address"`
	ManagingOrg      struct {
		Reference  string `json:"reference"`
		Identifier struct {
			Value string `json:"value"`
		} `json:"identifier"`
	} `json:"managingOrganization"`
	Link []struct {
		Other struct {
			Reference string `json:"reference"`
		} `json:"other"`
		Type string `json:"type"`
	} `json:"link"`
}

type fhirExtension struct {
	URL                  string `json:"url"`
	ValueCodeableConcept struct {
		Coding []struct {
			System string `json:"system"`
			Code   string `json:"code"`
		} `json:"coding"`
	} `json:"valueCodeableConcept"`
}

type fhirAddress struct {
	Use        string   `json:"use"`
	Line       []string `json:"line"`
	PostalCode string   `json:"postalCode"`
	Period     struct {
		End string `json:"end"`
	} `json:"period"`
}

// odsSource is how meta.source names the sending organisation: the ODS
// code system, a bar, the code.
const odsSystem = "https://fhir.nhs.uk/Id/ods-organization-code"

// FromPatient reads a FHIR R4 Patient (JSON) into a Record. It chooses
// the official name (else the usual one, else the first that is not old),
// the home address that has not ended, and the NHS number's verification
// status from the UK Core extension. The source organisation is taken
// from meta.source ("https://fhir.nhs.uk/Id/ods-organization-code|RHQ"
// gives "RHQ"), else from managingOrganization. A malformed value (a bad
// birth date) is left out rather than failing the record: a Patient the
// store accepted must still be matchable.
func FromPatient(data []byte) (Record, error) {
	var p fhirPatient
	if err := json.Unmarshal(data, &p); err != nil {
		return Record{}, fhir.Wrap(fhir.Invalid, err, "mpi: Patient is not valid JSON of the expected shape")
	}
	if p.ResourceType != "Patient" {
		return Record{}, fhir.E(fhir.Invalid, "mpi: resourceType is %q, not Patient", p.ResourceType)
	}
	r := Record{ID: p.ID}
	switch src := p.Meta.Source; {
	case strings.HasPrefix(src, odsSystem+"|"):
		r.Source = src[len(odsSystem)+1:]
	case p.ManagingOrg.Identifier.Value != "":
		r.Source = p.ManagingOrg.Identifier.Value
	case p.ManagingOrg.Reference != "":
		r.Source = p.ManagingOrg.Reference
	default:
		r.Source = src
	}
	for _, id := range p.Identifier {
		if id.Value == "" {
			continue
		}
		x := Identifier{System: id.System, Value: id.Value}
		if id.System == NHSNumberSystem {
			if n, err := ParseNHSNumber(id.Value); err == nil {
				x.NHS = true
				x.Value = n.String()
			}
			for _, e := range id.Extension {
				if e.URL != VerificationExtension {
					continue
				}
				for _, c := range e.ValueCodeableConcept.Coding {
					if c.System == VerificationSystem || c.System == "" {
						x.Verification = ParseVerification(c.Code)
					}
				}
			}
		}
		r.Identifiers = append(r.Identifiers, x)
	}
	// The name: official, else usual, else the first current one.
	best, bestRank := -1, 99
	for i, n := range p.Name {
		rank := 3
		switch n.Use {
		case "official":
			rank = 0
		case "usual":
			rank = 1
		case "", "temp":
			rank = 2
		case "old", "maiden", "anonymous":
			rank = 98
		}
		if n.Period.End != "" && rank < 98 {
			rank = 50
		}
		if rank < bestRank {
			best, bestRank = i, rank
		}
	}
	if best >= 0 {
		n := p.Name[best]
		r.Family = strings.TrimSpace(n.Family)
		for _, g := range n.Given {
			if g = strings.TrimSpace(g); g != "" {
				r.Given = append(r.Given, g)
			}
		}
		if r.Family == "" && len(r.Given) == 0 && n.Text != "" {
			// Only text: the last word is taken as the family name.
			if w := strings.Fields(n.Text); len(w) > 0 {
				r.Family = w[len(w)-1]
				r.Given = w[:len(w)-1]
			}
		}
	}
	for i, n := range p.Name {
		if i == best || n.Family == "" || strings.EqualFold(n.Family, r.Family) {
			continue
		}
		if n.Use == "old" || n.Use == "maiden" || n.Period.End != "" || n.Use == "official" || n.Use == "usual" {
			r.PreviousFamily = append(r.PreviousFamily, n.Family)
		}
	}
	r.Sex = ParseSex(p.Gender)
	r.BirthDate, _ = ParseDate(p.BirthDate)
	r.DeathDate, _ = ParseDate(p.DeceasedDateTime)
	// The home address: use home (else none given) that has not ended.
	if a := homeAddress(p.Address); a != nil {
		r.Postcode = strings.TrimSpace(a.PostalCode)
		if len(a.Line) > 0 {
			r.AddressLine = strings.TrimSpace(a.Line[0])
		}
	}
	for _, t := range p.Telecom {
		switch t.System {
		case "phone", "sms":
			if t.Value != "" {
				r.Phones = append(r.Phones, t.Value)
			}
		case "email":
			if r.Email == "" {
				r.Email = t.Value
			}
		}
	}
	for _, l := range p.Link {
		if l.Type == "replaced-by" {
			r.ReplacedBy = strings.TrimPrefix(l.Other.Reference, "Patient/")
		}
	}
	return r, nil
}

func homeAddress(as []fhirAddress) *fhirAddress {
	best, bestRank := -1, 99
	for i := range as {
		a := &as[i]
		rank := 3
		switch a.Use {
		case "home":
			rank = 0
		case "":
			rank = 1
		case "temp":
			rank = 2
		case "old", "billing":
			continue
		}
		if a.Period.End != "" {
			continue
		}
		if rank < bestRank {
			best, bestRank = i, rank
		}
	}
	if best < 0 {
		return nil
	}
	return &as[best]
}
