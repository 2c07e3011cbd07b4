package person

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/sharedcare/sharedcare/internal/fhir"
	"github.com/sharedcare/sharedcare/internal/store"
)

// personDoc is what the service keeps in a person beyond demographics.
type personDoc struct {
	ID         string
	Links      []link
	Replaces   []string // persons merged into this one
	MergedInto string   // the survivor, if this person was merged
	Moved      []string // records the merge moved to the survivor
	// Former are the identifiers the person carried before this rewrite:
	// those no source carries any more stay, as use "old", so that a
	// superseded NHS number or MRN still finds the person.
	Former []any
}

// formerIdentifiers returns a person body's identifiers.
func formerIdentifiers(body []byte) []any {
	var p struct {
		Identifier []any `json:"identifier"`
	}
	if json.Unmarshal(body, &p) != nil {
		return nil
	}
	return p.Identifier
}

// link is a source record of a person and how it came to be linked.
type link struct {
	Source      string
	Decision    string // auto-link, new-person, review-accepted, manual, merged, unmerged
	Score       float64
	Probability float64
	Grade       string
	Reasons     string
	At          string
}

// demographic fields copied from the sources, most recently updated
// source first, in this order.
var demographics = []string{"name", "telecom", "gender", "birthDate", "deceasedBoolean", "deceasedDateTime", "address", "maritalStatus", "contact", "communication", "generalPractitioner"}

func ref(id string) map[string]any { return map[string]any{"reference": "Patient/" + id} }

func round(f float64) json.Number {
	return json.Number(strconv.FormatFloat(math.Round(f*1000)/1000, 'f', -1, 64))
}

// compose writes a person's Patient from its document and its sources.
func compose(doc personDoc, srcs []*store.Resource) ([]byte, error) {
	m := map[string]any{
		"resourceType": "Patient",
		"id":           doc.ID,
		"meta": map[string]any{
			"source": SourceURI,
			"tag":    []any{map[string]any{"system": TagSystem, "code": TagPerson, "display": "person (master patient index)"}},
		},
		"active": doc.MergedInto == "",
	}
	ordered := slices.Clone(srcs)
	slices.SortStableFunc(ordered, func(a, b *store.Resource) int { return b.LastUpdated.Compare(a.LastUpdated) })
	var exts []any
	var idents []any
	seen := map[string]bool{}
	for _, r := range ordered {
		var p map[string]any
		if err := json.Unmarshal(r.Body, &p); err != nil {
			return nil, fhir.Wrap(fhir.Internal, err, "source Patient/%s", r.ID)
		}
		ids, _ := p["identifier"].([]any)
		for _, id := range ids {
			im, _ := id.(map[string]any)
			sys, _ := im["system"].(string)
			val, _ := im["value"].(string)
			if val == "" || seen[sys+"|"+val] {
				continue
			}
			seen[sys+"|"+val] = true
			idents = append(idents, im)
		}
		for _, f := range demographics {
			v, ok := p[f]
			if !ok || m[f] != nil || (f == "deceasedBoolean" && m["deceasedDateTime"] != nil) || (f == "deceasedDateTime" && m["deceasedBoolean"] != nil) {
				continue
			}
			m[f] = v
			exts = append(exts, map[string]any{"url": FieldSourceExtension, "extension": []any{
				map[string]any{"url": "field", "valueString": f},
				map[string]any{"url": "source", "valueReference": ref(r.ID)},
			}})
		}
	}
	for _, id := range doc.Former {
		im, _ := id.(map[string]any)
		sys, _ := im["system"].(string)
		val, _ := im["value"].(string)
		if val == "" || seen[sys+"|"+val] {
			continue
		}
		seen[sys+"|"+val] = true
		old := make(map[string]any, len(im)+1)
		for k, v := range im {
			old[k] = v
		}
		old["use"] = "old"
		idents = append(idents, old)
	}
	if len(idents) > 0 {
		m["identifier"] = idents
	}
	for _, id := range doc.Moved {
		exts = append(exts, map[string]any{"url": MergedRecordsExtension, "valueReference": ref(id)})
	}
	if len(exts) > 0 {
		m["extension"] = exts
	}
	var links []any
	for _, l := range doc.Links {
		sub := []any{map[string]any{"url": "decision", "valueCode": l.Decision}}
		if l.Grade != "" {
			sub = append(sub,
				map[string]any{"url": "score", "valueDecimal": round(l.Score)},
				map[string]any{"url": "probability", "valueDecimal": round(l.Probability)},
				map[string]any{"url": "grade", "valueCode": l.Grade})
		}
		if l.Reasons != "" {
			sub = append(sub, map[string]any{"url": "reasons", "valueString": l.Reasons})
		}
		if l.At != "" {
			sub = append(sub, map[string]any{"url": "at", "valueDateTime": l.At})
		}
		links = append(links, map[string]any{"other": ref(l.Source), "type": "seealso",
			"extension": []any{map[string]any{"url": MatchExtension, "extension": sub}}})
	}
	for _, d := range doc.Replaces {
		links = append(links, map[string]any{"other": ref(d), "type": "replaces"})
	}
	if doc.MergedInto != "" {
		links = append(links, map[string]any{"other": ref(doc.MergedInto), "type": "replaced-by"})
	}
	if len(links) > 0 {
		m["link"] = links
	}
	return json.Marshal(m)
}

// decodePerson reads back what compose wrote.
func decodePerson(body []byte) (*personDoc, error) {
	type ext struct {
		URL            string                     `json:"url"`
		ValueString    string                     `json:"valueString"`
		ValueCode      string                     `json:"valueCode"`
		ValueDateTime  string                     `json:"valueDateTime"`
		ValueDecimal   float64                    `json:"valueDecimal"`
		ValueReference struct{ Reference string } `json:"valueReference"`
		Extension      []ext                      `json:"extension"`
	}
	var p struct {
		ID        string `json:"id"`
		Extension []ext  `json:"extension"`
		Link      []struct {
			Other     struct{ Reference string } `json:"other"`
			Type      string                     `json:"type"`
			Extension []ext                      `json:"extension"`
		} `json:"link"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, fhir.Wrap(fhir.Internal, err, "person")
	}
	doc := &personDoc{ID: p.ID}
	for _, e := range p.Extension {
		if e.URL == MergedRecordsExtension {
			doc.Moved = append(doc.Moved, strings.TrimPrefix(e.ValueReference.Reference, "Patient/"))
		}
	}
	for _, l := range p.Link {
		other := strings.TrimPrefix(l.Other.Reference, "Patient/")
		switch l.Type {
		case "seealso":
			lk := link{Source: other}
			for _, e := range l.Extension {
				if e.URL != MatchExtension {
					continue
				}
				for _, s := range e.Extension {
					switch s.URL {
					case "decision":
						lk.Decision = s.ValueCode
					case "score":
						lk.Score = s.ValueDecimal
					case "probability":
						lk.Probability = s.ValueDecimal
					case "grade":
						lk.Grade = s.ValueCode
					case "reasons":
						lk.Reasons = s.ValueString
					case "at":
						lk.At = s.ValueDateTime
					}
				}
			}
			doc.Links = append(doc.Links, lk)
		case "replaces":
			doc.Replaces = append(doc.Replaces, other)
		case "replaced-by":
			doc.MergedInto = other
		}
	}
	return doc, nil
}
