package mpi

import (
	"errors"
	"math"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestNormName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Smith", "smith"},
		{"SMITH", "smith"},
		{"  smith  ", "smith"},
		{"O'Brien", "obrien"},
		{"D’Arcy", "darcy"},
		{"Smith-Jones", "smith jones"},
		{"Smith - Jones", "smith jones"},
		{"Smith  Jones", "smith jones"},
		{"Zoë", "zoe"},
		{"Renée", "renee"},
		{"Siân", "sian"},
		{"Nuñez", "nunez"},
		{"Wiśniewski", "wisniewski"},
		{"Łukasz", "lukasz"},
		{"Søren", "soren"},
		{"Strauß", "strauss"},
		{"St. John", "st john"},
		{"", ""},
		{"---", ""},
		{"李", "李"},
	}
	for _, tt := range tests {
		if got := normName(tt.in); got != tt.want {
			t.Errorf("normName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestNormLinePhoneEmail(t *testing.T) {
	tests := []struct {
		f        func(string) string
		in, want string
	}{
		{normLine, "129 Moor Lane", "129 moor ln"},
		{normLine, "129, MOOR LN.", "129 moor ln"},
		{normLine, "Flat 2, 14 Abbeydale Road", "flat 2 14 abbeydale rd"},
		{normPhone, "0114 496 0438", "01144960438"},
		{normPhone, "+44 (0)114 496 0438", "01144960438"},
		{normPhone, "+44 114 496 0438", "01144960438"},
		{normPhone, "ext 12", ""},
		{normEmail, " Jo.Bloggs@Example.org ", "jo.bloggs@example.org"},
		{normEmail, "not an address", ""},
	}
	for _, tt := range tests {
		if got := tt.f(tt.in); got != tt.want {
			t.Errorf("(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestShareWord(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"smith jones", "jones", true},
		{"smith jones", "smith", true},
		{"jones", "smith jones", true},
		{"smith jones", "jones smith", true},
		{"smith", "smithson", false},
		{"a b", "b", false}, // single letters are initials, not names
	}
	for _, tt := range tests {
		if got := shareWord(tt.a, tt.b); got != tt.want {
			t.Errorf("shareWord(%q, %q) = %v", tt.a, tt.b, got)
		}
	}
}

func TestJaroWinkler(t *testing.T) {
	// Published values (Winkler 1990, and common test suites).
	tests := []struct {
		a, b string
		want float64
	}{
		{"martha", "marhta", 0.961},
		{"dwayne", "duane", 0.840},
		{"dixon", "dicksonx", 0.813},
		{"william", "williams", 0.975},
		{"", "foo", 0},
		{"a", "a", 1},
		{"abc", "xyz", 0},
		{"smith", "smyth", 0.893},
	}
	for _, tt := range tests {
		got := jaroWinkler(tt.a, tt.b)
		if math.Abs(got-tt.want) > 0.0005 {
			t.Errorf("jaroWinkler(%q, %q) = %.4f, want %.3f", tt.a, tt.b, got, tt.want)
		}
		if r := jaroWinkler(tt.b, tt.a); math.Abs(r-got) > 1e-12 {
			t.Errorf("not symmetric: %q %q: %v %v", tt.a, tt.b, got, r)
		}
	}
	long := strings.Repeat("ab", 50)
	if got := jaroWinkler(long, long+"c"); got < 0.99 {
		t.Errorf("long strings: %v", got)
	}
}

func TestNYSIIS(t *testing.T) {
	// Values from common implementations' test data, untruncated.
	tests := []struct{ in, want string }{
		{"Worthy", "WARTY"}, {"Ogata", "OGAT"}, {"montgomery", "MANTGANARY"},
		{"Costales", "CASTAL"}, {"Tu", "T"}, {"martincevic", "MARTANCAFAC"},
		{"Catherine", "CATARAN"}, {"Katherine", "CATARAN"}, {"Katerina", "CATARAN"},
		{"Johnathan", "JANATAN"}, {"Jonathan", "JANATAN"}, {"John", "JAN"},
		{"Teresa", "TARAS"}, {"Theresa", "TARAS"}, {"Jessica", "JASAC"},
		{"Joshua", "JAS"}, {"Bosch", "BAS"}, {"Lapher", "LAFAR"}, {"wiyh", "WY"},
		{"MacArthur", "MCARTAR"}, {"Pheenard", "FANAD"}, {"Schmittie", "SNATY"},
		{"Knaqze", "NAGS"}, {"Knokno", "NAN"}, {"Knoko", "NAC"}, {"Macaw", "MC"},
		{"", ""}, {"T", "T"}, {"S", "S"}, {"K", "C"}, {"PFEISTER", "FASTAR"}, {"SARAH", "SAR"},
	}
	for _, tt := range tests {
		if got := nysiis(strings.ToLower(tt.in)); got != tt.want {
			t.Errorf("nysiis(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	// Spellings that should share a code.
	for _, p := range [][2]string{{"mohammed", "muhammad"}, {"cathryn", "kathryn"}, {"davies", "davis"}, {"hussain", "hussein"}} {
		if a, b := nysiis(p[0]), nysiis(p[1]); a != b {
			t.Errorf("nysiis(%s) = %s, nysiis(%s) = %s", p[0], a, p[1], b)
		}
	}
}

func TestNicknames(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"bob", "robert", true},
		{"robert", "bob", true},
		{"rob", "bob", true},
		{"liz", "elizabeth", true},
		{"beth", "liz", true},
		{"chris", "christine", true},
		{"chris", "christopher", true},
		{"christine", "christopher", false},
		{"robert", "william", false},
		{"alfred", "frederick", false},
		{"mohammed", "muhammad", true},
	}
	for _, tt := range tests {
		if got := sameFormalName(tt.a, tt.b); got != tt.want {
			t.Errorf("sameFormalName(%q, %q) = %v", tt.a, tt.b, got)
		}
	}
}

func TestParsePostcode(t *testing.T) {
	tests := []struct {
		in                     string
		want, sector, district string
		area                   string
		err                    bool
	}{
		{in: "S7 0SB", want: "S7 0SB", sector: "S7 0", district: "S7", area: "S"},
		{in: "s70sb", want: "S7 0SB", sector: "S7 0", district: "S7", area: "S"},
		{in: " dn12  3ab ", want: "DN12 3AB", sector: "DN12 3", district: "DN12", area: "DN"},
		{in: "EC1A 1BB", want: "EC1A 1BB", sector: "EC1A 1", district: "EC1A", area: "EC"},
		{in: "W1A 0AX", want: "W1A 0AX", sector: "W1A 0", district: "W1A", area: "W"},
		{in: "M1 1AE", want: "M1 1AE", sector: "M1 1", district: "M1", area: "M"},
		{in: "B33 8TH", want: "B33 8TH", sector: "B33 8", district: "B33", area: "B"},
		{in: "CR2 6XH", want: "CR2 6XH", sector: "CR2 6", district: "CR2", area: "CR"},
		{in: "ZZ99 3VZ", want: "ZZ99 3VZ", sector: "ZZ99 3", district: "ZZ99", area: "ZZ"},
		{in: "", err: true},
		{in: "S7", err: true},
		{in: "S7 OSB", err: true}, // letter O for zero
		{in: "1S7 0SB", err: true},
		{in: "SSS7 0SB", err: true},
		{in: "S7 0S8", err: true},
		{in: "S7 0SB!", err: true},
		{in: "SW1A 1AAA", err: true},
	}
	for _, tt := range tests {
		p, err := ParsePostcode(tt.in)
		if tt.err {
			if err == nil || !errors.Is(err, ErrPostcode) {
				t.Errorf("ParsePostcode(%q) = %v, %v; want ErrPostcode", tt.in, p, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParsePostcode(%q): %v", tt.in, err)
			continue
		}
		if p.String() != tt.want || p.Sector() != tt.sector || p.District() != tt.district || p.Area() != tt.area {
			t.Errorf("ParsePostcode(%q) = %q %q %q %q", tt.in, p, p.Sector(), p.District(), p.Area())
		}
		s, d := postcodeParts(normPostcode(tt.in))
		if p.Pseudo() {
			if normPostcode(tt.in) != "" {
				t.Errorf("pseudo-postcode %q not dropped", tt.in)
			}
		} else if s != tt.sector || d != tt.district {
			t.Errorf("postcodeParts(%q) = %q %q", tt.in, s, d)
		}
	}
}

func FuzzParsePostcode(f *testing.F) {
	for _, s := range []string{"S7 0SB", "s70sb", "EC1A 1BB", "ZZ99 3VZ", "", "S7 OSB", "ä"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePostcode(s)
		n := normPostcode(s)
		if err != nil {
			if p != (Postcode{}) {
				t.Fatalf("error with a value: %v", p)
			}
			return
		}
		q, err := ParsePostcode(p.String())
		if err != nil || q != p {
			t.Fatalf("%q -> %q -> %v, %v", s, p, q, err)
		}
		if !p.Pseudo() && n != p.String() {
			t.Fatalf("normPostcode(%q) = %q, want %q", s, n, p)
		}
		if !utf8.ValidString(p.String()) || len(p.Inward) != 3 {
			t.Fatalf("bad parts %#v", p)
		}
	})
}

func FuzzNormName(f *testing.F) {
	for _, s := range []string{"O'Brien", "Smith-Jones", "Zoë", "李", "\xff", "  a  b "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := normName(s)
		if normName(n) != n {
			t.Fatalf("not idempotent: %q -> %q -> %q", s, n, normName(n))
		}
		if strings.HasPrefix(n, " ") || strings.HasSuffix(n, " ") || strings.Contains(n, "  ") {
			t.Fatalf("%q -> %q has stray spaces", s, n)
		}
		code := nysiis(n)
		for i := 0; i < len(code); i++ {
			if code[i] < 'A' || code[i] > 'Z' {
				t.Fatalf("nysiis(%q) = %q", n, code)
			}
		}
		if j := jaroWinkler(n, s); j < 0 || j > 1 {
			t.Fatalf("jaroWinkler out of range: %v", j)
		}
	})
}
