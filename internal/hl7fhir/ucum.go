package hl7fhir

import "strings"

// Units. OBX-6 gives a unit as code^text^system; FHIR wants a UCUM code
// (system http://unitsofmeasure.org) whenever the unit is one. Senders
// often write UCUM without saying so, or their own spellings (UMOLL,
// MDC_DIM_MMHG): a unit is taken as UCUM when it parses as a UCUM
// expression of the atoms listed here (the ones clinical results use), or
// when it is one of the well-known spellings in unitSynonyms.

// unitSynonyms maps spellings of laboratory systems and of IEEE 11073
// (MDC_DIM_*) to UCUM.
var unitSynonyms = map[string]string{
	"UMOLL": "umol/L", "MMOLL": "mmol/L", "NMOLL": "nmol/L", "PMOLL": "pmol/L", "MOLL": "mol/L",
	"GL": "g/L", "MGL": "mg/L", "UGL": "ug/L", "GDL": "g/dL", "MGDL": "mg/dL", "IUL": "[IU]/L", "UL": "U/L",
	"MLMIN": "mL/min", "PERCENT": "%", "PCT": "%", "FL": "fL", "PG": "pg", "SECS": "s", "SEC": "s",
	"MMHG": "mm[Hg]", "mmHg": "mm[Hg]", "BPM": "/min", "bpm": "/min", "DEGC": "Cel", "degC": "Cel", "°C": "Cel",
	"x10*9/L": "10*9/L", "x10*12/L": "10*12/L", "x10^9/L": "10*9/L", "x10^12/L": "10*12/L",
	"10^9/L": "10*9/L", "10^12/L": "10*12/L", "X10E9/L": "10*9/L", "X10E12/L": "10*12/L",
	"MDC_DIM_MMHG": "mm[Hg]", "MDC_DIM_PERCENT": "%", "MDC_DIM_BEAT_PER_MIN": "/min", "MDC_DIM_RESP_PER_MIN": "/min",
	"MDC_DIM_DEGC": "Cel", "MDC_DIM_X_L_PER_MIN": "L/min", "MDC_DIM_KILO_G": "kg", "MDC_DIM_CENTI_M": "cm",
	"MDC_DIM_KG_PER_M_SQ": "kg/m2", "MDC_DIM_MILLI_MOLE_PER_L": "mmol/L", "MDC_DIM_DIMLESS": "1",
}

// ucumAtoms are the UCUM atoms accepted, with whether they take a metric
// prefix.
var ucumAtoms = map[string]bool{
	"m": true, "g": true, "s": true, "L": true, "l": true, "mol": true, "eq": true, "K": true, "A": true,
	"V": true, "Hz": true, "N": true, "Pa": true, "J": true, "W": true, "C": true, "Ohm": true, "S": true,
	"F": true, "T": true, "Wb": true, "H": true, "cd": true, "lm": true, "lx": true, "Bq": true, "Gy": true,
	"Sv": true, "kat": true, "U": true, "[iU]": true, "[IU]": true, "bar": true, "t": true, "osm": true,
	"Cel": true, "m[Hg]": true, "m[H2O]": true, "cal": true, "sr": true, "rad": true, "u": true, "B": true,
	"min": false, "h": false, "d": false, "wk": false, "mo": false, "a": false, "%": false, "10*": false,
	"10^": false, "[ppm]": false, "[ppb]": false, "[ppth]": false, "[pptr]": false, "[degF]": false,
	"[pH]": false, "[drp]": false, "[arb'U]": false, "[CFU]": false, "[HPF]": false, "[LPF]": false,
	"[in_i]": false, "[ft_i]": false, "[lb_av]": false, "[oz_av]": false, "[mi_i]": false, "[stone_av]": false,
	"[beth'U]": false, "[todd'U]": false, "[APL'U]": false, "[GPL'U]": false, "[MPL'U]": false,
	"[mclg'U]": false, "[Lf]": false, "[USP'U]": false, "deg": false, "[tsp_us]": false, "[tbs_us]": false,
	"[gal_br]": false, "[pt_br]": false, "[foz_br]": false, "[cup_us]": false, "[smgy'U]": false,
}

// ucumPrefixes are the metric prefixes, two-letter ones first.
var ucumPrefixes = []string{"da", "Ki", "Mi", "Gi", "Ti", "Y", "Z", "E", "P", "T", "G", "M", "k", "h", "d", "c", "m", "u", "n", "p", "f", "a", "z", "y"}

// ucumCode returns the UCUM code for a unit as a sender wrote it, and
// whether it is one.
func ucumCode(unit string) (string, bool) {
	if u, ok := unitSynonyms[unit]; ok {
		return u, true
	}
	if validUCUM(unit) {
		return unit, true
	}
	return "", false
}

// validUCUM reports whether s parses as a UCUM expression (the case
// sensitive grammar) over the atoms in ucumAtoms.
func validUCUM(s string) bool {
	if s == "" || len(s) > 64 || strings.ContainsAny(s, " \t") {
		return false
	}
	p := ucumParser{s: s}
	if p.peek() == '/' {
		p.i++
	}
	if !p.term(0) {
		return false
	}
	return p.i == len(p.s)
}

type ucumParser struct {
	s string
	i int
}

func (p *ucumParser) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

func (p *ucumParser) term(depth int) bool {
	if depth > 8 || !p.component(depth) {
		return false
	}
	for c := p.peek(); c == '.' || c == '/'; c = p.peek() {
		p.i++
		if !p.component(depth) {
			return false
		}
	}
	return true
}

func (p *ucumParser) component(depth int) bool {
	switch c := p.peek(); {
	case c == '(':
		p.i++
		if !p.term(depth+1) || p.peek() != ')' {
			return false
		}
		p.i++
		return p.annotation()
	case c == '{':
		return p.annotation()
	case c >= '0' && c <= '9':
		// A factor, unless it is the atom 10* or 10^.
		if strings.HasPrefix(p.s[p.i:], "10*") || strings.HasPrefix(p.s[p.i:], "10^") {
			p.i += 3
			return p.exponent(true) && p.annotation()
		}
		for p.peek() >= '0' && p.peek() <= '9' {
			p.i++
		}
		return p.annotation()
	}
	if !p.simpleUnit() {
		return false
	}
	return p.exponent(false) && p.annotation()
}

// simpleUnit reads an atom, with a prefix if the atom takes one: the
// longest atom that ends before an operator, exponent or annotation.
func (p *ucumParser) simpleUnit() bool {
	end := p.i
	for end < len(p.s) {
		c := p.s[end]
		if c == '[' {
			j := strings.IndexByte(p.s[end:], ']')
			if j < 0 {
				return false
			}
			end += j + 1
			continue
		}
		if c == '.' || c == '/' || c == '{' || c == '(' || c == ')' || c == '+' || c == '-' || (c >= '0' && c <= '9') {
			break
		}
		end++
	}
	sym := p.s[p.i:end]
	if sym == "" {
		return false
	}
	if _, ok := ucumAtoms[sym]; ok {
		p.i = end
		return true
	}
	for _, pre := range ucumPrefixes {
		if metric, ok := ucumAtoms[strings.TrimPrefix(sym, pre)]; ok && metric && strings.HasPrefix(sym, pre) {
			p.i = end
			return true
		}
	}
	return false
}

// exponent reads an optional signed integer (required after 10*).
func (p *ucumParser) exponent(required bool) bool {
	if c := p.peek(); c == '+' || c == '-' {
		p.i++
		required = true
	}
	start := p.i
	for p.peek() >= '0' && p.peek() <= '9' {
		p.i++
	}
	return !required || p.i > start
}

// annotation reads an optional {text}.
func (p *ucumParser) annotation() bool {
	if p.peek() != '{' {
		return true
	}
	j := strings.IndexByte(p.s[p.i:], '}')
	if j < 0 || strings.ContainsAny(p.s[p.i+1:p.i+j], "{") {
		return false
	}
	p.i += j + 1
	return true
}
