package mpi

import (
	"errors"
	"fmt"
	"testing"

	"github.com/sharedcare/sharedcare/internal/synth"
)

func TestParseNHSNumber(t *testing.T) {
	tests := []struct {
		in     string
		want   NHSNumber
		err    error
		format string
	}{
		{in: "9434765919", want: 9434765919, format: "943 476 5919"}, // the NHS's own example
		{in: "943 476 5919", want: 9434765919, format: "943 476 5919"},
		{in: "943-476-5919", want: 9434765919, format: "943 476 5919"},
		{in: "  9434 765 919 ", want: 9434765919, format: "943 476 5919"},
		{in: "4010232137", want: 4010232137, format: "401 023 2137"},
		{in: "9996121828", want: 9996121828, format: "999 612 1828"}, // synth's test range
		{in: "9990000050", want: 9990000050, format: "999 000 0050"}, // check digit 11 becomes 0
		{in: "9990000190", want: 9990000190, format: "999 000 0190"},
		{in: "", err: ErrNHSLength},
		{in: "943476591", err: ErrNHSLength},
		{in: "94347659190", err: ErrNHSLength},
		{in: "943 476 591x", err: ErrNHSNonDigit},
		{in: "943.476.5919", err: ErrNHSNonDigit},
		{in: "９４３４７６５９１９", err: ErrNHSNonDigit}, // full-width digits are not digits here
		{in: "9434765918", err: ErrNHSCheckDigit},
		{in: "9434765991", err: ErrNHSCheckDigit}, // adjacent digits transposed
		{in: "9990000001", err: ErrNHSNoCheckDigit},
		{in: "9990000140", err: ErrNHSNoCheckDigit},
		{in: "000 000 0000", err: ErrNHSPlaceholder},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseNHSNumber(tt.in)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("ParseNHSNumber(%q) = %v, %v; want error %v", tt.in, got, err, tt.err)
				}
				var ne *NHSNumberError
				if !errors.As(err, &ne) || ne.Input != tt.in {
					t.Errorf("error %v does not carry the input", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseNHSNumber(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
			if f := got.Format(); f != tt.format {
				t.Errorf("Format = %q, want %q", f, tt.format)
			}
			if !got.Valid() {
				t.Errorf("Valid() = false")
			}
		})
	}
}

func TestNHSNumberErrorMessage(t *testing.T) {
	_, err := ParseNHSNumber("9434765918")
	want := `invalid NHS number "9434765918": wrong check digit (expected 9, got 8)`
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
	}
}

// Every single-digit substitution of a valid number is caught by the
// check digit: the reason two valid NHS numbers never differ by a typo.
func TestNHSNumberSingleDigitErrorsCaught(t *testing.T) {
	const valid = "9434765919"
	for i := range 10 {
		for d := byte('0'); d <= '9'; d++ {
			if valid[i] == d {
				continue
			}
			b := []byte(valid)
			b[i] = d
			if _, err := ParseNHSNumber(string(b)); err == nil {
				t.Errorf("%s accepted", b)
			}
		}
	}
}

// The synthetic generator's validator agrees on the whole 999 range
// sampled every 7th body.
func TestParseNHSNumberAgreesWithSynth(t *testing.T) {
	for b := 0; b < 1_000_000; b += 7 {
		for c := 0; c < 10; c++ {
			s := fmt.Sprintf("999%06d%d", b, c)
			_, err := ParseNHSNumber(s)
			if (err == nil) != synth.ValidNHSNumber(s) {
				t.Fatalf("%s: ParseNHSNumber error %v, synth.ValidNHSNumber %v", s, err, synth.ValidNHSNumber(s))
			}
		}
	}
}

func FuzzParseNHSNumber(f *testing.F) {
	for _, s := range []string{"9434765919", "943 476 5919", "943-476-5919", "", "x", "9990000001", "９"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseNHSNumber(s)
		if err != nil {
			if n != 0 {
				t.Fatalf("error with a number %v", n)
			}
			var ne *NHSNumberError
			if !errors.As(err, &ne) {
				t.Fatalf("error %T is not an *NHSNumberError", err)
			}
			return
		}
		if !n.Valid() || !synth.ValidNHSNumber(n.String()) {
			t.Fatalf("%q parsed to invalid %v", s, n)
		}
		// Round trips through both written forms.
		for _, w := range []string{n.String(), n.Format()} {
			if m, err := ParseNHSNumber(w); err != nil || m != n {
				t.Fatalf("%q -> %v -> %q -> %v, %v", s, n, w, m, err)
			}
		}
	})
}
