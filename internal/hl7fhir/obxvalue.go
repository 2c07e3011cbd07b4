package hl7fhir

import (
	"strings"

	"github.com/sharedcare/sharedcare/internal/hl7v2"
)

// unit is a result's unit: the text shown, and its UCUM code when it has
// one.
type unit struct {
	text, code string
}

// obsValue is an Observation's value[x], ready to write.
type obsValue struct {
	unit  unit
	write func(w *jw)
}

// unitOf reads OBX-6 (code^text^system).
func unitOf(r hl7v2.Rep) unit {
	code, text, system := r.Comp(1).String(), r.Comp(2).String(), strings.ToUpper(r.Comp(3).String())
	if code == `""` {
		code = ""
	}
	u := unit{text: text}
	if u.text == "" {
		u.text = code
	}
	if system == "UCUM" && code != "" && validURI(code) {
		u.code = code // the sender says so
	} else if c, ok := ucumCode(code); ok {
		u.code = c
	}
	if u.code == "" && u.text != code {
		if c, ok := ucumCode(u.text); ok {
			u.code = c
		}
	}
	return u
}

// quantity writes a Quantity member.
func (w *jw) quantity(k, value, comparator string, u unit) {
	w.obj(k)
	w.rawNum("value", value)
	w.str("comparator", comparator)
	w.str("unit", u.text)
	if u.code != "" {
		w.str("system", sysUCUM)
		w.str("code", u.code)
	}
	w.end()
}

// valueOf reads OBX-5 by its value type (OBX-2; guessed from the value
// when the sender left it empty).
func (b *builder) valueOf(obx *hl7v2.Segment, typ string) obsValue {
	f := obx.Field(5)
	u := unitOf(obx.Field(6).Rep(1))
	absent := obsValue{unit: u, write: func(w *jw) {
		w.concept("dataAbsentReason", "", coding{sysDataAbsent, "unknown", "Unknown"})
	}}
	if f.Empty() || f.Null() {
		return absent
	}
	text := func() string {
		var lines []string
		for _, r := range f.Reps() {
			lines = append(lines, r.Text())
		}
		return strings.TrimSpace(strings.Join(lines, "\n"))
	}
	str := func(s string) obsValue {
		if s == "" {
			return absent
		}
		return obsValue{unit: u, write: func(w *jw) { w.str("valueString", s) }}
	}
	first := f.Rep(1)
	if typ == "" {
		switch {
		case first.NumComps() > 1 && !f.Empty():
			typ = "CE"
		default:
			if _, _, ok := comparedNumber(first.Text()); ok {
				typ = "NM"
			} else {
				typ = "ST"
			}
		}
	}
	switch typ {
	case "NM":
		if v, cmp, ok := comparedNumber(first.Text()); ok {
			return obsValue{unit: u, write: func(w *jw) { w.quantity("valueQuantity", v, cmp, u) }}
		}
		return str(text())
	case "SN":
		return b.structuredNumeric(first, u)
	case "CE", "CWE", "CNE", "CF":
		return obsValue{unit: u, write: func(w *jw) { b.conceptOf(w, "valueCodeableConcept", first) }}
	case "DT", "TS", "DTM":
		if v, ok := b.dateTime(first.Comp(1).String()); ok {
			return obsValue{unit: u, write: func(w *jw) { w.str("valueDateTime", v) }}
		}
		return str(text())
	case "TM":
		if v, ok := fhirTime(first.Comp(1).String()); ok {
			return obsValue{unit: u, write: func(w *jw) { w.str("valueTime", v) }}
		}
		return str(text())
	case "ED", "RP":
		// Encapsulated data and references to it belong in a document
		// (MDM), not in an Observation's value.
		return obsValue{unit: u, write: func(w *jw) {
			w.concept("dataAbsentReason", "", coding{sysDataAbsent, "unsupported", "Unsupported"})
		}}
	}
	return str(text())
}

// structuredNumeric reads an SN: comparator^number^separator^number.
func (b *builder) structuredNumeric(r hl7v2.Rep, u unit) obsValue {
	cmp, n1, sep, n2 := r.Comp(1).String(), r.Comp(2).String(), r.Comp(3).String(), r.Comp(4).String()
	v1, ok1 := decimal(n1)
	v2, ok2 := decimal(n2)
	switch {
	case ok1 && n2 == "" && sep == "":
		c, ok := comparators[cmp]
		if ok {
			return obsValue{unit: u, write: func(w *jw) { w.quantity("valueQuantity", v1, c, u) }}
		}
	case ok1 && ok2 && sep == "-" && cmp == "":
		return obsValue{unit: u, write: func(w *jw) {
			w.obj("valueRange")
			w.quantity("low", v1, "", u)
			w.quantity("high", v2, "", u)
			w.end()
		}}
	case ok1 && ok2 && (sep == ":" || sep == "/") && cmp == "":
		return obsValue{unit: u, write: func(w *jw) {
			w.obj("valueRatio")
			w.quantity("numerator", v1, "", unit{})
			w.quantity("denominator", v2, "", unit{})
			w.end()
		}}
	}
	s := strings.TrimSpace(cmp + n1 + sep + n2)
	if s == "" {
		return obsValue{unit: u, write: func(w *jw) {
			w.concept("dataAbsentReason", "", coding{sysDataAbsent, "unknown", "Unknown"})
		}}
	}
	return obsValue{unit: u, write: func(w *jw) { w.str("valueString", s) }}
}

// comparators maps SN comparators to FHIR's ("=" and none are plain).
var comparators = map[string]string{"": "", "=": "", "<": "<", "<=": "<=", ">": ">", ">=": ">="}

// comparedNumber reads "4.5", "<15", ">= 2" as a FHIR decimal and
// comparator.
func comparedNumber(s string) (value, comparator string, ok bool) {
	s = strings.TrimSpace(s)
	for _, c := range []string{"<=", ">=", "<", ">", "="} {
		if strings.HasPrefix(s, c) {
			comparator, s = comparators[c], strings.TrimSpace(s[len(c):])
			break
		}
	}
	value, ok = decimal(s)
	return value, comparator, ok
}

// decimal turns an HL7 NM ("+007.50", ".5", "5.") into a FHIR decimal,
// keeping its significant digits ("7.50").
func decimal(s string) (string, bool) {
	s = strings.TrimSpace(s)
	neg := false
	switch {
	case strings.HasPrefix(s, "+"):
		s = s[1:]
	case strings.HasPrefix(s, "-"):
		neg, s = true, s[1:]
	}
	intPart, frac, hasDot := strings.Cut(s, ".")
	if intPart == "" && frac == "" || len(s) > 32 {
		return "", false
	}
	for _, p := range []string{intPart, frac} {
		for i := 0; i < len(p); i++ {
			if p[i] < '0' || p[i] > '9' {
				return "", false
			}
		}
	}
	intPart = strings.TrimLeft(intPart, "0")
	if intPart == "" {
		intPart = "0"
	}
	out := intPart
	if hasDot && frac != "" {
		out += "." + frac
	}
	if neg && strings.Trim(out, "0.") != "" {
		out = "-" + out
	}
	return out, true
}

// fhirTime turns an HL7 TM (HHMM[SS[.S…]]) into a FHIR time.
func fhirTime(s string) (string, bool) {
	if i := strings.IndexAny(s, "+-"); i >= 0 {
		s = s[:i] // FHIR times have no zone
	}
	body, frac, _ := strings.Cut(s, ".")
	if len(body) != 2 && len(body) != 4 && len(body) != 6 || !isDigits(body) || (frac != "" && !isDigits(frac)) {
		return "", false
	}
	for len(body) < 6 {
		body += "00"
	}
	if body[:2] > "23" || body[2:4] > "59" || body[4:] > "59" {
		return "", false
	}
	out := body[:2] + ":" + body[2:4] + ":" + body[4:]
	if frac != "" {
		out += "." + frac
	}
	return out, true
}

// referenceRange writes OBX-7 as a referenceRange: low and high when it
// reads as "3.5-5.3", "[ 4.2 - 6.0 ]", "<4.5" or ">1.5" (in the result's
// unit), its text otherwise.
func (b *builder) referenceRange(w *jw, s string, u unit) {
	raw := strings.TrimSpace(s)
	t := strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(raw, "["), "]"))
	if t == "" || raw == `""` {
		return
	}
	w.arr("referenceRange")
	w.obj("")
	if low, high, ok := parseRange(t); ok {
		if low != "" {
			w.quantity("low", low, "", u)
		}
		if high != "" {
			w.quantity("high", high, "", u)
		}
	} else {
		w.str("text", raw)
	}
	w.end()
	w.end()
}

// parseRange reads "a-b", "a - b", "a to b", "<b", "<=b", ">a", ">=a".
func parseRange(s string) (low, high string, ok bool) {
	switch {
	case strings.HasPrefix(s, "<"):
		v, ok := decimal(strings.TrimPrefix(strings.TrimPrefix(s, "<"), "="))
		return "", v, ok
	case strings.HasPrefix(s, ">"):
		v, ok := decimal(strings.TrimPrefix(strings.TrimPrefix(s, ">"), "="))
		return v, "", ok
	}
	// The separator is the first "-" after a digit (a leading "-" is a
	// sign), or " to ".
	if a, c, found := strings.Cut(s, " to "); found {
		l, ok1 := decimal(a)
		h, ok2 := decimal(c)
		return l, h, ok1 && ok2
	}
	for i := 1; i < len(s); i++ {
		if s[i] == '-' && (s[i-1] >= '0' && s[i-1] <= '9' || s[i-1] == ' ' || s[i-1] == '.') {
			l, ok1 := decimal(s[:i])
			h, ok2 := decimal(s[i+1:])
			if ok1 && ok2 {
				return l, h, true
			}
		}
	}
	return "", "", false
}
