package notify

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/sharedcare/sharedcare/internal/access"
	"github.com/sharedcare/sharedcare/internal/fhir"
	"github.com/sharedcare/sharedcare/internal/record"
	"github.com/sharedcare/sharedcare/internal/store"
)

// alert is one event to tell: what happened, about which item, when.
type alert struct {
	kind  string
	key   string // distinguishes events of one kind about one item (a transfer's ward)
	text  string
	at    time.Time // the clinical time the window is measured on
	about string    // "Encounter/…", "DiagnosticReport/…"
	enc   string    // the encounter, when there is one
	// to, when set, are the only recipients (a cancellation goes to
	// those told of the admission).
	to []string
}

// catchUp looks again at the Encounters and DiagnosticReports updated
// within the window.
func (n *Notifier) catchUp(startCtx, ctx context.Context) {
	since := n.opts.Now().Add(-n.opts.Window).UTC().Format(time.RFC3339)
	for _, typ := range []string{"Encounter", "DiagnosticReport"} {
		params := url.Values{"_lastUpdated": {"ge" + since}, "_count": {"200"}}
		for {
			if startCtx.Err() != nil {
				return
			}
			res, err := n.svc.Search(ctx, record.SearchRequest{Type: typ, Params: params})
			if err != nil {
				n.failed.Add(1)
				n.opts.Log.ErrorContext(ctx, "notify: catch-up", slog.String("type", typ), slog.Any("err", err))
				break
			}
			for _, r := range res.Matches {
				n.handle(ctx, r)
			}
			if res.Next == "" {
				break
			}
			params.Set("_page", res.Next)
		}
	}
}

// event writes the alerts one committed version calls for.
func (n *Notifier) event(ctx context.Context, r store.Resource) error {
	obj, err := fhir.DecodeResource(r.Body)
	if err != nil {
		return err
	}
	if access.Sealed(obj) || fromNotifier(obj) {
		return nil // a sealed item is told to nobody
	}
	patient := r.PatientKey
	if patient == "" {
		patient, _ = strings.CutPrefix(refOf(obj["subject"]), "Patient/")
	}
	if patient == "" {
		return nil
	}
	var alerts []alert
	switch r.Type {
	case "Encounter":
		alerts, err = n.encounterAlerts(ctx, r, obj)
	case "DiagnosticReport":
		alerts, err = n.resultAlerts(ctx, r, obj)
	}
	if err != nil || len(alerts) == 0 {
		return err
	}
	now := n.opts.Now()
	var fresh []alert
	for _, a := range alerts {
		if a.at.IsZero() {
			a.at = r.LastUpdated
		}
		if now.Sub(a.at) <= n.opts.Window {
			fresh = append(fresh, a)
		}
	}
	if len(fresh) == 0 {
		return nil
	}
	sender := odsOf(obj)
	to, err := n.recipients(ctx, patient, sender)
	if err != nil {
		return err
	}
	for _, a := range fresh {
		rs := to
		if a.to != nil {
			rs = a.to
		}
		for _, ods := range rs {
			if ods == sender {
				continue
			}
			if err := n.deliver(ctx, a, patient, sender, ods); err != nil {
				return err
			}
		}
	}
	return nil
}

// inpatient and emergency are the encounter classes that alert.
var (
	inpatient = []string{"IMP", "ACUTE", "NONAC"}
	emergency = []string{"EMER"}
)

func (n *Notifier) encounterAlerts(ctx context.Context, r store.Resource, obj fhir.Object) ([]alert, error) {
	class := strOf(mapOf(obj["class"])["code"])
	imp, emer := slices.Contains(inpatient, class), slices.Contains(emergency, class)
	if !imp && !emer {
		return nil, nil
	}
	about := "Encounter/" + r.ID
	period := mapOf(obj["period"])
	start, _ := record.ParseInstant(strOf(period["start"]))
	end, _ := record.ParseInstant(strOf(period["end"]))
	locs := arrOf(obj["location"])
	first, current := "", ""
	var movedAt time.Time
	for i, l := range locs {
		lm := mapOf(l)
		ref := refOf(lm["location"])
		if i == 0 {
			first = ref
		}
		if st := strOf(lm["status"]); st == "active" || st == "" || current == "" {
			current = ref
			movedAt, _ = record.ParseInstant(strOf(mapOf(lm["period"])["start"]))
		}
	}
	org := refOf(obj["serviceProvider"])
	base := alert{about: about, enc: about}
	switch st := strOf(obj["status"]); st {
	case "arrived", "triaged", "in-progress", "onleave":
		a := base
		a.kind, a.at = KindAdmission, start
		if emer {
			a.text = "Attended A&E at " + n.hospital(ctx, first, org)
			return []alert{a}, nil
		}
		a.text = "Admitted to " + n.place(ctx, first, org)
		out := []alert{a}
		if current != "" && current != first {
			t := base
			t.kind, t.key, t.at = KindTransfer, current, movedAt
			t.text = "Moved to " + n.place(ctx, current, org)
			out = append(out, t)
		}
		return out, nil
	case "finished":
		if end.IsZero() {
			return nil, nil
		}
		a := base
		a.kind, a.at = KindDischarge, end
		if emer {
			a.text = "Discharged from A&E at " + n.hospital(ctx, current, org)
		} else {
			a.text = "Discharged from " + n.place(ctx, current, org)
		}
		if d := conceptText(mapOf(obj["hospitalization"])["dischargeDisposition"]); d != "" {
			a.text += " (discharge destination: " + d + ")"
		}
		return []alert{a}, nil
	case "cancelled", "entered-in-error":
		told, err := n.toldOf(ctx, about, KindAdmission)
		if err != nil || len(told) == 0 {
			return nil, err
		}
		a := base
		a.kind, a.to = KindCancelled, told
		a.text = "Admission cancelled: " + n.hospital(ctx, first, org)
		if emer {
			a.text = "A&E attendance cancelled: " + n.hospital(ctx, first, org)
		}
		return []alert{a}, nil
	}
	return nil, nil
}

// abnormal are the interpretation codes that flag a result.
var abnormal = []string{"A", "AA", "H", "HH", "HU", "L", "LL", "LU", "<", ">", "POS", "R"}

func (n *Notifier) resultAlerts(ctx context.Context, r store.Resource, obj fhir.Object) ([]alert, error) {
	st := strOf(obj["status"])
	if st != "final" && st != "amended" && st != "corrected" {
		return nil, nil
	}
	name := conceptText(obj["code"])
	if name == "" {
		name = "a report"
	}
	flagged := false
	for _, res := range arrOf(obj["result"]) {
		typ, id, ok := strings.Cut(refOf(res), "/")
		if !ok || typ != "Observation" {
			continue
		}
		o, err := n.svc.Read(ctx, typ, id)
		if err != nil || o.Deleted {
			continue
		}
		ob, err := fhir.DecodeResource(o.Body)
		if err != nil {
			continue
		}
		if access.Sealed(ob) {
			return nil, nil // a report with a sealed result is told to nobody
		}
		for _, in := range arrOf(ob["interpretation"]) {
			for _, c := range arrOf(mapOf(in)["coding"]) {
				if slices.Contains(abnormal, strOf(mapOf(c)["code"])) {
					flagged = true
				}
			}
		}
	}
	a := alert{kind: KindResult, about: "DiagnosticReport/" + r.ID, enc: refOf(obj["encounter"])}
	a.text = "New result: " + name
	if st != "final" {
		// An amended or corrected report is told once more.
		a.text, a.key = "Result "+st+": "+name, st
	}
	if flagged {
		a.text += " (abnormal)"
	}
	for _, k := range []string{"issued", "effectiveDateTime"} {
		if t, err := record.ParseInstant(strOf(obj[k])); err == nil {
			a.at = t
			break
		}
	}
	return []alert{a}, nil
}

// recipients are the organisations (ODS codes) to tell of an event in
// patient's record sent by sender: those the person is registered with
// or cared for by, other than the sender (or an organisation it is part
// of), whose clinicians the policy lets open the whole record now.
func (n *Notifier) recipients(ctx context.Context, patient, sender string) ([]string, error) {
	f, err := n.svc.Facts(ctx, patient)
	if err != nil {
		return nil, err
	}
	policy := n.svc.Policy()
	if policy == nil {
		policy = &access.Policy{}
	}
	type cand struct {
		ods  string
		role access.Role
	}
	var cands []cand
	add := func(chain []string, role access.Role) {
		if len(chain) == 0 || (sender != "" && slices.Contains(chain, sender)) {
			return
		}
		cands = append(cands, cand{chain[0], role})
	}
	for _, gp := range f.GP {
		add(gp, access.RoleGP)
	}
	for _, cs := range [][]access.Care{f.Encounters, f.Episodes, f.Referrals} {
		for _, c := range cs {
			add(c.Orgs, access.RoleConsultant)
		}
	}
	for _, m := range f.CareTeams {
		if !strings.Contains(m, "/") {
			add([]string{m}, access.RoleNurse)
		}
	}
	var out []string
	for _, c := range cands {
		if slices.Contains(out, c.ods) {
			continue
		}
		d := policy.Person(&access.Principal{Kind: access.User, Subject: "notify:" + c.ods, Role: c.role, Org: c.ods, Unscoped: true}, f)
		// Dissent keeps each organisation to its own entries, and an
		// emergency-only choice opens nothing without a break-glass: no
		// alert about others' entries.
		if d.Allowed && !d.OwnOrgOnly && d.BreakGlass == nil {
			out = append(out, c.ods)
		}
	}
	slices.Sort(out)
	return out, nil
}

// toldOf returns the organisations already alerted of kind about item.
func (n *Notifier) toldOf(ctx context.Context, about, kind string) ([]string, error) {
	res, err := n.svc.Search(ctx, record.SearchRequest{Type: "Communication", Params: url.Values{
		"encounter": {about}, "category": {SysAlertKind + "|" + kind}, "_count": {"200"}}})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, r := range res.Matches {
		var m struct {
			Meta struct {
				Tag []struct{ System, Code string } `json:"tag"`
			} `json:"meta"`
		}
		if json.Unmarshal(r.Body, &m) != nil {
			continue
		}
		for _, t := range m.Meta.Tag {
			if t.System == access.SysAddressedTo && !slices.Contains(out, t.Code) {
				out = append(out, t.Code)
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

var kindDisplay = map[string]string{
	KindAdmission: "Admission", KindTransfer: "Transfer", KindDischarge: "Discharge",
	KindCancelled: "Cancelled", KindResult: "Result",
}

// ID is the identifier value of the alert of kind about item (key
// distinguishing events of a kind) for the organisation ods.
func ID(about, kind, key, ods string) string {
	parts := []string{about, kind}
	if key != "" {
		parts = append(parts, key)
	}
	return strings.Join(append(parts, ods), ":")
}

// deliver writes one alert to one organisation, unless it was written
// before. Here is where a publisher (JetStream) would sit beside the
// FHIR write, keyed by the same identifier.
func (n *Notifier) deliver(ctx context.Context, a alert, patient, sender, ods string) error {
	id := ID(a.about, a.kind, a.key, ods)
	c := fhir.Object{
		"resourceType": "Communication",
		"meta": fhir.Object{
			"source": Source,
			"tag":    []any{fhir.Object{"system": access.SysAddressedTo, "code": ods}},
		},
		"identifier": []any{fhir.Object{"system": SysAlertID, "value": id}},
		"status":     "completed",
		"category": []any{fhir.Object{"coding": []any{
			fhir.Object{"system": SysAlertKind, "code": a.kind, "display": kindDisplay[a.kind]}}}},
		"subject":   fhir.Object{"reference": "Patient/" + patient},
		"about":     []any{fhir.Object{"reference": a.about}},
		"sent":      n.opts.Now().UTC().Format(time.RFC3339),
		"recipient": []any{n.orgRef(ctx, ods)},
		"payload":   []any{fhir.Object{"contentString": a.text}},
	}
	if a.enc != "" {
		c["encounter"] = fhir.Object{"reference": a.enc}
	}
	if sender != "" {
		c["sender"] = n.orgRef(ctx, sender)
	}
	body, err := json.Marshal(c)
	if err != nil {
		return err
	}
	res, err := n.svc.Create(ctx, "Communication", body, url.Values{"identifier": {SysAlertID + "|" + id}}.Encode())
	if err != nil {
		return err
	}
	if res.Created {
		n.sent.Add(1)
	}
	return nil
}

// orgRef is a reference to the Organization with ODS code ods, or a
// logical one by identifier when there is none.
func (n *Notifier) orgRef(ctx context.Context, ods string) fhir.Object {
	res, err := n.svc.Search(ctx, record.SearchRequest{Type: "Organization", Params: url.Values{
		"identifier": {access.SysODS + "|" + ods}, "_count": {"1"}}})
	if err == nil && len(res.Matches) > 0 {
		ref := fhir.Object{"reference": "Organization/" + res.Matches[0].ID}
		if o, err := fhir.DecodeResource(res.Matches[0].Body); err == nil && strOf(o["name"]) != "" {
			ref["display"] = strOf(o["name"])
		}
		return ref
	}
	return fhir.Object{"identifier": fhir.Object{"system": access.SysODS, "value": ods}}
}

// place names a ward and its hospital ("Ward 5, Royal Hallamshire
// Hospital"), else the organisation.
func (n *Notifier) place(ctx context.Context, loc, org string) string {
	name, site := n.location(ctx, loc)
	switch {
	case name != "" && site != "":
		return name + ", " + site
	case name != "":
		return name
	}
	return n.orgName(ctx, org)
}

// hospital names the site of a location, else the organisation.
func (n *Notifier) hospital(ctx context.Context, loc, org string) string {
	name, site := n.location(ctx, loc)
	if site != "" {
		return site
	}
	if name != "" {
		return name
	}
	return n.orgName(ctx, org)
}

// location returns a Location's name and that of the site it is part of.
func (n *Notifier) location(ctx context.Context, ref string) (name, site string) {
	o := n.read(ctx, ref, "Location")
	if o == nil {
		return "", ""
	}
	if p := n.read(ctx, refOf(o["partOf"]), "Location"); p != nil {
		site = strOf(p["name"])
	}
	return strOf(o["name"]), site
}

func (n *Notifier) orgName(ctx context.Context, ref string) string {
	if o := n.read(ctx, ref, "Organization"); o != nil && strOf(o["name"]) != "" {
		return strOf(o["name"])
	}
	return "the hospital"
}

func (n *Notifier) read(ctx context.Context, ref, want string) fhir.Object {
	typ, id, ok := strings.Cut(ref, "/")
	if !ok || typ != want {
		return nil
	}
	r, err := n.svc.Read(ctx, typ, id)
	if err != nil || r.Deleted {
		return nil
	}
	o, err := fhir.DecodeResource(r.Body)
	if err != nil {
		return nil
	}
	return o
}

// odsOf is the contributing organisation of a resource (its ODS meta.tag).
func odsOf(obj fhir.Object) string {
	for _, t := range arrOf(mapOf(obj["meta"])["tag"]) {
		if tm := mapOf(t); strOf(tm["system"]) == access.SysODS {
			return strOf(tm["code"])
		}
	}
	return ""
}

func fromNotifier(obj fhir.Object) bool { return strOf(mapOf(obj["meta"])["source"]) == Source }

// conceptText is a CodeableConcept's text, else its first display, else
// its first code.
func conceptText(v any) string {
	cc := mapOf(v)
	if t := strOf(cc["text"]); t != "" {
		return t
	}
	code := ""
	for _, c := range arrOf(cc["coding"]) {
		if d := strOf(mapOf(c)["display"]); d != "" {
			return d
		}
		if code == "" {
			code = strOf(mapOf(c)["code"])
		}
	}
	if code != "" {
		return "code " + code
	}
	return ""
}

func strOf(v any) string {
	s, _ := v.(string)
	return s
}

func arrOf(v any) []any {
	a, _ := v.([]any)
	return a
}

func mapOf(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func refOf(v any) string { return strOf(mapOf(v)["reference"]) }
