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
	names := map[string]string{}
	for _, raw := range b.Entries {
		var p patientJSON
		if json.Unmarshal(raw, &p) == nil && p.ResourceType == "Patient" {
			names[p.ID] = p.name() + " (NHS " + formatNHS(p.nhs()) + ")"
		}
	}
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
	a.RD.Render(w, r, http.StatusOK, "inbox", web.Page{Title: "Alerts", Session: s, Data: struct {
		Rows []alertRow
		More bool
	}{rows, b.Next != ""}})
}
