package synth

import (
	"encoding/base64"
	"strconv"
	"unicode/utf8"
)

// jw appends JSON to a byte slice. The generator writes millions of small
// resources a minute; building maps or structs for encoding/json would cost
// more than everything else together, so output is appended directly. Keys
// are trusted ASCII literals; string values are escaped.
//
// more records whether the next member or item needs a comma before it.
type jw struct {
	b    []byte
	more bool
}

func (w *jw) sep() {
	if w.more {
		w.b = append(w.b, ',')
	}
}

// key starts a member; the value that follows needs no separator.
func (w *jw) key(k string) {
	w.sep()
	w.b = append(w.b, '"')
	w.b = append(w.b, k...)
	w.b = append(w.b, '"', ':')
	w.more = false
}

// obj starts an object member (k != "") or an object item of an array.
func (w *jw) obj(k string) {
	if k != "" {
		w.key(k)
	} else {
		w.sep()
	}
	w.b = append(w.b, '{')
	w.more = false
}

func (w *jw) end() {
	w.b = append(w.b, '}')
	w.more = true
}

// arr starts an array member.
func (w *jw) arr(k string) {
	w.key(k)
	w.b = append(w.b, '[')
	w.more = false
}

func (w *jw) endArr() {
	w.b = append(w.b, ']')
	w.more = true
}

// str writes a string member.
func (w *jw) str(k, v string) {
	w.key(k)
	w.quote(v)
	w.more = true
}

// item writes a string item of an array.
func (w *jw) item(v string) {
	w.sep()
	w.quote(v)
	w.more = true
}

func (w *jw) boolean(k string, v bool) {
	w.key(k)
	w.b = strconv.AppendBool(w.b, v)
	w.more = true
}

func (w *jw) integer(k string, v int) {
	w.key(k)
	w.b = strconv.AppendInt(w.b, int64(v), 10)
	w.more = true
}

// decimal writes a number with prec digits after the point: FHIR decimals
// keep their written precision, so 5.0 and 5 are different values.
func (w *jw) decimal(k string, v float64, prec int) {
	w.key(k)
	w.b = strconv.AppendFloat(w.b, v, 'f', prec, 64)
	w.more = true
}

func (w *jw) date(k string, t ts) {
	w.key(k)
	w.b = append(w.b, '"')
	w.b = appendDate(w.b, t)
	w.b = append(w.b, '"')
	w.more = true
}

func (w *jw) dateTime(k string, t ts) {
	w.key(k)
	w.b = append(w.b, '"')
	w.b = appendDateTime(w.b, t)
	w.b = append(w.b, '"')
	w.more = true
}

// id writes a member whose value is a generated id.
func (w *jw) id(k string, u uid) {
	w.key(k)
	w.b = append(w.b, '"')
	w.b = u.append(w.b)
	w.b = append(w.b, '"')
	w.more = true
}

// ref writes {"reference":"Type/id"} as member k, or as an array item when
// k is "".
func (w *jw) ref(k, typ string, u uid) {
	w.obj(k)
	w.key("reference")
	w.b = append(w.b, '"')
	w.b = append(w.b, typ...)
	w.b = append(w.b, '/')
	w.b = u.append(w.b)
	w.b = append(w.b, '"')
	w.more = true
	w.end()
}

// base64 writes a string member holding data in standard base64.
func (w *jw) base64(k string, data []byte) {
	w.key(k)
	w.b = append(w.b, '"')
	w.b = base64.StdEncoding.AppendEncode(w.b, data)
	w.b = append(w.b, '"')
	w.more = true
}

// quote appends s as a JSON string. The fast path covers the generator's
// own ASCII text; anything else is escaped as encoding/json would.
func (w *jw) quote(s string) {
	w.b = append(w.b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				w.b = append(w.b, s[start:i]...)
				w.b = append(w.b, `\ufffd`...)
				i += size
				start = i
				continue
			}
			if r == '\u2028' || r == '\u2029' {
				w.b = append(w.b, s[start:i]...)
				w.b = append(w.b, `\u202`...)
				w.b = append(w.b, hexDigits[r&0xF])
				i += size
				start = i
				continue
			}
			i += size
			continue
		}
		w.b = append(w.b, s[start:i]...)
		switch c {
		case '"', '\\':
			w.b = append(w.b, '\\', c)
		case '\n':
			w.b = append(w.b, '\\', 'n')
		case '\r':
			w.b = append(w.b, '\\', 'r')
		case '\t':
			w.b = append(w.b, '\\', 't')
		default:
			w.b = append(w.b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
		}
		i++
		start = i
	}
	w.b = append(w.b, s[start:]...)
	w.b = append(w.b, '"')
}

const hexDigits = "0123456789abcdef"

// Coded values.

// code is one coding: a code from a code system, with its display.
type code struct {
	system, code, display string
}

// coding writes a Coding as member k, or as an array item when k is "".
func (w *jw) coding(k string, c code) {
	w.obj(k)
	if c.system != "" {
		w.str("system", c.system)
	}
	w.str("code", c.code)
	if c.display != "" {
		w.str("display", c.display)
	}
	w.end()
}

// concept writes a CodeableConcept of one coding (member k, or an array
// item when k is "").
func (w *jw) concept(k string, c code) {
	w.obj(k)
	w.arr("coding")
	w.coding("", c)
	w.endArr()
	w.end()
}

// concepts writes an array member of one CodeableConcept.
func (w *jw) concepts(k string, c code) {
	w.arr(k)
	w.concept("", c)
	w.endArr()
}

// text writes a CodeableConcept of text only.
func (w *jw) textConcept(k, text string) {
	w.obj(k)
	w.str("text", text)
	w.end()
}

// quantity writes a Quantity in UCUM.
func (w *jw) quantity(k string, v float64, prec int, unit, ucum string) {
	w.obj(k)
	w.decimal("value", v, prec)
	w.str("unit", unit)
	w.str("system", sysUCUM)
	w.str("code", ucum)
	w.end()
}

// period writes a Period; a zero end is left out (still open).
func (w *jw) period(k string, start, end ts) {
	w.obj(k)
	if start != 0 {
		w.dateTime("start", start)
	}
	if end != 0 {
		w.dateTime("end", end)
	}
	w.end()
}

// extConcept writes an extension item with a valueCodeableConcept.
func (w *jw) extConcept(url string, c code) {
	w.obj("")
	w.str("url", url)
	w.concept("valueCodeableConcept", c)
	w.end()
}
