package patient

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/sharedcare/sharedcare/internal/access"
	"github.com/sharedcare/sharedcare/internal/web"
)

// lookRow is one access to the person's record, in plain words.
type lookRow struct {
	agent                string // the principal's id
	ID                   string
	When                 time.Time
	Who, Role, Org, What string
	BreakGlass           bool
	Reason, Outcome      string
	Self                 bool
}

// looked is "who has looked at my record": every access, newest first,
// with break glass and its reason; each can be queried.
func (a *App) looked(w http.ResponseWriter, r *http.Request, s *web.Session) {
	tok, ok := a.Token(w, r, s)
	if !ok {
		return
	}
	// No patient= : the API keeps a person to their own log, across all
	// their records (each organisation's Patient).
	b, err := a.FHIR.Search(r.Context(), tok, "AuditEvent", url.Values{"_count": {"200"}})
	if err != nil {
		a.APIError(w, r, s, err)
		return
	}
	var rows []lookRow
	var codes []string
	for _, raw := range b.Entries {
		row, ok := lookOf(raw)
		if !ok {
			continue
		}
		if row.agent == s.User.ID() {
			continue // their own visits here are not news to them
		}
		if row.Org != "" && !slices.Contains(codes, row.Org) {
			codes = append(codes, row.Org)
		}
		rows = append(rows, row)
	}
	names := a.orgNames(r, tok, codes)
	for i := range rows {
		if n := names[rows[i].Org]; n != "" {
			rows[i].Org = n + " (" + rows[i].Org + ")"
		}
	}
	a.RD.Render(w, r, http.StatusOK, "looked", web.Page{Title: "Who has looked at my record", Session: s, Data: struct {
		Rows []lookRow
		More bool
	}{rows, b.Next != ""}})
}

// orgNames looks organisations up in the directory by ODS code, for the
// page to name them (best effort: a code is shown as it is otherwise).
func (a *App) orgNames(r *http.Request, tok string, codes []string) map[string]string {
	out := map[string]string{}
	if len(codes) == 0 {
		return out
	}
	var ids []string
	for _, c := range codes[:min(len(codes), 50)] {
		ids = append(ids, access.SysODS+"|"+c)
	}
	b, err := a.FHIR.Search(r.Context(), tok, "Organization", url.Values{"identifier": {strings.Join(ids, ",")}, "_count": {"100"}})
	if err != nil {
		return out
	}
	for _, raw := range b.Entries {
		var o struct {
			Name       string
			Identifier []struct{ System, Value string }
		}
		if json.Unmarshal(raw, &o) != nil {
			continue
		}
		for _, id := range o.Identifier {
			if id.System == access.SysODS {
				out[id.Value] = o.Name
			}
		}
	}
	return out
}

func lookOf(raw json.RawMessage) (lookRow, bool) {
	e, ok := web.ParseAuditEvent(raw)
	if !ok || e.ID == "" {
		return lookRow{}, false
	}
	row := lookRow{ID: e.ID, When: e.When, Who: e.Who, Role: e.Role, Org: e.Org, agent: e.Agent, BreakGlass: e.BreakGlass}
	switch e.Action {
	case "C":
		row.What = "added to your record"
	case "U":
		row.What = "changed your record"
	case "D":
		row.What = "removed something from your record"
	default:
		row.What = "looked at your record"
	}
	if strings.Contains(e.Interaction, "break-glass") {
		row.What = "opened your record without a recorded relationship (break glass)"
	}
	if e.BreakGlass {
		row.Reason = e.Reason
	}
	if e.Refused {
		row.Outcome = "refused"
	}
	return row, true
}

// queryAccess sends an access the person does not recognise to the
// privacy officer, who reviews it beside break-glass events.
func (a *App) queryAccess(w http.ResponseWriter, r *http.Request, s *web.Session) {
	id := r.PostFormValue("event")
	text := clip(r.PostFormValue("text"), 2000)
	if id == "" || len(id) > 20 || strings.Trim(id, "0123456789") != "" {
		a.RD.Error(w, r, s, http.StatusBadRequest, "Which access?", "Choose \"I do not recognise this\" beside the access you want to ask about.", &web.Link{Label: "Who has looked", Href: a.Prefix + "/access"})
		return
	}
	if text == "" {
		text = "I do not recognise this access to my record."
	}
	t := access.AccessQuery(s.Patient, []string{id}, text, a.Now())
	a.post(w, r, s, http.MethodPost, "Task", t, "/access", "Thank you. A privacy officer will look into this access and contact you.")
}
