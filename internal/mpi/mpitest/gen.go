// Package mpitest generates test populations for the master patient
// index: people with realistic UK demographics and, for each, source
// records as different organisations would hold them, corrupted the way
// registration desks and old systems corrupt them. Every record carries
// its true person, so matching can be scored for precision and recall.
//
// The population includes the cases that break naive matchers: twins
// (same birth date, home, phone and family name; different given name
// and NHS number), namesakes (a common name and the same birth date in
// the same district), a father and son of the same name at one address,
// women who married and moved, records with no NHS number, swapped and
// misspelt names, and day and month transposed. It is deterministic for
// a seed.
package mpitest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"

	"github.com/sharedcare/sharedcare/internal/mpi"
)

// Config says what to generate.
type Config struct {
	Seed   uint64
	People int
	// Twins, Namesakes and Juniors are the shares of people who get a
	// twin, a namesake, or a son of the same name living with them; the
	// defaults are used when all are 0.
	Twins, Namesakes, Juniors float64
}

// Person is a true person: their canonical demographics and what kind
// of trap they are part of.
type Person struct {
	ID      string // "P000123"
	Truth   mpi.Record
	Kind    Kind
	Sibling int // the other person of a twin, namesake or junior pair; -1 for none
}

// Kind tells the trap a person belongs to.
type Kind uint8

const (
	Ordinary Kind = iota
	Twin
	Namesake
	Junior // father and son of one name at one address
)

func (k Kind) String() string {
	return [...]string{"ordinary", "twin", "namesake", "junior"}[k]
}

// Source is one organisation's record of a person.
type Source struct {
	Record  mpi.Record
	Person  int      // index of the true person
	Changes []string // what was corrupted, for failure reports
}

// Population is the people and the generator's random stream.
type Population struct {
	People []Person
	r      *rand.Rand
	seq    int
	nhsSeq int
}

// zipf draws index i of n with probability proportional to 1/(i+1)^s.
type zipf struct {
	cum []float64
}

func newZipf(n int, s float64) zipf {
	z := zipf{cum: make([]float64, n)}
	t := 0.0
	for i := range n {
		t += 1 / math.Pow(float64(i+1), s)
		z.cum[i] = t
	}
	for i := range z.cum {
		z.cum[i] /= t
	}
	return z
}

func (z zipf) draw(r *rand.Rand) int {
	x := r.Float64()
	lo, hi := 0, len(z.cum)-1
	for lo < hi {
		m := (lo + hi) / 2
		if z.cum[m] < x {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

var (
	// Exponents chosen so the commonest names are about as common as in
	// England and Wales, a little more so (the lists are short): Smith
	// about 2% of people (1.2% in life), John and Margaret about 5% of
	// their sex.
	zFamily = newZipf(len(familyCommon), 0.6)
	zMale   = newZipf(len(givenMale), 0.45)
	zFemale = newZipf(len(givenFemale), 0.45)
)

// New generates a population.
func New(cfg Config) *Population {
	if cfg.Twins == 0 && cfg.Namesakes == 0 && cfg.Juniors == 0 {
		cfg.Twins, cfg.Namesakes, cfg.Juniors = 0.015, 0.01, 0.005
	}
	p := &Population{r: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15))}
	p.People = make([]Person, 0, cfg.People)
	for len(p.People) < cfg.People {
		a := p.person()
		p.People = append(p.People, a)
		i := len(p.People) - 1
		if len(p.People) >= cfg.People {
			break
		}
		x := p.r.Float64()
		var b Person
		switch {
		case x < cfg.Twins:
			b = p.twin(&a)
		case x < cfg.Twins+cfg.Namesakes:
			b = p.namesake(&a)
		case x < cfg.Twins+cfg.Namesakes+cfg.Juniors:
			b = p.junior(&a)
		default:
			continue
		}
		b.Sibling = i
		a.Kind, a.Sibling = b.Kind, i+1
		p.People[i] = a // the trap may have changed a's names
		p.People = append(p.People, b)
	}
	return p
}

func (p *Population) chance(x float64) bool { return p.r.Float64() < x }

func (p *Population) pick(list []string) string { return list[p.r.IntN(len(list))] }

func (p *Population) nextID() string {
	p.seq++
	return fmt.Sprintf("P%07d", p.seq)
}

// nhs returns a new valid NHS number in the 999 test range (never issued
// to a real person), then the 998 range: a permutation of the valid
// numbers, so they do not run in order and no two people share one.
func (p *Population) nhs() string {
	n := p.nhsSeq
	p.nhsSeq++
	bodies := validBodies()
	k := len(bodies)
	prefix := 999
	if n >= k {
		prefix, n = 998, n%k
	}
	body := bodies[(n*7919+104729)%k]
	s := fmt.Sprintf("%03d%06d", prefix, body)
	return s + strconv.Itoa(check(s))
}

// validBodies are the six-digit bodies b for which 999b (and, it
// happens, 998b) has a check digit. The step 7919 is prime and does not
// divide their count, so n -> n*7919 mod count is a bijection.
var validBodies = sync.OnceValue(func() []int {
	out := make([]int, 0, 818_182)
	for b := 0; b < 1_000_000; b++ {
		s := []byte(fmt.Sprintf("999%06d", b))
		if check(string(s)) < 0 {
			continue
		}
		s[2] = '8'
		if check(string(s)) >= 0 {
			out = append(out, b)
		}
	}
	return out
})

func check(s string) int {
	sum := 0
	for i := range 9 {
		sum += int(s[i]-'0') * (10 - i)
	}
	c := 11 - sum%11
	switch c {
	case 11:
		return 0
	case 10:
		return -1
	}
	return c
}

func (p *Population) family() string {
	switch x := p.r.Float64(); {
	case x < 0.30:
		return familyCommon[zFamily.draw(p.r)]
	case x < 0.38:
		return p.pick(familySouthAsian)
	case x < 0.40:
		return p.pick(familyOther)
	default:
		// The long tail: half of England has a surname outside the top
		// few hundred; head, sometimes a middle, and end make some
		// eight thousand names.
		mid := ""
		if p.chance(0.6) {
			mid = p.pick(tailMid)
		}
		return p.pick(tailHead) + mid + p.pick(tailEnd)
	}
}

func (p *Population) given(sex mpi.Sex) string {
	if sex == mpi.Male {
		return givenMale[zMale.draw(p.r)]
	}
	return givenFemale[zFemale.draw(p.r)]
}

func (p *Population) address() (postcode, line string) {
	const letters = "ABDEFGHJLNPQRSTUWXYZ"
	d := districts[p.r.IntN(len(districts))]
	postcode = fmt.Sprintf("%s %d%c%c", d, p.r.IntN(10), letters[p.r.IntN(20)], letters[p.r.IntN(20)])
	line = fmt.Sprintf("%d %s", 1+p.r.IntN(250), strings.ReplaceAll(p.pick(streets), "_", " "))
	return
}

func (p *Population) phone() string {
	if p.chance(0.5) {
		return fmt.Sprintf("0114 496 %04d", p.r.IntN(10000))
	}
	return fmt.Sprintf("07700 9%05d", p.r.IntN(100000))
}

func (p *Population) birth() mpi.Date {
	// Ages 0 to 100, fewer at the old end.
	age := int(math.Min(100, p.r.ExpFloat64()*30+p.r.Float64()*20))
	y := 2024 - age
	m := 1 + p.r.IntN(12)
	d := 1 + p.r.IntN(28)
	return mpi.Date{Year: uint16(y), Month: uint8(m), Day: uint8(d)}
}

func (p *Population) person() Person {
	id := p.nextID()
	sex := mpi.Female
	if p.chance(0.49) {
		sex = mpi.Male
	}
	r := mpi.Record{
		Identifiers: []mpi.Identifier{{System: mpi.NHSNumberSystem, Value: p.nhs(), NHS: true, Verification: mpi.Verified}},
		Family:      p.family(),
		Given:       []string{p.given(sex)},
		BirthDate:   p.birth(),
		Sex:         sex,
	}
	if p.chance(0.55) {
		if m := p.given(sex); m != r.Given[0] {
			r.Given = append(r.Given, m)
		}
	}
	r.Postcode, r.AddressLine = p.address()
	if p.chance(0.8) {
		r.Phones = []string{p.phone()}
	}
	if p.chance(0.2) {
		r.Email = strings.ToLower(r.Given[0]+"."+r.Family) + strconv.Itoa(p.r.IntN(1000)) + "@example.org"
	}
	return Person{ID: id, Truth: r, Sibling: -1}
}

func (p *Population) copyOf(a *Person) Person {
	b := Person{ID: p.nextID(), Truth: a.Truth, Sibling: -1}
	b.Truth.Given = []string{a.Truth.Given[0]}
	b.Truth.Phones = append([]string(nil), a.Truth.Phones...)
	b.Truth.Email = ""
	b.Truth.Identifiers = []mpi.Identifier{{System: mpi.NHSNumberSystem, Value: p.nhs(), NHS: true, Verification: mpi.Verified}}
	return b
}

// twin: same birth date, family, home and phone; another given name.
func (p *Population) twin(a *Person) Person {
	b := p.copyOf(a)
	b.Kind = Twin
	if p.chance(0.5) {
		b.Truth.Sex = mpi.Male + mpi.Female - a.Truth.Sex
	}
	for b.Truth.Given[0] == a.Truth.Given[0] || sameFormal(b.Truth.Given[0], a.Truth.Given[0]) {
		b.Truth.Given[0] = p.given(b.Truth.Sex)
	}
	return b
}

func sameFormal(x, y string) bool {
	for _, n := range nicknameOf[x] {
		if n == y {
			return true
		}
	}
	return false
}

// namesake: a common given and family name, the same birth date and
// sex, another home in the same postcode district.
func (p *Population) namesake(a *Person) Person {
	a.Truth.Family = familyCommon[p.r.IntN(10)]
	a.Truth.Given = a.Truth.Given[:1]
	if a.Truth.Sex == mpi.Male {
		a.Truth.Given[0] = givenMale[p.r.IntN(5)]
	} else {
		a.Truth.Given[0] = givenFemale[p.r.IntN(5)]
	}
	b := p.copyOf(a)
	b.Kind = Namesake
	pc, line := p.address()
	district := strings.Fields(a.Truth.Postcode)[0]
	b.Truth.Postcode = district + " " + strings.Fields(pc)[1]
	b.Truth.AddressLine = line
	b.Truth.Phones = []string{p.phone()}
	return b
}

// junior: a son with his father's names, born 20 to 40 years later,
// at the same address and phone.
func (p *Population) junior(a *Person) Person {
	a.Truth.Sex = mpi.Male
	a.Truth.Given = []string{givenMale[p.r.IntN(12)]}
	if a.Truth.BirthDate.Year > 1990 {
		a.Truth.BirthDate.Year = 1960 + uint16(p.r.IntN(25))
	}
	b := p.copyOf(a)
	b.Kind = Junior
	b.Truth.BirthDate = p.birth()
	b.Truth.BirthDate.Year = a.Truth.BirthDate.Year + 20 + uint16(p.r.IntN(20))
	return b
}
