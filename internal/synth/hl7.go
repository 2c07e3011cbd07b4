package synth

import (
	"sort"
	"strconv"
	"strings"
)

// HL7 v2.4 output for the hospital side: what a trust's PAS, pathology,
// observations and document systems would send. ADT for registrations
// (A28, A31), emergency department and clinic attendances (A04),
// admissions (A01), transfers (A02), updates (A08), discharges (A03) and
// merges of duplicate registrations (A40); ORU^R01 for results and
// observations; MDM^T02 for letters. NHS numbers are in PID-3 with
// assigning authority NHS and type NH, beside the trust's MRN (type MR).
// Messages come per person in time order; a real feed interleaves people,
// which an importer must not depend on either way.

// Frame wraps an ER7 message for MLLP: a vertical tab before, a file
// separator and carriage return after.
func Frame(er7 []byte) []byte {
	out := make([]byte, 0, len(er7)+3)
	out = append(out, 0x0B)
	out = append(out, er7...)
	return append(out, 0x1C, 0x0D)
}

// er7 builds a message: segments end in \r, fields are escaped.
type er7 struct {
	b []byte
}

func (m *er7) seg(name string) {
	if len(m.b) > 0 {
		m.b = append(m.b, '\r')
	}
	m.b = append(m.b, name...)
}

// f appends a field of components, each escaped.
func (m *er7) f(components ...string) {
	m.b = append(m.b, '|')
	for i, c := range components {
		if i > 0 {
			m.b = append(m.b, '^')
		}
		m.esc(c)
	}
}

// raw appends a field written already in ER7 (repetitions, sub-parts).
func (m *er7) raw(s string) {
	m.b = append(m.b, '|')
	m.b = append(m.b, s...)
}

// skip appends n empty fields.
func (m *er7) skip(n int) {
	for i := 0; i < n; i++ {
		m.b = append(m.b, '|')
	}
}

func (m *er7) esc(s string) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '|':
			m.b = append(m.b, `\F\`...)
		case '^':
			m.b = append(m.b, `\S\`...)
		case '~':
			m.b = append(m.b, `\R\`...)
		case '\\':
			m.b = append(m.b, `\E\`...)
		case '&':
			m.b = append(m.b, `\T\`...)
		case '\r', '\n':
			m.b = append(m.b, ' ')
		default:
			m.b = append(m.b, c)
		}
	}
}

func (m *er7) done() []byte {
	m.b = append(m.b, '\r')
	return m.b
}

func escaped(s string) string {
	var m er7
	m.esc(s)
	return string(m.b)
}

// hl7Event is one message to send, at a time.
type hl7Event struct {
	at   ts
	seq  int
	kind string // "A01", "ORU", "MDM", ...
	enc  int
	dup  bool
	arg  int // A02: the stay moved into; ORU: first observation; MDM: document
	args []int
}

// writeHL7 returns the messages of a hospital record, in time order.
func (p *person) writeHL7(rc *record) []Message {
	var evs []hl7Event
	add := func(e hl7Event) {
		e.seq = len(evs)
		evs = append(evs, e)
	}
	first := ts(0)
	order := make([]int, 0, len(rc.encs))
	for i := range rc.encs {
		if rc.encs[i].kind.hospitalEvent() {
			order = append(order, i)
		}
	}
	if len(order) == 0 {
		return nil
	}
	sort.SliceStable(order, func(a, b int) bool { return rc.encs[order[a]].start < rc.encs[order[b]].start })
	for _, i := range order {
		e := &rc.encs[i]
		if e.onDup {
			continue
		}
		if first == 0 || e.start < first {
			first = e.start
		}
	}
	// The record a duplicate is merged into exists before the merge: a
	// trust merges into a registration it holds, so when the person's own
	// first visit comes later, they were registered by the merge at latest.
	reg := first
	if rc.dup != nil && rc.dup.registered != 0 && rc.dup.merged && (reg == 0 || rc.dup.mergedAt < reg) {
		reg = rc.dup.mergedAt
	}
	if reg != 0 {
		add(hl7Event{at: reg - 10*minute, kind: "A28", enc: -1})
	}
	if rc.dup != nil && rc.dup.registered != 0 {
		add(hl7Event{at: rc.dup.registered - 5*minute, kind: "A28", enc: -1, dup: true})
		if rc.dup.merged {
			add(hl7Event{at: rc.dup.mergedAt, kind: "A40", enc: -1})
		}
	}
	if p.careHome >= 0 && !rc.oldAddr && first != 0 && p.homeFrom > first && p.homeFrom < p.end {
		add(hl7Event{at: p.homeFrom + 3*day, kind: "A31", enc: -1})
	} else if first != 0 && first < p.end-30*day && chance(p.r, 0.1) {
		// Details confirmed or corrected at a later visit.
		add(hl7Event{at: p.uniform(first+day, p.end), kind: "A31", enc: -1})
	}
	if rc.knowsDeath && p.death != 0 {
		died := false
		for _, i := range order {
			died = died || rc.encs[i].died
		}
		if !died && p.death+2*day < p.now {
			add(hl7Event{at: p.death + 2*day, kind: "A31", enc: -1})
		}
	}
	for _, i := range order {
		e := &rc.encs[i]
		switch e.kind {
		case encAE:
			add(hl7Event{at: e.start, kind: "A04", enc: i, dup: e.onDup})
			add(hl7Event{at: e.end, kind: "A03", enc: i, dup: e.onDup})
		case encOutpatient:
			add(hl7Event{at: e.start, kind: "A04", enc: i})
		default:
			add(hl7Event{at: e.start, kind: "A01", enc: i, dup: e.onDup})
			for s := 1; s < len(e.stays); s++ {
				add(hl7Event{at: e.stays[s].start, kind: "A02", enc: i, arg: s, dup: e.onDup})
			}
			if e.end-e.start > 3*day && chance(p.r, 0.5) {
				add(hl7Event{at: e.start + 2*day + 3*hour, kind: "A08", enc: i, dup: e.onDup})
			}
			add(hl7Event{at: e.end, kind: "A03", enc: i, dup: e.onDup})
		}
	}
	// Results: observations of an encounter taken together go as one ORU.
	for j := 0; j < len(rc.obs); {
		o := &rc.obs[j]
		k := j + 1
		for k < len(rc.obs) && rc.obs[k].enc == o.enc && rc.obs[k].at == o.at {
			k++
		}
		if o.enc >= 0 && rc.encs[o.enc].kind.hospitalEvent() {
			ev := hl7Event{at: o.at + 40*minute, kind: "ORU", enc: o.enc, dup: rc.encs[o.enc].onDup}
			for x := j; x < k; x++ {
				ev.args = append(ev.args, x)
			}
			add(ev)
		}
		j = k
	}
	for d := range rc.docs {
		if e := rc.docs[d].enc; e >= 0 && rc.encs[e].kind.hospitalEvent() {
			add(hl7Event{at: rc.docs[d].at, kind: "MDM", enc: e, arg: d, dup: rc.encs[e].onDup})
		}
	}
	sort.SliceStable(evs, func(a, b int) bool {
		if evs[a].at != evs[b].at {
			return evs[a].at < evs[b].at
		}
		return evs[a].seq < evs[b].seq
	})
	out := make([]Message, 0, len(evs))
	ods := p.w.orgs[rc.org].ods
	for n, ev := range evs {
		if ev.at > p.now {
			continue
		}
		typ, er := p.hl7Message(rc, ev, n)
		out = append(out, Message{Source: ods, Type: typ, ER7: er})
	}
	return out
}

var messageStructure = map[string][2]string{
	"A01": {"ADT^A01", "ADT_A01"}, "A02": {"ADT^A02", "ADT_A02"}, "A03": {"ADT^A03", "ADT_A03"},
	"A04": {"ADT^A04", "ADT_A01"}, "A08": {"ADT^A08", "ADT_A01"}, "A28": {"ADT^A28", "ADT_A05"},
	"A31": {"ADT^A31", "ADT_A05"}, "A40": {"ADT^A40", "ADT_A39"}, "ORU": {"ORU^R01", "ORU_R01"},
	"MDM": {"MDM^T02", "MDM_T02"},
}

func (p *person) hl7Message(rc *record, ev hl7Event, n int) (string, []byte) {
	w := p.w
	o := &w.orgs[rc.org]
	st := messageStructure[ev.kind]
	app := o.apps[0]
	switch ev.kind {
	case "ORU":
		app = o.apps[1]
		if obsDefs[rc.obs[ev.args[0]].kind].category != "laboratory" {
			app = "EOBS"
		}
	case "MDM":
		app = o.apps[2]
	}
	m := er7{b: p.hl7Buf[:0]}
	defer func() { p.hl7Buf = m.b }()
	ctrl := makeUID(p.key^hashString(o.ods), uint64(n)+1<<32)
	m.b = append(m.b, "MSH|^~\\&"...)
	m.f(app)
	m.f(o.ods)
	m.f("SHAREDCARE")
	m.f(w.orgs[w.icb].ods)
	m.b = append(m.b, '|')
	m.b = appendHL7Time(m.b, ev.at+minute)
	m.skip(1)
	m.raw(st[0] + "^" + st[1])
	m.b = append(m.b, '|')
	m.b = appendHex(m.b, ctrl.hi, 16)
	m.b = appendHex(m.b, ctrl.lo>>48, 4)
	m.f("P")
	m.f("2.4")
	m.skip(2)
	m.f("AL")
	m.f("NE")
	m.f("GBR")
	if ev.kind != "ORU" && ev.kind != "MDM" {
		m.seg("EVN")
		m.f(ev.kind)
		m.b = append(m.b, '|')
		m.b = appendHL7Time(m.b, ev.at)
		m.skip(3)
		m.b = append(m.b, '|')
		m.b = appendHL7Time(m.b, ev.at)
	} else if ev.kind == "MDM" {
		m.seg("EVN")
		m.f("T02")
		m.b = append(m.b, '|')
		m.b = appendHL7Time(m.b, ev.at)
	}
	m.b = append(m.b, p.segments(rc, ev.dup, false)...)
	if ev.kind == "A28" || ev.kind == "A31" || ev.kind == "A01" || ev.kind == "A04" {
		m.b = append(m.b, p.segments(rc, ev.dup, true)...)
	}
	switch ev.kind {
	case "A28", "A31":
		m.seg("PV1")
		m.f("1")
		m.f("N")
	case "A40":
		m.seg("MRG")
		m.raw(escaped(rc.dup.local) + "^^^" + o.ods + "^MR")
	default:
		p.pv1(&m, rc, ev)
	}
	switch ev.kind {
	case "ORU":
		p.oru(&m, rc, ev)
	case "MDM":
		p.mdm(&m, rc, ev)
	}
	return st[0], append([]byte(nil), m.done()...)
}

// segments returns the PID segment of the record's patient (or its
// duplicate), or with full the PD1 and NK1 segments that follow it in
// registrations; each is written once per record and reused, with the
// \r that starts it.
func (p *person) segments(rc *record, dup, full bool) []byte {
	c := &p.hl7Cache
	if c.rc != rc {
		*c = hl7Cache{rc: rc}
	}
	i := 0
	if dup {
		i = 1
	}
	if full {
		if c.full[i] == nil {
			var m er7
			p.pd1(&m)
			if p.kin.relation != "" && !dup {
				m.seg("NK1")
				m.f("1")
				m.f(strings.ToUpper(p.kin.family), p.kin.given)
				m.f(kinCode(p.kin.relation), p.kin.relation, "HL70063")
				m.skip(1)
				m.f(p.kin.phone)
			}
			c.full[i] = append([]byte{'\r'}, m.b...)
		}
		return c.full[i]
	}
	if c.pid[i] == nil {
		var m er7
		p.pid(&m, rc, dup)
		c.pid[i] = append([]byte{'\r'}, m.b...)
	}
	return c.pid[i]
}

// hl7Cache holds the segments that repeat in every message of a record.
type hl7Cache struct {
	rc   *record
	pid  [2][]byte
	full [2][]byte
}

func appendHex(b []byte, v uint64, n int) []byte {
	for i := n - 1; i >= 0; i-- {
		b = append(b, hexDigits[(v>>(4*uint(i)))&0xF])
	}
	return b
}

func (p *person) pid(m *er7, rc *record, dup bool) {
	o := &p.w.orgs[rc.org]
	m.seg("PID")
	m.f("1")
	m.skip(1)
	local, family, given, birth := rc.local, p.family, p.given, p.birth
	withNHS := true
	if dup {
		local, family, given, birth = rc.dup.local, rc.dup.family, rc.dup.given, rc.dup.birth
		withNHS = !rc.dup.noNHS
	}
	ids := escaped(local) + "^^^" + o.ods + "^MR"
	if withNHS {
		ids = p.nhs + "^^^NHS^NH~" + ids
	}
	m.raw(ids)
	m.skip(1)
	if dup {
		m.f(strings.ToUpper(family), given)
	} else {
		m.f(strings.ToUpper(family), given, p.middle, "", p.title)
	}
	m.skip(1)
	m.b = append(m.b, '|')
	m.b = appendHL7Date(m.b, birth)
	switch p.gender {
	case "male":
		m.f("M")
	case "female":
		m.f("F")
	default:
		m.f("O")
	}
	m.skip(2)
	a := p.addr
	if rc.oldAddr {
		a = p.prevAddr
	}
	m.f(a.line, "", a.town, "South Yorkshire", a.postcode, "GBR", "H")
	m.skip(1)
	var tel []string
	if p.phone != "" {
		tel = append(tel, escaped(p.phone)+"^PRN^PH")
	}
	if p.mobile != "" && !dup {
		tel = append(tel, escaped(p.mobile)+"^ORN^CP")
	}
	m.raw(strings.Join(tel, "~"))
	m.skip(8)
	e := ethnicities[rc.eth]
	if dup {
		e = ethnicities[ethnicNotStated]
	}
	m.f(e.hl7, e.code.display, "NHSETH")
	m.skip(6)
	if rc.knowsDeath && p.death != 0 && !dup {
		m.b = append(m.b, '|')
		m.b = appendHL7Time(m.b, p.death)
		m.f("Y")
	}
}

func (p *person) pd1(m *er7) {
	w := p.w
	gp := &w.orgs[p.gp]
	doc := &w.pracs[p.usualGP]
	m.seg("PD1")
	m.skip(2)
	m.f(gp.name, "", gp.ods)
	m.f(doc.reg, strings.ToUpper(doc.family), doc.given, "", "", "Dr", "", "", "GMP")
}

func (p *person) xcn(i int) string {
	if i < 0 {
		return ""
	}
	return p.w.pracs[i].xcn
}

// xcnOf writes a member of staff as an XCN: registration number, names,
// prefix, and the register as assigning authority.
func xcnOf(pr *practitioner) string {
	auth := ""
	switch jobRoles[pr.role].reg {
	case sysGMC:
		auth = "GMC"
	case sysGMP:
		auth = "GMP"
	case sysNMC:
		auth = "NMC"
	case sysGPhC:
		auth = "GPHC"
	case sysGDC:
		auth = "GDC"
	}
	return escaped(pr.reg) + "^" + escaped(strings.ToUpper(pr.family)) + "^" + escaped(pr.given) + "^^^" +
		escaped(jobRoles[pr.role].prefix) + "^^^" + auth
}

func (p *person) pv1(m *er7, rc *record, ev hl7Event) {
	w := p.w
	o := &w.orgs[rc.org]
	e := &rc.encs[ev.enc]
	m.seg("PV1")
	m.f("1")
	class, admType := "I", "E"
	switch e.kind {
	case encAE:
		class = "E"
	case encOutpatient:
		class, admType = "O", "R"
	case encElectiveAdmission, encDayCase:
		admType = "C"
	}
	m.f(class)
	loc := e.loc
	prior := -1
	if len(e.stays) > 0 {
		s := 0
		switch ev.kind {
		case "A02":
			s = ev.arg
			prior = e.stays[s-1].loc
		case "A03", "A08", "ORU", "MDM":
			s = len(e.stays) - 1
			for i, st := range e.stays {
				if ev.at >= st.start {
					s = i
				}
			}
		}
		loc = e.stays[s].loc
	}
	m.raw(p.place(loc))
	m.f(admType)
	m.skip(1)
	m.raw(p.place(prior))
	att := e.prac
	if ev.kind == "A08" && e.consultant >= 0 {
		att = w.consultant(p.r, rc.org, e.spec)
	}
	m.raw(p.xcn(att))
	m.raw(p.xcn(p.usualGP))
	m.skip(1)
	m.f(specialties[e.spec].tfc)
	m.skip(3)
	if e.admit != "" {
		m.f("19")
	} else {
		m.skip(1)
	}
	m.skip(4)
	m.raw(escaped(e.visit) + "^^^" + o.ods + "^VN")
	m.skip(16)
	if ev.kind == "A03" && e.kind != encAE {
		m.f(e.dischMeth)
		m.f(e.dischDest)
	} else if ev.kind == "A03" {
		m.skip(1)
		m.f(e.dischDest)
	} else {
		m.skip(2)
	}
	m.skip(6)
	m.b = append(m.b, '|')
	m.b = appendHL7Time(m.b, e.start)
	if ev.kind == "A03" || ((ev.kind == "ORU" || ev.kind == "MDM") && ev.at >= e.end) {
		m.b = append(m.b, '|')
		m.b = appendHL7Time(m.b, e.end)
	}
}

// place writes a location as a PL: point of care, facility (the site
// code), building.
func (p *person) place(l int) string {
	if l < 0 {
		return ""
	}
	return p.w.locs[l].pl
}

func plOf(w *world, l int) string {
	loc := &w.locs[l]
	site := loc
	if loc.parent >= 0 {
		site = &w.locs[loc.parent]
	}
	return escaped(loc.name) + "^^^" + escaped(site.code) + "^^^" + escaped(site.name)
}

// panel groups observations into the orders a laboratory or an
// observation system reports under.
func panel(k obsKind) (string, string) {
	switch k {
	case obsHaemoglobin:
		return "FBC", "Full blood count"
	case obsCRP:
		return "CRP", "C reactive protein"
	case obsCreatinine, obsEGFR, obsSodium, obsPotassium:
		return "UE", "Urea and electrolytes"
	case obsHbA1c:
		return "HBA1C", "Haemoglobin A1c"
	case obsCholesterol:
		return "LIPID", "Lipid profile"
	}
	return "OBS", "Observations"
}

func (p *person) oru(m *er7, rc *record, ev hl7Event) {
	e := &rc.encs[ev.enc]
	var lastPanel string
	orderN, obxN := 0, 0
	for _, x := range ev.args {
		o := &rc.obs[x]
		d := &obsDefs[o.kind]
		code, name := panel(o.kind)
		if code != lastPanel {
			lastPanel = code
			orderN++
			obxN = 0
			placer := e.visit + "-" + strconv.Itoa(x)
			m.seg("ORC")
			m.f("RE")
			m.f(placer)
			m.f(placer)
			m.skip(1)
			m.f("CM")
			m.seg("OBR")
			m.f(strconv.Itoa(orderN))
			m.f(placer)
			m.f(placer)
			m.f(code, name, "L")
			m.skip(2)
			m.b = append(m.b, '|')
			m.b = appendHL7Time(m.b, o.at)
			m.skip(14)
			m.b = append(m.b, '|')
			m.b = appendHL7Time(m.b, o.at+30*minute)
			m.skip(2)
			m.f("F")
		}
		system := "LN"
		if d.code.system == sysSNOMED {
			system = "SCT"
		}
		obx := func(c, display string, v float64, prec int, unit string, flag string, low, hi float64) {
			obxN++
			m.seg("OBX")
			m.f(strconv.Itoa(obxN))
			m.f("NM")
			m.f(c, display, system)
			m.skip(1)
			m.raw(strconv.FormatFloat(v, 'f', prec, 64))
			if unit != "" {
				m.f(unit, "", "UCUM")
			} else {
				m.skip(1)
			}
			switch {
			case low != 0 && hi != 0:
				m.f(strconv.FormatFloat(low, 'f', prec, 64) + "-" + strconv.FormatFloat(hi, 'f', prec, 64))
			case hi != 0:
				m.f("<" + strconv.FormatFloat(hi, 'f', prec, 64))
			case low != 0:
				m.f(">" + strconv.FormatFloat(low, 'f', prec, 64))
			default:
				m.skip(1)
			}
			m.f(flag)
			m.skip(2)
			m.f("F")
			m.skip(2)
			m.b = append(m.b, '|')
			m.b = appendHL7Time(m.b, o.at)
		}
		if o.kind == obsBP {
			obx(bpSystolic.code, bpSystolic.display, o.v, 0, "mm[Hg]", "", 0, 0)
			obx(bpDiastolic.code, bpDiastolic.display, o.v2, 0, "mm[Hg]", "", 0, 0)
			continue
		}
		flag := "N"
		switch {
		case d.hi != 0 && o.v > d.hi:
			flag = "H"
		case d.low != 0 && o.v < d.low:
			flag = "L"
		}
		if d.low == 0 && d.hi == 0 {
			flag = ""
		}
		obx(d.code.code, d.code.display, o.v, d.prec, d.ucum, flag, d.low, d.hi)
	}
}

func (p *person) mdm(m *er7, rc *record, ev hl7Event) {
	d := &rc.docs[ev.arg]
	m.seg("TXA")
	m.f("1")
	if d.typ.code == docDischarge.code {
		m.f("DS")
	} else {
		m.f("CN")
	}
	m.f("TX")
	m.b = append(m.b, '|')
	m.b = appendHL7Time(m.b, d.at)
	m.raw(p.xcn(d.prac))
	m.b = append(m.b, '|')
	m.b = appendHL7Time(m.b, d.at)
	m.skip(5)
	m.raw(d.id.String() + "^" + p.w.orgs[rc.org].ods)
	m.skip(4)
	m.f("AU")
	m.skip(1)
	m.f("AV")
	n := 0
	for _, line := range strings.Split(d.text, "\n") {
		if line == "" {
			continue
		}
		n++
		m.seg("OBX")
		m.f(strconv.Itoa(n))
		m.f("TX")
		m.f(d.typ.code, d.title, "SCT")
		m.skip(1)
		m.f(line)
		m.skip(5)
		m.f("F")
	}
}

func kinCode(relation string) string {
	switch relation {
	case "Wife", "Husband":
		return "SPO"
	case "Partner":
		return "DOM"
	case "Son", "Daughter":
		return "CHD"
	case "Mother":
		return "MTH"
	case "Father":
		return "FTH"
	}
	return "OTH"
}
