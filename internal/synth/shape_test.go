package synth

import (
	"encoding/json"
	"math"
	"os"
	"strconv"
	"testing"
)

// model generates person i without writing anything: for statistics.
func (g *Generator) model(i int) *person {
	key := personKey(g.cfg.Seed, i)
	p := &person{g: g, w: g.world, index: i, key: key, r: personRNG(key), now: g.now, allergy: -1}
	p.demographics()
	p.history()
	return p
}

// withinShare checks an observed share against an expected one, allowing
// for sampling (3.5 standard errors of a binomial) and, relative to want,
// slack for the model's own approximations (a condition is judged at
// death for the dead, the calibration ignores the cap on risk).
func withinShare(t *testing.T, what string, got, want float64, n int, slack float64) {
	t.Helper()
	se := math.Sqrt(want * (1 - want) / float64(n))
	tol := 3.5*se + slack*want
	if math.Abs(got-want) > tol {
		t.Errorf("%s: %.4f, want %.4f ± %.4f", what, got, want, tol)
	} else {
		t.Logf("%s: %.4f (target %.4f ± %.4f)", what, got, want, tol)
	}
}

// TestShape checks the population on 5,000 people (SYNTH_SHAPE_N to
// change): the age pyramid, the
// prevalence of each long-term condition, the sex ratio and the share of
// the dead, of opt-outs and of the sensitive.
func TestShape(t *testing.T) {
	n := 5000
	if os.Getenv("SYNTH_SHAPE_N") != "" {
		n, _ = strconv.Atoi(os.Getenv("SYNTH_SHAPE_N"))
	}
	fn := float64(n)
	g, err := New(Config{Seed: 3, Patients: n})
	if err != nil {
		t.Fatal(err)
	}
	var bands [numBands]int
	var ltcCount [numLTC]int
	men, dead, type1, ndop, sensitive := 0, 0, 0, 0, 0
	for i := 0; i < n; i++ {
		p := g.model(i)
		bands[band(p.age(p.now))]++
		for k := ltc(0); k < numLTC; k++ {
			if p.has(k) {
				ltcCount[k]++
			}
		}
		if p.sex == 'M' {
			men++
		}
		if p.death != 0 {
			dead++
		}
		for _, rc := range p.recs {
			for _, c := range rc.consents {
				switch c.kind {
				case consentKindType1:
					type1++
				case consentKindNDOP:
					ndop++
				}
			}
			for _, c := range rc.conds {
				if c.sens != notSensitive {
					sensitive++
				}
			}
			for _, pr := range rc.procs {
				if pr.sens != notSensitive {
					sensitive++
				}
			}
		}
	}
	total := 0.0
	for _, w := range agePyramid {
		total += w
	}
	for b := range bands {
		withinShare(t, "age band "+itoa(b*5), float64(bands[b])/fn, agePyramid[b]/total, n, 0.02)
	}
	for k := ltc(0); k < numLTC; k++ {
		withinShare(t, ltcs[k].name, float64(ltcCount[k])/fn, ltcs[k].prevalence, n, 0.1)
	}
	withinShare(t, "men", float64(men)/fn, 0.493, n, 0.01)
	// Shares of everyone, from the shares of the ages that can have them.
	withinShare(t, "died in the last three years", float64(dead)/fn, 0.026, n, 0.15)
	withinShare(t, "type 1 opt-out", float64(type1)/fn, 0.025*0.82, n, 0.1)
	withinShare(t, "national data opt-out", float64(ndop)/fn, 0.05*0.86, n, 0.1)
	if sensitive == 0 {
		t.Error("no sensitive items")
	}
	t.Logf("sensitive items: %d", sensitive)
}

// TestGPRecordHasConditions checks that the GP bundle carries each
// long-term condition the model gave a person.
func TestGPRecordHasConditions(t *testing.T) {
	g, err := New(Config{Seed: 5, Patients: 200})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 200; i++ {
		p := g.model(i)
		out := g.Person(i)
		var b struct {
			Entry []struct {
				Resource struct {
					ResourceType string `json:"resourceType"`
					Code         struct {
						Coding []struct{ Code string } `json:"coding"`
					} `json:"code"`
				} `json:"resource"`
			} `json:"entry"`
		}
		if out.Bundles[0].Source != g.world.orgs[p.gp].ods {
			t.Fatalf("person %d: first bundle from %s, not the GP", i, out.Bundles[0].Source)
		}
		if err := json.Unmarshal(out.Bundles[0].JSON, &b); err != nil {
			t.Fatal(err)
		}
		codes := map[string]bool{}
		for _, e := range b.Entry {
			if e.Resource.ResourceType == "Condition" {
				for _, c := range e.Resource.Code.Coding {
					codes[c.Code] = true
				}
			}
		}
		for k := ltc(0); k < numLTC; k++ {
			if p.has(k) && !codes[p.ltcCode[k].code] {
				t.Errorf("person %d: %s (%s) missing from the GP bundle", i, ltcs[k].name, p.ltcCode[k].code)
			}
		}
	}
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}
