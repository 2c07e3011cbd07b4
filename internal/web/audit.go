package web

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/sharedcare/sharedcare/internal/access"
)

// AuditEntry is one AuditEvent of the access log as the portals show it:
// the privacy officer's audit search and the person's "who has looked".
type AuditEntry struct {
	ID          string
	When        time.Time
	Agent       string // the principal's id (what agent= searches)
	Who, Role   string // the person's name; their role in words
	Org         string // ODS code of the organisation they acted for
	Action      string // C, R, U, D or E
	Interaction string // read, search-type, operation $everything, break-glass…
	Patients    []string
	Entities    []string // the other resources touched
	Purpose     string   // PurposeOfUse code: TREAT, ETREAT…
	Reason      string   // why: the break-glass reason, the grounds of access
	BreakGlass  bool
	Refused     bool
	Outcome     string // the refusal's reason
}

// ParseAuditEvent reads an AuditEvent as internal/audit writes it (IHE
// BALP shape: the requestor, then the organisation and the client as
// agents of their own).
func ParseAuditEvent(raw json.RawMessage) (AuditEntry, bool) {
	var e struct {
		ID, Recorded, Outcome, OutcomeDesc, Action string
		Subtype                                    []struct{ Code, Display string }
		Agent                                      []struct {
			Requestor bool
			Type      struct{ Coding []struct{ Code string } }
			Who       struct {
				Display    string
				Identifier struct{ Value string }
			}
			Role []struct {
				Text   string
				Coding []struct{ Code string }
			}
		}
		Entity []struct {
			What struct{ Reference string }
			Role struct{ Code string }
		}
		PurposeOfEvent []struct {
			Text   string
			Coding []struct{ Code string }
		}
	}
	if json.Unmarshal(raw, &e) != nil {
		return AuditEntry{}, false
	}
	a := AuditEntry{ID: e.ID, Action: e.Action, Outcome: e.OutcomeDesc, Refused: e.Outcome != "" && e.Outcome != "0"}
	a.When, _ = time.Parse(time.RFC3339Nano, e.Recorded)
	var sub []string
	for _, st := range e.Subtype {
		sub = append(sub, st.Code)
		a.BreakGlass = a.BreakGlass || st.Code == "break-glass"
	}
	a.Interaction = strings.Join(sub, " ")
	for _, ag := range e.Agent {
		if !ag.Requestor {
			// The organisation acted for is an agent of its own (IHE BALP).
			for _, c := range ag.Type.Coding {
				if c.Code == "PROV" {
					a.Org = ag.Who.Identifier.Value
				}
			}
			continue
		}
		a.Who, a.Agent = ag.Who.Display, ag.Who.Identifier.Value
		for _, rl := range ag.Role {
			for _, c := range rl.Coding {
				if a.Role == "" {
					a.Role = RoleName(access.Role(c.Code))
				}
			}
			if a.Role == "" {
				a.Role = rl.Text
			}
		}
	}
	for _, en := range e.Entity {
		ref := en.What.Reference
		if strings.HasPrefix(ref, "Patient/") && en.Role.Code == "1" {
			a.Patients = append(a.Patients, strings.TrimPrefix(ref, "Patient/"))
		} else if ref != "" {
			a.Entities = append(a.Entities, ref)
		}
	}
	for _, p := range e.PurposeOfEvent {
		for _, c := range p.Coding {
			a.Purpose = c.Code
			a.BreakGlass = a.BreakGlass || c.Code == "ETREAT"
		}
		a.Reason = p.Text
	}
	return a, true
}
