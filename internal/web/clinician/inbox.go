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

// alertRow is one entry in the organisation's inbox.
type alertRow struct {
	Kind, Text, Patient, PatientName, From string
	Sent                                   time.Time
}

// inbox lists what has been addressed to the user's organisation:
// admissions, discharges, transfers and results of the people it cares
// for, as the feeds bring them (internal/notify), and items people have
// addressed to it. The page refreshes itself every 30 seconds.
func (a *App) inbox(w http.ResponseWriter, r *http.Request, s *web.Session) {
	if s.User.Org == "" {
		a.RD.Error(w, r, s, http.StatusForbidden, "No organisation", "Your account does not name an organisation, so there is no inbox to show.", nil)
		return
	}
	tok, ok := a.Token(w, r, s)
	if !ok {
		return
	}
	b, err := a.FHIR.Search(r.Context(), tok, "Communication", url.Values{
		"_tag": {access.SysAddressedTo + "|" + s.User.Org}, "_sort": {"-sent"}, "_count": {"100"},
		"_include": {"Communication:subject"}})
	if err != nil {
		a.APIError(w, r, s, err)
		return
	}
	names := patientNames(b)
	var rows []alertRow
	for _, raw := range b.Entries {
		var c struct {
			ResourceType, Sent string
			Category           []struct {
				Coding []struct{ Code, Display string }
			}
			Subject struct{ Reference string }
			Sender  struct{ Display string }
			Payload []struct{ ContentString string }
		}
		if json.Unmarshal(raw, &c) != nil || c.ResourceType != "Communication" {
			continue
		}
		row := alertRow{Patient: strings.TrimPrefix(c.Subject.Reference, "Patient/"), From: c.Sender.Display}
		row.PatientName = names[row.Patient]
		if row.PatientName == "" {
			row.PatientName = "A person in your care"
		}
		for _, cat := range c.Category {
			for _, cd := range cat.Coding {
				row.Kind = firstNonEmpty(cd.Display, cd.Code)
			}
		}
		for _, p := range c.Payload {
			row.Text = p.ContentString
		}
		row.Sent, _ = time.Parse(time.RFC3339Nano, c.Sent)
		rows = append(rows, row)
	}
	tasks, err := a.tasks(r, tok, s.User.Org)
	if err != nil {
		a.APIError(w, r, s, err)
		return
	}
	a.RD.Render(w, r, http.StatusOK, "inbox", web.Page{Title: "Alerts", Session: s, Data: struct {
		Rows, Tasks []alertRow
		More        bool
	}{rows, tasks, b.Next != ""}})
}

// tasks are the requests addressed to the organisation that are still
// open: people reporting an error in what it recorded, and the like.
func (a *App) tasks(r *http.Request, tok, org string) ([]alertRow, error) {
	b, err := a.FHIR.Search(r.Context(), tok, "Task", url.Values{
		"_tag": {access.SysAddressedTo + "|" + org}, "status": {"requested,received,accepted,in-progress"},
		"_sort": {"-_lastUpdated"}, "_count": {"100"}, "_include": {"Task:patient"}})
	if err != nil {
		return nil, err
	}
	names := patientNames(b)
	var rows []alertRow
	for _, raw := range b.Entries {
		var t struct {
			ResourceType, AuthoredOn, Description string
			For                                   struct{ Reference string }
			Requester                             struct{ Display string }
			Code                                  struct{ Coding []struct{ Display string } }
		}
		if json.Unmarshal(raw, &t) != nil || t.ResourceType != "Task" {
			continue
		}
		row := alertRow{Patient: strings.TrimPrefix(t.For.Reference, "Patient/"), Text: t.Description, From: t.Requester.Display}
		row.PatientName = firstNonEmpty(names[row.Patient], "A person in your care")
		for _, c := range t.Code.Coding {
			row.Kind = c.Display
		}
		row.Sent, _ = time.Parse(time.RFC3339Nano, t.AuthoredOn)
		rows = append(rows, row)
	}
	return rows, nil
}

// patientNames labels the Patients a search included: name and NHS
// number, by id.
func patientNames(b *web.Bundle) map[string]string {
	names := map[string]string{}
	for _, raw := range b.Entries {
		var p patientJSON
		if json.Unmarshal(raw, &p) == nil && p.ResourceType == "Patient" {
			names[p.ID] = p.name() + " (NHS " + formatNHS(p.nhs()) + ")"
		}
	}
	return names
}
