package recordview

import (
	"encoding/json"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
)

// Build makes the record view from raw FHIR resources in any order.
// patientID is the Patient the user opened: its demographics come first.
// now is when the view is for (ages, upcoming appointments, flags that
// have ended). A resource Build cannot read is skipped, never an error;
// the error is for a view that cannot be made at all, which today is
// never.
func Build(resources []json.RawMessage, patientID string, now time.Time) (*Record, error) {
	b := &builder{
		now:     now,
		byRef:   make(map[string]*resource, len(resources)/4),
		orgODS:  map[string]*resource{},
		roles:   map[string][]*resource{},
		rec:     &Record{PatientID: patientID, Now: now},
		patient: patientID,
	}
	rs := decodeAll(resources)
	for _, r := range rs {
		if r == nil {
			b.rec.Skipped++
			continue
		}
		b.index(r)
	}
	b.person(rs)
	for _, r := range rs {
		if r != nil {
			b.add(r)
		}
	}
	b.finish()
	return b.rec, nil
}

// decodeAll decodes resources on every core when there are enough to be
// worth it: decoding is most of Build's time, and each resource decodes
// alone.
func decodeAll(raws []json.RawMessage) []*resource {
	out := make([]*resource, len(raws))
	workers := runtime.GOMAXPROCS(0)
	if len(raws) < 256 || workers < 2 {
		for i, raw := range raws {
			out[i], _ = decodeResource(raw)
		}
		return out
	}
	var wg sync.WaitGroup
	chunk := (len(raws) + workers - 1) / workers
	for lo := 0; lo < len(raws); lo += chunk {
		hi := min(lo+chunk, len(raws))
		wg.Go(func() {
			for i := lo; i < hi; i++ {
				out[i], _ = decodeResource(raws[i])
			}
		})
	}
	wg.Wait()
	return out
}

type builder struct {
	now     time.Time
	patient string
	rec     *Record
	byRef   map[string]*resource   // "Type/id"
	orgODS  map[string]*resource   // ODS code → Organization
	roles   map[string][]*resource // "Practitioner/id" → its PractitionerRoles
	orgType map[*resource]int      // memo of orgKind
	names   map[reference]string   // memo of personName

	problems     merger[*Problem]
	meds         merger[*Medication]
	allergies    merger[*Allergy]
	alerts       merger[*Alert]
	immunisation merger[*Item]
	procedures   merger[*Item]
	results      merger[*Result]
	reports      merger[*Report]
	events       merger[*Event]
	plans        merger[*CarePlan]
	docs         merger[*Document]
	referrals    merger[*Referral]
	appts        merger[*Appointment]
	goals        merger[*Item]
	consents     []*resource
	nka          []Source // organisations that recorded no known allergies

	points map[string][]namedPoint // numeric values by the resource they came from
}

func (b *builder) index(r *resource) {
	if r.ID != "" {
		b.byRef[r.ResourceType+"/"+r.ID] = r
	}
	switch r.ResourceType {
	case "Organization":
		for _, id := range r.Identifier {
			if id.System == sysODS && id.Value != "" {
				b.orgODS[strings.ToUpper(id.Value)] = r
			}
		}
	case "PractitionerRole":
		if p := r.Practitioner.Reference; p != "" {
			b.roles[p] = append(b.roles[p], r)
		}
	}
}

// resolve finds a referenced resource among the inputs. Absolute and
// versioned references are cut to "Type/id".
func (b *builder) resolve(ref reference) *resource {
	s := ref.Reference
	if s == "" {
		return nil
	}
	if i := strings.Index(s, "/_history/"); i >= 0 {
		s = s[:i]
	}
	if r, ok := b.byRef[s]; ok {
		return r
	}
	// http://server/fhir/Type/id
	if i := strings.LastIndexByte(s, '/'); i > 0 {
		if j := strings.LastIndexByte(s[:i], '/'); j >= 0 {
			return b.byRef[s[j+1:]]
		}
	}
	return nil
}

// odsOf returns the ODS codes of the organisations that contributed r:
// its meta.tag codes, which the store writes from the write's source, else
// the code in a meta.source of the ODS form.
func odsOf(r *resource) []string {
	var out []string
	for _, t := range r.Meta.Tag {
		if t.System == sysODS && t.Code != "" && !slices.Contains(out, strings.ToUpper(t.Code)) {
			out = append(out, strings.ToUpper(t.Code))
		}
	}
	if len(out) == 0 && strings.HasPrefix(r.Meta.Source, sysODS+"|") {
		if c := r.Meta.Source[len(sysODS)+1:]; c != "" {
			out = append(out, strings.ToUpper(c))
		}
	}
	return out
}

func (b *builder) source(ods string) Source {
	if o := b.orgODS[ods]; o != nil {
		if n := orgName(o); n != "" {
			return Source{ODS: ods, Name: n}
		}
	}
	return Source{ODS: ods, Name: ods}
}

func (b *builder) sources(r *resource) []Source {
	codes := odsOf(r)
	out := make([]Source, 0, len(codes))
	for _, c := range codes {
		out = append(out, b.source(c))
	}
	return out
}

// orgSource names an Organization as a Source: its ODS code and name.
func (b *builder) orgSource(ref reference) Source {
	o := b.resolve(ref)
	if o == nil || o.ResourceType != "Organization" {
		return Source{Name: ref.Display}
	}
	s := Source{Name: orgName(o)}
	for _, id := range o.Identifier {
		if id.System == sysODS {
			s.ODS = strings.ToUpper(id.Value)
		}
	}
	if s.Name == "" {
		s.Name = s.ODS
	}
	return s
}

func orgName(o *resource) string { return o.name }

// personName names a Practitioner, Patient or RelatedPerson: "Dr Gary
// O'Brien". References that do not resolve fall back to their display.
func (b *builder) personName(ref reference) string {
	if n, ok := b.names[ref]; ok {
		return n
	}
	n := b.personName1(ref)
	if b.names == nil {
		b.names = map[reference]string{}
	}
	b.names[ref] = n
	return n
}

func (b *builder) personName1(ref reference) string {
	r := b.resolve(ref)
	if r == nil {
		return ref.Display
	}
	switch r.ResourceType {
	case "PractitionerRole":
		if n := b.personName(r.Practitioner); n != "" {
			return n
		}
		return ref.Display
	case "Organization":
		return orgName(r)
	}
	var names []humanName
	if !decodeRaw(r.Name, &names) || len(names) == 0 {
		return ref.Display
	}
	n := pickName(names)
	if n.Text != "" {
		return n.Text
	}
	parts := append(append(slices.Clone(n.Prefix), n.Given...), n.Family)
	return joinNonEmpty(" ", parts...)
}

// orgOfPerson is the organisation a practitioner acted for: the role's
// organisation when the reference is to a PractitionerRole, else that of
// one of the practitioner's roles, the one at the item's source first.
func (b *builder) orgOfPerson(ref reference, srcODS []string) string {
	r := b.resolve(ref)
	if r == nil {
		return ""
	}
	if r.ResourceType == "PractitionerRole" {
		return b.orgSource(reference{Reference: refString(r.Organization)}).Name
	}
	if r.ResourceType != "Practitioner" {
		return ""
	}
	var first string
	for _, role := range b.roles[ref.Reference] {
		s := b.orgSource(reference{Reference: refString(role.Organization)})
		if slices.Contains(srcODS, s.ODS) {
			return s.Name
		}
		if first == "" {
			first = s.Name
		}
	}
	return first
}

// refString reads a raw single Reference.
func refString(raw json.RawMessage) string {
	if rs := references(raw); len(rs) > 0 {
		return rs[0].Reference
	}
	return ""
}

func joinNonEmpty(sep string, parts ...string) string {
	var sb strings.Builder
	for _, p := range parts {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		if sb.Len() > 0 {
			sb.WriteString(sep)
		}
		sb.WriteString(p)
	}
	return sb.String()
}

// item fills what every heading's entry shares from its resource.
func (b *builder) item(r *resource, title string, d fdate) Item {
	it := Item{
		Title:    title,
		Date:     d.T,
		DateText: d.text(),
		First:    d.T,
		Status:   r.Status,
		Sources:  b.sources(r),
	}
	it.FirstText = it.DateText
	if r.ID != "" {
		it.Refs = []string{r.ResourceType + "/" + r.ID}
	}
	for _, s := range r.Meta.Security {
		if s.System == sysConfidential && (s.Code == "R" || s.Code == "V") {
			it.Sealed = true
		}
		if s.Code == "PATAST" { // v3-ObservationValue: patient asserted
			it.PatientEntered = true
		}
	}
	for _, t := range r.Meta.Tag {
		switch {
		case t.System == sysPatientView && t.Code == "withhold":
			it.Withheld = true
		case t.System == sysProvenance && t.Code == "patient-entered":
			it.PatientEntered = true
		}
	}
	// Who the resource says reported it: a Patient or RelatedPerson
	// reporting is the person's own entry.
	for _, ref := range b.reporters(r) {
		if strings.HasPrefix(ref.Reference, "Patient/") || strings.HasPrefix(ref.Reference, "RelatedPerson/") {
			it.PatientEntered = true
		}
	}
	return it
}

// reporters are the references that say who recorded or performed r.
func (b *builder) reporters(r *resource) []reference {
	out := []reference{r.Recorder, r.Asserter, r.InformationSource, r.Requester}
	out = append(out, r.performers...)
	if r.ResourceType == "Flag" || r.ResourceType == "CarePlan" {
		out = append(out, references(r.Author)...)
	}
	return out
}

// author names the first professional who recorded or performed r.
func (b *builder) author(r *resource) string {
	for _, ref := range b.reporters(r) {
		if ref.Reference == "" && ref.Display == "" {
			continue
		}
		if n := b.personName(ref); n != "" {
			return n
		}
	}
	return ""
}

func (b *builder) add(r *resource) {
	if r.Status == "entered-in-error" {
		return
	}
	switch r.ResourceType {
	case "Condition":
		b.condition(r)
	case "MedicationRequest", "MedicationStatement":
		b.medication(r)
	case "AllergyIntolerance":
		b.allergy(r)
	case "Flag":
		b.flag(r)
	case "Observation":
		b.observation(r)
	case "DiagnosticReport":
		b.report(r)
	case "Encounter":
		b.encounter(r)
	case "EpisodeOfCare":
		b.episode(r)
	case "DocumentReference":
		b.document(r)
	case "CarePlan":
		b.carePlan(r)
	case "Immunization":
		b.immunization(r)
	case "Procedure":
		b.procedure(r)
	case "ServiceRequest":
		b.referral(r)
	case "Appointment":
		b.appointment(r)
	case "Goal":
		b.goal(r)
	case "Consent":
		b.consents = append(b.consents, r)
	}
}

// merger collects a heading's items, merging those with the same key.
type merger[T interface{ base() *Item }] struct {
	idx   map[string]int
	items []T
}

func (m *merger[T]) add(key string, x T) {
	if key == "" {
		m.items = append(m.items, x)
		return
	}
	if m.idx == nil {
		m.idx = map[string]int{}
	}
	i, ok := m.idx[key]
	if !ok {
		m.idx[key] = len(m.items)
		m.items = append(m.items, x)
		return
	}
	o, n := m.items[i].base(), x.base()
	srcs := unionSources(o.Sources, n.Sources)
	refs := unionStrings(o.Refs, n.Refs)
	first, firstText := o.First, o.FirstText
	if !n.First.IsZero() && (first.IsZero() || n.First.Before(first)) {
		first, firstText = n.First, n.FirstText
	}
	sealed, withheld := o.Sealed || n.Sealed, o.Withheld || n.Withheld
	patient := o.PatientEntered && n.PatientEntered
	keep := m.items[i]
	if newer(n, o) {
		keep = x
	}
	k := keep.base()
	k.Sources, k.Refs, k.First, k.FirstText = srcs, refs, first, firstText
	k.Sealed, k.Withheld, k.PatientEntered = sealed, withheld, patient
	m.items[i] = keep
}

// newer reports whether n should be displayed rather than o: later, or
// as recent and fuller.
func newer(n, o *Item) bool {
	if !n.Date.Equal(o.Date) {
		return n.Date.After(o.Date)
	}
	return len(n.Detail)+len(n.Author)+len(n.Title) > len(o.Detail)+len(o.Author)+len(o.Title)
}

func unionSources(a, b []Source) []Source {
	out := slices.Clone(a)
	for _, s := range b {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(x, y Source) int { return strings.Compare(x.Name+x.ODS, y.Name+y.ODS) })
	return out
}

func unionStrings(a, b []string) []string {
	out := slices.Clone(a)
	for _, s := range b {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func day(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.DateOnly)
}

// newestFirst orders items by date, newest first, ties by title and then
// by first reference so that the same input always gives the same page.
func newestFirst[T interface{ base() *Item }](xs []T) {
	slices.SortStableFunc(xs, func(x, y T) int {
		a, b := x.base(), y.base()
		if c := b.Date.Compare(a.Date); c != 0 {
			return c
		}
		if c := strings.Compare(a.Title, b.Title); c != 0 {
			return c
		}
		return strings.Compare(firstOf(a.Refs), firstOf(b.Refs))
	})
}

func firstOf(ss []string) string {
	if len(ss) == 0 {
		return ""
	}
	return ss[0]
}

func deref[T any](xs []*T) []T {
	out := make([]T, len(xs))
	for i, x := range xs {
		out[i] = *x
	}
	return out
}
