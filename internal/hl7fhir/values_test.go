package hl7fhir

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/sharedcare/sharedcare/internal/hl7v2"
)

func TestDecimal(t *testing.T) {
	tests := []struct{ in, want string }{
		{"4.5", "4.5"}, {"+007.50", "7.50"}, {".5", "0.5"}, {"5.", "5"}, {"-0", "0"}, {"-1.20", "-1.20"},
		{"0", "0"}, {" 12 ", "12"}, {"000", "0"},
		{"", ""}, {"-", ""}, {".", ""}, {"1e5", ""}, {"12a", ""}, {"1.2.3", ""}, {"--1", ""}, {"1,5", ""},
	}
	for _, tc := range tests {
		got, ok := decimal(tc.in)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("decimal(%q) = %q %v, want %q", tc.in, got, ok, tc.want)
		}
	}
	cmps := []struct{ in, v, c string }{
		{"<15", "15", "<"}, {">= 2", "2", ">="}, {"=3", "3", ""}, {"<=0.5", "0.5", "<="}, {"7", "7", ""},
	}
	for _, tc := range cmps {
		v, c, ok := comparedNumber(tc.in)
		if !ok || v != tc.v || c != tc.c {
			t.Errorf("comparedNumber(%q) = %q %q %v", tc.in, v, c, ok)
		}
	}
}

func TestParseRange(t *testing.T) {
	tests := []struct {
		in, low, high string
		ok            bool
	}{
		{"3.5-5.3", "3.5", "5.3", true},
		{"3.5 - 5.3", "3.5", "5.3", true},
		{"-1.0-2.0", "-1.0", "2.0", true},
		{"-5 - -1", "-5", "-1", true},
		{"150 to 400", "150", "400", true},
		{"<4.5", "", "4.5", true},
		{"< 4.5", "", "4.5", true},
		{"<=4.5", "", "4.5", true},
		{">1.5", "1.5", "", true},
		{"negative", "", "", false},
		{"115-165 g/L", "", "", false},
		{"1-", "", "", false},
	}
	for _, tc := range tests {
		low, high, ok := parseRange(tc.in)
		if low != tc.low || high != tc.high || ok != tc.ok {
			t.Errorf("parseRange(%q) = %q %q %v", tc.in, low, high, ok)
		}
	}
}

func TestUCUM(t *testing.T) {
	valid := []string{"mmol/L", "umol/L", "g/dL", "g/dl", "mm[Hg]", "%", "/min", "10*9/L", "10*12/L", "kg/m2", "mL/min/{1.73_m2}",
		"{score}", "Cel", "[degF]", "[IU]/L", "U/L", "fL", "pg", "s", "h", "mo", "a", "m2", "cm[H2O]", "1", "/[HPF]", "ng/mL",
		"mg/(24.h)", "10*3/uL", "[pH]", "nmol/L", "ug/L", "kPa", "[arb'U]/mL", "meq/L", "mosm/kg", "L/min", "dB"}
	for _, u := range valid {
		if !validUCUM(u) {
			t.Errorf("validUCUM(%q) = false", u)
		}
	}
	invalid := []string{"", "mmHg", "UMOLL", "x10*9/L", "PERCENT", "mg / L", "mg//L", "(mg", "{open", "kmin", "widgets", "10*", "mg/", "[Hg"}
	for _, u := range invalid {
		if validUCUM(u) {
			t.Errorf("validUCUM(%q) = true", u)
		}
	}
	for in, want := range map[string]string{"UMOLL": "umol/L", "MDC_DIM_MMHG": "mm[Hg]", "x10*9/L": "10*9/L", "mmol/L": "mmol/L"} {
		if got, ok := ucumCode(in); !ok || got != want {
			t.Errorf("ucumCode(%q) = %q %v", in, got, ok)
		}
	}
	if _, ok := ucumCode("widgets"); ok {
		t.Error("widgets is UCUM")
	}
}

func TestTimes(t *testing.T) {
	b := newBuilder(New(Options{}), hl7v2.NewMessage(hl7v2.Delimiters{}), "RHQ")
	tests := []struct{ in, dateTime, instant, date string }{
		{"2024", "2024", "", "2024"},
		{"202407", "2024-07", "", "2024-07"},
		{"20240716", "2024-07-16", "", "2024-07-16"},
		{"2024071609", "2024-07-16T09:00:00+01:00", "", "2024-07-16"},
		{"202407160930", "2024-07-16T09:30:00+01:00", "", "2024-07-16"},
		{"20240716093015", "2024-07-16T09:30:15+01:00", "2024-07-16T09:30:15+01:00", "2024-07-16"},
		{"20240116093015", "2024-01-16T09:30:15Z", "2024-01-16T09:30:15Z", "2024-01-16"},
		{"20240716093015.120", "2024-07-16T09:30:15.120+01:00", "2024-07-16T09:30:15.12+01:00", "2024-07-16"},
		{"20240716093015-0500", "2024-07-16T09:30:15-05:00", "2024-07-16T09:30:15-05:00", "2024-07-16"},
		{"19720229000000", "1972-02-29T00:00:00Z", "1972-02-29T00:00:00Z", "1972-02-29"},
		{"19700229", "", "", ""},
		{"", "", "", ""},
	}
	for _, tc := range tests {
		dt, _ := b.dateTime(tc.in)
		in, _ := b.instant(tc.in)
		d, _ := b.date(tc.in)
		if dt != tc.dateTime || in != tc.instant || d != tc.date {
			t.Errorf("%q: dateTime %q instant %q date %q, want %q %q %q", tc.in, dt, in, d, tc.dateTime, tc.instant, tc.date)
		}
	}
	utc := newBuilder(New(Options{TimeZone: time.UTC}), hl7v2.NewMessage(hl7v2.Delimiters{}), "RHQ")
	if dt, _ := utc.dateTime("20240716093015"); dt != "2024-07-16T09:30:15Z" {
		t.Errorf("UTC option: %q", dt)
	}
	for in, want := range map[string]string{"0815": "08:15:00", "081530": "08:15:30", "08": "08:00:00", "081530.5+0100": "08:15:30.5", "2460": "", "8": "", "ab": ""} {
		if got, _ := fhirTime(in); got != want {
			t.Errorf("fhirTime(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCodesAndIdentifiers(t *testing.T) {
	for s, want := range map[string]bool{"RHQ": true, "RHQNG": true, "C88922": true, "SFAC": true, "12345": false, "AB": false,
		"rhq": false, "R H Q": false, "TOOLONGX": false, "": false} {
		if looksLikeODS(s) != want {
			t.Errorf("looksLikeODS(%q) = %v", s, !want)
		}
	}
	mp := New(Options{Facilities: map[string]string{"Simulated Hospital": "X99XX"}})
	for ns, want := range map[string]string{"RHQ": "RHQ", "RFF01": "RFF01", "C88922": "C88922", "ICE": "", "WINPATH": "",
		"SIMULATOR MRN": "", "Simulated Hospital": "X99XX", "SFAC": "SFAC", "": ""} {
		if got := mp.authorityODS(ns, "SFAC"); got != want {
			t.Errorf("authorityODS(%q) = %q, want %q", ns, got, want)
		}
	}
	for in, want := range map[string]string{
		"M123":                 "M123",
		"a b":                  "a%20b",
		"x,y|z$w\\v":           "x%5C%2Cy%5C%7Cz%5C%24w%5C%5Cv",
		"https://x.example/Id": "https://x.example/Id",
		"50%&=+#":              "50%25%26%3D%2B%23",
	} {
		if got := searchValue(in); got != want {
			t.Errorf("searchValue(%q) = %q, want %q", in, got, want)
		}
	}
	b := newBuilder(mp, hl7v2.NewMessage(hl7v2.Delimiters{}), "RHQ")
	for name, want := range map[string]string{
		"LN": sysLOINC, "sct": sysSNOMED, "HL70078": "http://terminology.hl7.org/CodeSystem/v2-0078",
		"WinPath": "https://sharedcare.example/CodeSystem/RHQ/winpath", "": "https://sharedcare.example/CodeSystem/RHQ/local",
		"99zzz local": "https://sharedcare.example/CodeSystem/RHQ/99zzz-local", "http://x.example/cs": "http://x.example/cs",
		"http://bad uri": "https://sharedcare.example/CodeSystem/RHQ/http-bad-uri",
	} {
		if got := b.systemOf(name); got != want {
			t.Errorf("systemOf(%q) = %q, want %q", name, got, want)
		}
	}
	if code(" a \t b  ") != "a b" || code("ab") != "ab" {
		t.Error("code")
	}
}

func TestFacilities(t *testing.T) {
	msg := func(fac string) *hl7v2.Message {
		m, err := hl7v2.Parse([]byte("MSH|^~\\&|PAS|" + fac + "|||20240101||ADT^A28|1|P|2.4\rPID|1||M1^^^X^MR"))
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	tests := []struct {
		fac, want string
		opts      Options
	}{
		{"RHQ", "RHQ", Options{}},
		{"Sheffield PAS^RHQ^L", "RHQ", Options{}},
		{"Sheffield PAS", "", Options{}},
		{"Sheffield PAS", "RHQ", Options{Facilities: map[string]string{"Sheffield PAS": "RHQ"}}},
		{"LOCAL^2.16.840.1.1^ISO", "RHQ", Options{Facilities: map[string]string{"2.16.840.1.1": "RHQ"}}},
		{"SFAC", "RXX", Options{Facilities: map[string]string{"SFAC": "RXX"}}},
	}
	for _, tc := range tests {
		r, err := Map(msg(tc.fac), tc.opts)
		if tc.want == "" {
			if e, ok := err.(*hl7v2.Error); !ok || e.Location != "MSH-4" || e.AckCode() != "AR" {
				t.Errorf("%q: error %v", tc.fac, err)
			}
			continue
		}
		if err != nil || r.Source != tc.want {
			t.Errorf("%q: source %v %v, want %s", tc.fac, r, err, tc.want)
			continue
		}
		if !strings.Contains(string(r.Bundle), `"source":"https://fhir.nhs.uk/Id/ods-organization-code|`+tc.want+`"`) {
			t.Errorf("%q: meta.source not %s", tc.fac, tc.want)
		}
	}
}

func TestJSONWriter(t *testing.T) {
	var w jw
	w.obj("")
	w.str("a", "x")
	w.arr("empty")
	w.obj("")
	w.str("b", "  ")
	w.end()
	w.end()
	w.obj("o")
	w.arr("inner")
	w.end()
	w.end()
	w.str("c", "quote\" back\\ nl\n tab\t ctl\x01\x0c bad\xff sep\u2028x")
	w.arr("list")
	w.str("", "1")
	w.obj("")
	w.end()
	w.str("", "2")
	w.end()
	w.rawNum("n", "1.50")
	w.boolean("t", true)
	w.base64("d", []byte("hi"))
	w.ref("r", "")
	w.end()
	got := string(w.b)
	want := `{"a":"x","c":"quote\" back\\ nl\n tab\t ctl bad` + "\ufffd" + ` sep\u2028x","list":["1","2"],"n":1.50,"t":true,"d":"aGk="}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if !json.Valid(w.b) {
		t.Error("invalid JSON")
	}
}
