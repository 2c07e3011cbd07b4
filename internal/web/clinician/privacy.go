package clinician

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sharedcare/sharedcare/internal/access"
	"github.com/sharedcare/sharedcare/internal/web"
)

// reviewRow is one break-glass event awaiting (or after) review.
type reviewRow struct {
	ID, Patient, Who, Reason, Text, Status, Review string
	Query                                          bool // a person's query about an access, not a break-glass event
	When, Until                                    time.Time
}

func (a *App) officer(w http.ResponseWriter, r *http.Request, s *web.Session) bool {
	if s.User.Kind != access.User || s.User.Role != access.RolePrivacyOfficer {
		a.RD.Error(w, r, s, http.StatusForbidden, "This page is for privacy officers",
			"Reviewing break-glass access and searching the audit log is for the organisation's privacy officer.", nil)
		return false
	}
	return true
}

// reviewQueue lists break-glass events, those awaiting review first.
func (a *App) reviewQueue(w http.ResponseWriter, r *http.Request, s *web.Session) {
	if !a.officer(w, r, s) {
		return
	}
	tok, ok := a.Token(w, r, s)
	if !ok {
		return
	}
	b, err := a.FHIR.Search(r.Context(), tok, "Task", url.Values{"_tag": {access.SysPrivacyReview + "|" + access.ReviewTag}, "_sort": {"-_lastUpdated"}, "_count": {"100"}})
	if err != nil {
		a.APIError(w, r, s, err)
		return
	}
	var open, done []reviewRow
	for _, raw := range b.Entries {
		var t struct {
			ResourceType, ID, Status, AuthoredOn, Description string
			Code                                              struct {
				Coding []struct{ System, Code string }
			}
			For        struct{ Reference string }
			Requester  struct{ Display string }
			ReasonCode struct {
				Text   string
				Coding []struct{ Code, Display string }
			}
			Restriction    struct{ Period struct{ End string } }
			BusinessStatus struct{ Text string }
		}
		if json.Unmarshal(raw, &t) != nil || t.ResourceType != "Task" {
			continue
		}
		row := reviewRow{ID: t.ID, Patient: strings.TrimPrefix(t.For.Reference, "Patient/"), Who: t.Requester.Display, Text: t.ReasonCode.Text, Status: t.Status, Review: t.BusinessStatus.Text}
		if len(t.ReasonCode.Coding) > 0 {
			row.Reason = t.ReasonCode.Coding[0].Display
		}
		for _, c := range t.Code.Coding {
			if c.System == access.SysPrivacyReview && c.Code == "access-query" {
				row.Query, row.Reason, row.Text = true, "The person does not recognise an access to their record", t.Description
			}
		}
		row.When, _ = time.Parse(time.RFC3339, t.AuthoredOn)
		row.Until, _ = time.Parse(time.RFC3339, t.Restriction.Period.End)
		if t.Status == "completed" || t.Status == "cancelled" {
			done = append(done, row)
		} else {
			open = append(open, row)
		}
	}
	a.RD.Render(w, r, http.StatusOK, "reviews", web.Page{Title: "Break-glass reviews", Session: s, Data: struct{ Open, Done []reviewRow }{open, done}})
}

// auditRow is one entry of the audit log as the officer reads it.
type auditRow struct {
	When                                            time.Time
	Who, Role, Org, Action, Patients, What, Purpose string
	Outcome, Reason                                 string
	BreakGlass, Refused                             bool
}

// review closes a break-glass event: the officer records whether the
// access was for the person's care, with a note. The Task is updated
// through the API like any write, so it is versioned and audited.
func (a *App) review(w http.ResponseWriter, r *http.Request, s *web.Session) {
	if !a.officer(w, r, s) {
		return
	}
	id := r.PathValue("task")
	outcome := r.PostFormValue("outcome")
	note := strings.TrimSpace(r.PostFormValue("note"))
	words := map[string]string{"appropriate": "Reviewed: appropriate, for the person's care", "inappropriate": "Reviewed: not appropriate; referred for investigation"}[outcome]
	if !web.ValidID(id) || words == "" || len(note) > 2000 {
		a.RD.Error(w, r, s, http.StatusBadRequest, "The review was not saved", "Choose whether the access was appropriate (a note may add at most 2,000 characters).",
			&web.Link{Label: "Back to the reviews", Href: a.Prefix + "/privacy/break-glass"})
		return
	}
	tok, ok := a.Token(w, r, s)
	if !ok {
		return
	}
	var task map[string]any
	if err := a.FHIR.Do(r.Context(), tok, http.MethodGet, "Task/"+id, nil, nil, &task); err != nil {
		a.APIError(w, r, s, err)
		return
	}
	task["status"] = "completed"
	task["businessStatus"] = map[string]any{"text": words}
	text := words
	if note != "" {
		text += ": " + note
	}
	notes, _ := task["note"].([]any)
	task["note"] = append(notes, map[string]any{"authorString": s.User.Name + " (privacy officer)", "time": a.Now().UTC().Format(time.RFC3339), "text": text})
	if err := a.FHIR.Do(r.Context(), tok, http.MethodPut, "Task/"+id, nil, task, nil); err != nil {
		a.APIError(w, r, s, err)
		return
	}
	s.Flash("The review was saved.")
	http.Redirect(w, r, a.Prefix+"/privacy/break-glass", http.StatusSeeOther)
}

func (a *App) auditSearch(w http.ResponseWriter, r *http.Request, s *web.Session) {
	if !a.officer(w, r, s) {
		return
	}
	q := r.URL.Query()
	form := struct{ Patient, Agent, Org, From, To, Purpose string }{
		strings.TrimSpace(q.Get("patient")), strings.TrimSpace(q.Get("agent")), strings.ToUpper(strings.TrimSpace(q.Get("organization"))),
		q.Get("from"), q.Get("to"), q.Get("purpose")}
	params := url.Values{"_count": {"100"}}
	var problems []string
	if form.Patient != "" {
		if !web.ValidID(form.Patient) {
			problems = append(problems, "A patient is a record id, like the one in the address of their record page")
		} else {
			params.Set("patient", form.Patient)
		}
	}
	if form.Agent != "" {
		params.Set("agent", form.Agent)
	}
	if form.Org != "" {
		params.Set("organization", form.Org)
	}
	for _, d := range []struct{ v, prefix, label string }{{form.From, "ge", "From"}, {form.To, "le", "To"}} {
		if d.v == "" {
			continue
		}
		if _, err := time.Parse("2006-01-02", d.v); err != nil {
			problems = append(problems, d.label+" must be a date")
			continue
		}
		params.Add("date", d.prefix+d.v)
	}
	if form.Purpose == "ETREAT" {
		params.Set("purpose", "ETREAT")
	}
	var rows []auditRow
	searched := len(q) > 0
	if searched && len(problems) == 0 {
		tok, ok := a.Token(w, r, s)
		if !ok {
			return
		}
		b, err := a.FHIR.Search(r.Context(), tok, "AuditEvent", params)
		if err != nil {
			if st := web.StatusOf(err); st == http.StatusBadRequest {
				problems = append(problems, web.APIMessage(err))
			} else {
				a.APIError(w, r, s, err)
				return
			}
		} else {
			for _, raw := range b.Entries {
				rows = append(rows, auditRowOf(raw))
			}
		}
	}
	status := http.StatusOK
	if len(problems) > 0 {
		status = http.StatusBadRequest
	}
	a.RD.Render(w, r, status, "audit", web.Page{Title: "Audit search", Session: s, Data: struct {
		Form     any
		Problems []string
		Rows     []auditRow
		Searched bool
	}{form, problems, rows, searched}})
}

func auditRowOf(raw json.RawMessage) auditRow {
	e, _ := web.ParseAuditEvent(raw)
	row := auditRow{When: e.When, Who: e.Who, Role: e.Role, Org: e.Org, Action: e.Interaction, Patients: strings.Join(e.Patients, ", "),
		Purpose: e.Purpose, Outcome: e.Outcome, Reason: e.Outcome, Refused: e.Refused, BreakGlass: e.BreakGlass}
	if e.Reason != "" {
		row.Purpose = strings.TrimPrefix(row.Purpose+": "+e.Reason, ": ")
	}
	what := e.Entities
	if len(what) > 3 {
		what = append(what[:3:3], "…")
	}
	row.What = strings.Join(what, ", ")
	return row
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
