package clinician

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sharedcare/sharedcare/internal/mpi"
	"github.com/sharedcare/sharedcare/internal/web"
)

const (
	odsSystem = "https://fhir.nhs.uk/Id/ods-organization-code"
	nhsSystem = mpi.NHSNumberSystem
)

// searchForm is the find-a-person form as sent, and what was wrong with it.
type searchForm struct {
	By                       string // nhs, name or postcode
	NHS, Name, DOB, Postcode string
	Errors                   map[string]string
}

// personRow is one person in the results: the people a search finds, one
// row each however many organisations hold a record of them.
type personRow struct {
	ID         string // the Patient to open
	Name       string
	NHS        string // 3-3-4
	BirthDate  string
	Age        string
	Sex        string
	Address    string
	Practice   string
	Deceased   bool
	DeceasedOn string
	Restricted bool
	Sources    int // how many organisations' records
}

type searchPage struct {
	Form     searchForm
	Searched bool
	Results  []personRow
	More     bool
	Warnings []string
}

var postcodeRE = regexp.MustCompile(`^[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}$`)

func (a *App) search(w http.ResponseWriter, r *http.Request, s *web.Session) {
	q := r.URL.Query()
	f := searchForm{By: q.Get("by"), NHS: strings.TrimSpace(q.Get("nhs")), Name: strings.TrimSpace(q.Get("name")),
		DOB: strings.TrimSpace(q.Get("dob")), Postcode: strings.ToUpper(strings.TrimSpace(q.Get("postcode"))), Errors: map[string]string{}}
	page := searchPage{Form: f}
	if f.By == "" && f.NHS == "" && f.Name == "" && f.Postcode == "" {
		page.Form.By = "nhs"
		a.RD.Render(w, r, http.StatusOK, "search", web.Page{Title: "Find a person", Session: s, Data: page})
		return
	}
	params := url.Values{"_count": {"50"}, "_include": {"Patient:general-practitioner"}}
	switch f.By {
	case "nhs", "":
		page.Form.By = "nhs"
		n, err := mpi.ParseNHSNumber(f.NHS)
		switch {
		case f.NHS == "":
			f.Errors["nhs"] = "Enter an NHS number"
		case err != nil:
			f.Errors["nhs"] = "Enter a valid NHS number: 10 digits, like 943 476 5919 (the last digit is a check digit)"
		default:
			params.Set("identifier", nhsSystem+"|"+n.String())
			page.Form.NHS = formatNHS(n.String())
		}
	case "name":
		if len(f.Name) < 2 {
			f.Errors["name"] = "Enter a name (at least two letters)"
		} else if len(f.Name) > 100 {
			f.Errors["name"] = "The name is too long"
		} else {
			params.Set("name", f.Name)
		}
		if d, err := parseDOB(f.DOB); err != nil {
			f.Errors["dob"] = "Enter a date of birth, like 31/3/1950 or 1950-03-31"
		} else {
			params.Set("birthdate", d)
		}
	case "postcode":
		pc := strings.Join(strings.Fields(f.Postcode), "")
		if len(pc) > 4 {
			pc = pc[:len(pc)-3] + " " + pc[len(pc)-3:]
		}
		if !postcodeRE.MatchString(pc) {
			f.Errors["postcode"] = "Enter a full postcode, like S60 2UD"
		} else {
			params.Set("address-postalcode", pc)
			page.Form.Postcode = pc
		}
		if f.Name != "" {
			params.Set("name", f.Name)
		}
	default:
		f.Errors["by"] = "Choose how to search"
	}
	if len(f.Errors) > 0 {
		page.Form.Errors = f.Errors
		a.RD.Render(w, r, http.StatusBadRequest, "search", web.Page{Title: "Find a person: check what you entered", Session: s, Data: page})
		return
	}
	tok, ok := a.Token(w, r, s)
	if !ok {
		return
	}
	b, err := a.FHIR.Search(r.Context(), tok, "Patient", params)
	if err != nil {
		a.APIError(w, r, s, err)
		return
	}
	page.Searched = true
	page.Results, page.More = peopleOf(b, a.Now())
	page.More = page.More || b.Next != ""
	page.Warnings = b.Warnings
	a.RD.Render(w, r, http.StatusOK, "search", web.Page{Title: "Find a person", Session: s, Data: page})
}

// parseDOB reads a date of birth as people type it.
func parseDOB(s string) (string, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{"2006-01-02", "2/1/2006", "02/01/2006", "2-1-2006", "2.1.2006", "2 Jan 2006", "2 January 2006"} {
		if t, err := time.Parse(layout, s); err == nil && t.Year() > 1880 && t.Before(time.Now().Add(24*time.Hour)) {
			return t.Format("2006-01-02"), nil
		}
	}
	return "", errBadDate
}

type dateError struct{}

func (dateError) Error() string { return "not a date" }

var errBadDate = dateError{}

// patientJSON is the part of a Patient the results show.
type patientJSON struct {
	ResourceType string `json:"resourceType"`
	ID           string `json:"id"`
	Meta         struct {
		Security []struct{ System, Code string } `json:"security"`
		Tag      []struct{ System, Code string } `json:"tag"`
	} `json:"meta"`
	Identifier []struct {
		System, Value string
	} `json:"identifier"`
	Name []struct {
		Use    string   `json:"use"`
		Text   string   `json:"text"`
		Family string   `json:"family"`
		Given  []string `json:"given"`
		Prefix []string `json:"prefix"`
	} `json:"name"`
	Gender           string `json:"gender"`
	BirthDate        string `json:"birthDate"`
	DeceasedBoolean  *bool  `json:"deceasedBoolean"`
	DeceasedDateTime string `json:"deceasedDateTime"`
	Address          []struct {
		Line       []string `json:"line"`
		City       string   `json:"city"`
		PostalCode string   `json:"postalCode"`
	} `json:"address"`
	GeneralPractitioner []struct {
		Reference, Display string
	} `json:"generalPractitioner"`
	Link []struct {
		Other struct{ Reference string } `json:"other"`
		Type  string                     `json:"type"`
	} `json:"link"`
}

func (p *patientJSON) nhs() string {
	for _, id := range p.Identifier {
		if id.System == nhsSystem {
			return id.Value
		}
	}
	return ""
}

func (p *patientJSON) name() string {
	best := -1
	for i, n := range p.Name {
		if best < 0 || n.Use == "official" {
			best = i
		}
	}
	if best < 0 {
		return "(no name recorded)"
	}
	n := p.Name[best]
	if n.Text != "" && n.Family == "" {
		return n.Text
	}
	parts := append(slices.Clone(n.Given), strings.ToUpper(n.Family))
	return strings.TrimSpace(strings.Join(parts, " "))
}

func (p *patientJSON) replaced() bool {
	for _, l := range p.Link {
		if l.Type == "replaced-by" {
			return true
		}
	}
	return false
}

// peopleOf groups the Patients found into people: records with the same
// NHS number are one person; the record naming a registered GP practice is
// the one opened (the whole person's record opens from any of them).
func peopleOf(b *web.Bundle, now time.Time) ([]personRow, bool) {
	orgs := map[string]string{}
	var pats []patientJSON
	for _, raw := range b.Entries {
		var head struct{ ResourceType, ID string }
		if json.Unmarshal(raw, &head) != nil {
			continue
		}
		switch head.ResourceType {
		case "Organization":
			orgs["Organization/"+head.ID] = nameOf(raw)
		case "Patient":
			var p patientJSON
			if json.Unmarshal(raw, &p) == nil && !p.replaced() {
				pats = append(pats, p)
			}
		}
	}
	var rows []personRow
	byNHS := map[string]int{}
	for _, p := range pats {
		row := personRow{ID: p.ID, Name: p.name(), NHS: formatNHS(p.nhs()), BirthDate: prettyDate(p.BirthDate), Sex: sexText(p.Gender), Sources: 1}
		row.Age = ageText(p.BirthDate, now)
		if p.DeceasedBoolean != nil && *p.DeceasedBoolean || p.DeceasedDateTime != "" {
			row.Deceased, row.DeceasedOn, row.Age = true, prettyDate(p.DeceasedDateTime), ""
		}
		for _, s := range p.Meta.Security {
			if s.Code == "R" || s.Code == "V" {
				row.Restricted = true
			}
		}
		if len(p.Address) > 0 {
			ad := p.Address[0]
			row.Address = strings.Join(slices.DeleteFunc(append(slices.Clone(ad.Line), ad.City, ad.PostalCode), func(s string) bool { return s == "" }), ", ")
		}
		for _, gp := range p.GeneralPractitioner {
			if n := orgs[gp.Reference]; n != "" {
				row.Practice = n
			} else if gp.Display != "" && strings.HasPrefix(gp.Reference, "Organization/") {
				row.Practice = gp.Display
			}
		}
		if i, ok := byNHS[p.nhs()]; ok && p.nhs() != "" {
			o := &rows[i]
			o.Sources++
			o.Restricted = o.Restricted || row.Restricted
			if o.Practice == "" && row.Practice != "" {
				keep := o.Sources
				*o = row
				o.Sources = keep
			}
			continue
		}
		if p.nhs() != "" {
			byNHS[p.nhs()] = len(rows)
		}
		rows = append(rows, row)
	}
	return rows, len(pats) >= 50
}

func formatNHS(s string) string {
	if len(s) != 10 {
		return s
	}
	return s[:3] + " " + s[3:6] + " " + s[6:]
}

func sexText(g string) string {
	switch g {
	case "male":
		return "Male"
	case "female":
		return "Female"
	case "other":
		return "Other"
	case "unknown":
		return "Not known"
	}
	return ""
}

// prettyDate shows a FHIR date or dateTime as 3 March 1950.
func prettyDate(s string) string {
	if len(s) >= 10 {
		if t, err := time.Parse("2006-01-02", s[:10]); err == nil {
			return t.Format("2 January 2006")
		}
	}
	return s
}

// ageText is an age as clinicians write it: years, or months and weeks
// for the very young.
func ageText(birth string, now time.Time) string {
	if len(birth) < 10 {
		return ""
	}
	b, err := time.Parse("2006-01-02", birth[:10])
	if err != nil {
		return ""
	}
	y := now.Year() - b.Year()
	if now.YearDay() < b.YearDay() {
		y--
	}
	if y >= 2 {
		return strings.TrimSpace(itoa(y) + " years")
	}
	m := int(now.Sub(b).Hours() / 24 / 30.44)
	if m >= 1 {
		return itoa(m) + " months"
	}
	return itoa(int(now.Sub(b).Hours()/24/7)) + " weeks"
}

func itoa(n int) string {
	if n < 0 {
		return "0"
	}
	return strconv.Itoa(n)
}

// nameOf is a directory resource's name.
func nameOf(raw json.RawMessage) string {
	var o struct {
		Name any `json:"name"`
	}
	json.Unmarshal(raw, &o)
	switch n := o.Name.(type) {
	case string:
		return n
	case []any:
		if len(n) > 0 {
			if m, ok := n[0].(map[string]any); ok {
				if t, _ := m["text"].(string); t != "" {
					return t
				}
				var parts []string
				for _, g := range asStrings(m["prefix"]) {
					parts = append(parts, g)
				}
				parts = append(parts, asStrings(m["given"])...)
				if f, _ := m["family"].(string); f != "" {
					parts = append(parts, f)
				}
				return strings.Join(parts, " ")
			}
		}
	}
	return ""
}

func asStrings(v any) []string {
	var out []string
	if a, ok := v.([]any); ok {
		for _, x := range a {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}
