package recordview

import (
	"encoding/base64"
	"mime"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Kinds of organisation, as their Organization.type says (synth writes
// the kind in type.text beside an organization-type coding).
const (
	orgOther = iota
	orgGP
	orgAcute
	orgMentalHealth
	orgCareHome
	orgCouncil
	orgHospice
	orgCommunity // pharmacy, dentist, optometrist
)

func (b *builder) orgKind(o *resource) int {
	if o == nil {
		return orgOther
	}
	if b.orgType == nil {
		b.orgType = map[*resource]int{}
	}
	if k, ok := b.orgType[o]; ok {
		return k
	}
	k := orgOther
	for _, c := range concepts(o.Type) {
		words := strings.ToLower(c.Text)
		for _, cd := range c.Coding {
			words += " " + strings.ToLower(cd.Display)
		}
		switch {
		case strings.Contains(words, "gp practice"), strings.Contains(words, "general practice"):
			k = orgGP
		case strings.Contains(words, "care home"), strings.Contains(words, "nursing home"):
			k = orgCareHome
		case strings.Contains(words, "local authority"), strings.Contains(words, "social care"), strings.Contains(words, "council"):
			k = orgCouncil
		case strings.Contains(words, "hospice"):
			k = orgHospice
		case strings.Contains(words, "mental health"):
			k = orgMentalHealth
		case strings.Contains(words, "acute"), strings.Contains(words, "hospital"):
			k = orgAcute
		case strings.Contains(words, "pharmacy"), strings.Contains(words, "dental"), strings.Contains(words, "optometr"):
			k = orgCommunity
		}
		if k != orgOther {
			break
		}
	}
	b.orgType[o] = k
	return k
}

var kindText = map[string]string{
	KindAdmission:  "Hospital admission",
	KindEmergency:  "A&E attendance",
	KindOutpatient: "Outpatient appointment",
	KindGP:         "GP consultation",
	KindCommunity:  "Community care",
	KindCareHome:   "Care home",
	KindSocialCare: "Social care",
	KindDocument:   "Document",
	KindOther:      "Encounter",
}

// classify names an encounter's kind from its class, then the kind of
// organisation that provided it.
func classify(class string, org int) string {
	switch class {
	case "IMP", "ACUTE", "NONAC":
		if org == orgHospice {
			return KindCommunity
		}
		return KindAdmission
	case "EMER":
		return KindEmergency
	case "SS": // short stay: a day case
		return KindAdmission
	}
	switch org {
	case orgGP:
		return KindGP
	case orgAcute, orgMentalHealth:
		if class == "HH" {
			return KindCommunity
		}
		return KindOutpatient
	case orgCareHome:
		return KindCareHome
	case orgCouncil:
		return KindSocialCare
	case orgHospice, orgCommunity:
		return KindCommunity
	}
	if class == "HH" {
		return KindCommunity
	}
	return KindOther
}

func (b *builder) encounter(r *resource) {
	if r.Status == "cancelled" {
		return
	}
	start, end := parseDate(r.Period.Start), parseDate(r.Period.End)
	orgRef := r.ServiceProvider
	org := b.orgSource(orgRef)
	if org.Name == "" && len(b.sources(r)) > 0 {
		org = b.sources(r)[0]
	}
	kind := classify(r.Class.Code, b.orgKind(b.resolve(orgRef)))
	types := concepts(r.Type)
	title := firstConcept(types).display()
	if title == "" {
		title = kindText[kind]
	}
	it := b.item(r, title, start)
	it.Code = firstConcept(types).key()
	for _, p := range actors(r.Participant) {
		if n := b.personName(p); n != "" {
			it.Author = n
			break
		}
	}
	ev := &Event{Item: it, Kind: kind, KindText: kindText[kind], Org: org, Reason: firstConcept(r.ReasonCode).display()}
	if end.Prec > 0 {
		ev.End, ev.EndText = end.T, end.text()
	}
	var locs []encLocation
	decodeRaw(r.Location, &locs)
	if len(locs) > 0 {
		ev.Place = b.locationName(locs[len(locs)-1].Location)
	}
	ev.Detail = joinNonEmpty(" — ", ev.Reason, ev.Place)
	key := ""
	for _, id := range r.Identifier {
		if id.System != "" && id.Value != "" {
			key = "id|" + id.System + "|" + id.Value
			break
		}
	}
	if key == "" && start.Prec > 0 {
		key = r.Class.Code + "|" + org.ODS + org.Name + "|" + start.T.Format(time.RFC3339)
	}
	b.events.add(key, ev)
}

// locationName is a ward and its site: "Ward B1, Rotherham Hospital".
func (b *builder) locationName(ref reference) string {
	l := b.resolve(ref)
	if l == nil {
		return ref.Display
	}
	name := orgName(l)
	if p := b.resolve(l.PartOf); p != nil && p != l {
		return joinNonEmpty(", ", name, orgName(p))
	}
	return name
}

func (b *builder) episode(r *resource) {
	start, end := parseDate(r.Period.Start), parseDate(r.Period.End)
	org := b.orgSource(r.ManagingOrganization)
	kind := classify("", b.orgKind(b.resolve(r.ManagingOrganization)))
	title := firstConcept(concepts(r.Type)).display()
	if title == "" {
		title = "Episode of care"
	}
	it := b.item(r, title, start)
	it.Author = b.personName(r.CareManager)
	ev := &Event{Item: it, Kind: kind, KindText: kindText[kind], Org: org}
	if end.Prec > 0 {
		ev.End, ev.EndText = end.T, end.text()
	}
	if kind == KindCareHome {
		ev.KindText = "Care home residence"
	}
	b.events.add("", ev)
}

// maxText bounds a document's decoded text: a page is not the place for
// more, and the reader can fetch the whole.
const maxText = 1 << 20

func (b *builder) document(r *resource) {
	typ := firstConcept(concepts(r.Type)).display()
	var desc string
	decodeRaw(r.Description, &desc)
	title := typ
	if title == "" {
		title = desc
	}
	if title == "" && len(r.Content) > 0 {
		title = r.Content[0].Attachment.Title
	}
	if title == "" {
		title = "Document"
	}
	d := firstDate(r.Date, r.Context.Period.Start)
	if d.Prec == 0 && len(r.Content) > 0 {
		d = parseDate(r.Content[0].Attachment.Creation)
	}
	it := b.item(r, title, d)
	it.Code = firstConcept(concepts(r.Type)).key()
	authors := references(r.Author)
	for _, a := range authors {
		if !strings.HasPrefix(a.Reference, "Organization/") {
			if n := b.personName(a); n != "" {
				it.Author = n
				break
			}
		}
	}
	doc := &Document{Item: it, Type: typ, Custodian: b.orgSource(r.Custodian)}
	if doc.Custodian.Name == "" {
		for _, a := range authors {
			if strings.HasPrefix(a.Reference, "Organization/") {
				doc.Custodian = b.orgSource(a)
			}
		}
	}
	if doc.Custodian.Name == "" && len(it.Sources) > 0 {
		doc.Custodian = it.Sources[0]
	}
	if desc != title {
		doc.Detail = desc
	}
	for _, c := range r.Content {
		a := c.Attachment
		mt, _, _ := mime.ParseMediaType(a.ContentType)
		if doc.ContentType == "" {
			doc.ContentType = mt
		}
		if doc.URL == "" {
			doc.URL = a.URL
		}
		if doc.Text == "" && a.Data != "" && (mt == "text/plain" || mt == "text/markdown") {
			doc.Text = decodeText(a.Data)
			doc.ContentType = mt
		}
	}
	key := ""
	for _, id := range r.Identifier {
		if id.Value != "" {
			key = "id|" + id.System + "|" + id.Value
			break
		}
	}
	if key == "" && d.Prec > 0 {
		key = it.Code + "|" + d.T.Format(time.RFC3339) + "|" + doc.Custodian.ODS + doc.Custodian.Name + "|" + title
	}
	b.docs.add(key, doc)
}

// decodeText decodes base64 text, as valid UTF-8 (a bad byte becomes
// U+FFFD), with NULs dropped, cut at maxText.
func decodeText(data string) string {
	raw, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		if raw, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(data, "=")); err != nil {
			return ""
		}
	}
	if len(raw) > maxText {
		raw = raw[:maxText]
	}
	s := string(raw)
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, "\x00", ""), "\r\n", "\n")
}

// finish orders every heading and fills the summaries.
func (b *builder) finish() {
	R := b.rec
	newestFirst(b.alerts.items)
	R.Alerts = deref(b.alerts.items)

	newestFirst(b.problems.items)
	slices.SortStableFunc(b.problems.items, func(x, y *Problem) int { return activeFirst(x.Active, y.Active) })
	R.Problems = deref(b.problems.items)

	newestFirst(b.meds.items)
	slices.SortStableFunc(b.meds.items, func(x, y *Medication) int { return activeFirst(x.Current, y.Current) })
	R.Medications = deref(b.meds.items)

	newestFirst(b.allergies.items)
	slices.SortStableFunc(b.allergies.items, func(x, y *Allergy) int { return activeFirst(x.Active, y.Active) })
	R.Allergies = deref(b.allergies.items)
	for _, a := range R.Allergies {
		if a.Active {
			R.Allergy.Count++
			R.Allergy.Names = append(R.Allergy.Names, a.Title)
		}
	}
	switch {
	case R.Allergy.Count > 0:
		R.Allergy.Text = strings.Join(R.Allergy.Names, ", ")
	case len(b.nka) > 0:
		R.Allergy.Text = "No known allergies"
	default:
		R.Allergy.Text = "No allergies recorded"
	}

	b.finishResults()
	newestFirst(b.reports.items)
	R.Reports = deref(b.reports.items)

	for _, d := range b.docs.items {
		ev := &Event{Item: d.Item, Kind: KindDocument, KindText: kindText[KindDocument], Org: d.Custodian}
		ev.Refs = slices.Clone(d.Refs)
		b.events.items = append(b.events.items, ev)
	}
	newestFirst(b.events.items)
	R.Timeline = deref(b.events.items)
	newestFirst(b.docs.items)
	R.Documents = deref(b.docs.items)

	newestFirst(b.plans.items)
	slices.SortStableFunc(b.plans.items, func(x, y *CarePlan) int {
		if c := activeFirst(x.Prominent, y.Prominent); c != 0 {
			return c
		}
		return activeFirst(x.Status == "active", y.Status == "active")
	})
	R.CarePlans = deref(b.plans.items)

	newestFirst(b.immunisation.items)
	R.Immunisations = deref(b.immunisation.items)
	newestFirst(b.procedures.items)
	R.Procedures = deref(b.procedures.items)
	newestFirst(b.referrals.items)
	R.Referrals = deref(b.referrals.items)
	newestFirst(b.goals.items)
	R.Goals = deref(b.goals.items)

	newestFirst(b.appts.items)
	slices.SortStableFunc(b.appts.items, func(x, y *Appointment) int {
		if c := activeFirst(x.Upcoming, y.Upcoming); c != 0 || !x.Upcoming {
			return c
		}
		return x.Date.Compare(y.Date) // soonest first
	})
	R.Appointments = deref(b.appts.items)

	b.consentSummary()
}

func activeFirst(x, y bool) int {
	if x == y {
		return 0
	}
	return boolFirst(x)
}
