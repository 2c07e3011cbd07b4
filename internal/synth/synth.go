// Package synth generates a synthetic UK care system: the organisations
// of one integrated care board (South Yorkshire) and, for any number of
// people, their records as each organisation holding them would send
// them, as FHIR R4 transaction Bundles and, for the hospitals, optionally
// as HL7 v2.4 messages.
//
// It exists so that every later part of sharedcare (the master patient
// index, access control, analytics, the HL7 feed, the demo, benchmarks)
// has realistic data to work on without touching anyone's real record:
// the same person arrives from several sources with differing details,
// some registrations are duplicated, long-term conditions are as common as
// in England, observations trend, some items are sensitive and some
// people have opted out.
//
// Output is deterministic: the Reference bundle depends only on the seed,
// and person i only on the seed and i (its own random stream, its own
// ids), so people can be generated in parallel, in any order, or one at a
// time, always alike. docs/SYNTH.md describes what is generated and the
// codes used.
package synth

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Config says what to generate.
type Config struct {
	Seed     int64
	Patients int
	// HL7 sends the acute trusts' hospital events (attendances,
	// admissions, transfers, discharges, clinics, results, letters) as
	// HL7 v2.4 messages instead of in their FHIR bundles.
	HL7 bool
	// Now is the "today" histories end at; zero means DefaultNow, so
	// output does not change from day to day.
	Now time.Time
}

// Limits on Config.Patients.
const (
	MinPatients = 10
	MaxPatients = 1_000_000
)

// Generator makes a synthetic care system. It is safe for concurrent use.
type Generator struct {
	cfg   Config
	now   ts
	calib calibration
	world *world
	ref   struct {
		once sync.Once
		b    []byte
		n    int
	}
}

// Person is everything generated for one person: a Bundle from each
// organisation that holds a record of them and, with Config.HL7, the
// hospitals' messages. Its slices are the caller's to keep.
type Person struct {
	Index     int
	NHSNumber string
	Bundles   []Bundle
	HL7       []Message
}

// Bundle is one organisation's record of a person.
type Bundle struct {
	Source    string // ODS code of the sending organisation
	JSON      []byte // a FHIR R4 transaction Bundle, on one line
	Resources int    // entries in it
}

// Message is one HL7 v2 message.
type Message struct {
	Source string // ODS code of the sending organisation
	Type   string // message type and trigger, such as "ADT^A01"
	ER7    []byte // segments, each ending in \r; not MLLP-framed (see Frame)
}

// New checks cfg and prepares the generator.
func New(cfg Config) (*Generator, error) {
	if cfg.Patients < MinPatients || cfg.Patients > MaxPatients {
		return nil, fmt.Errorf("synth: patients must be from %d to %d, not %d", MinPatients, MaxPatients, cfg.Patients)
	}
	if cfg.Now.IsZero() {
		cfg.Now = DefaultNow
	}
	if y := cfg.Now.Year(); y < 2000 || y > 2200 {
		return nil, fmt.Errorf("synth: now must be a date from 2000 to 2200, not %s", cfg.Now.Format(time.DateOnly))
	}
	g := &Generator{cfg: cfg, now: fromTime(cfg.Now.UTC()), calib: calibrate()}
	g.world = newWorld(cfg.Seed)
	return g, nil
}

// Config returns the configuration, with defaults filled in.
func (g *Generator) Config() Config { return g.cfg }

// Reference returns one transaction Bundle of every Organization,
// Location, Practitioner and PractitionerRole that people's bundles refer
// to. Load it before any person.
func (g *Generator) Reference() []byte {
	g.ref.once.Do(func() { g.ref.b, g.ref.n = g.world.writeReference() })
	return g.ref.b
}

// ReferenceResources is the number of resources in Reference().
func (g *Generator) ReferenceResources() int {
	g.Reference()
	return g.ref.n
}

// Person generates person i alone (0 <= i < Patients): the same as
// People delivers for i.
func (g *Generator) Person(i int) Person {
	var scratch []byte
	return g.generate(i, &scratch)
}

// People generates every person and calls fn for person 0, 1, ... N-1 in
// order, generating ahead on workers goroutines. It stops at fn's first
// error, or when ctx is done, and returns that error.
func (g *Generator) People(ctx context.Context, workers int, fn func(p Person) error) error {
	if workers < 1 {
		workers = 1
	}
	const batch = 32
	type chunk struct {
		start, end int
		people     []Person
		done       chan struct{}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan *chunk)
	ordered := make(chan *chunk, workers*4) // bounds the work ahead of fn
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var scratch []byte
			for c := range jobs {
				for i := c.start; i < c.end; i++ {
					if ctx.Err() != nil {
						break
					}
					c.people = append(c.people, g.generate(i, &scratch))
				}
				close(c.done)
			}
		}()
	}
	go func() {
		defer close(ordered)
		defer close(jobs)
		for s := 0; s < g.cfg.Patients; s += batch {
			c := &chunk{start: s, end: min(s+batch, g.cfg.Patients), done: make(chan struct{})}
			select {
			case ordered <- c:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- c:
			case <-ctx.Done():
				close(c.done)
				return
			}
		}
	}()
	var err error
	delivered := 0
	for c := range ordered {
		<-c.done
		if err != nil {
			continue
		}
		if err = ctx.Err(); err != nil {
			continue
		}
		for _, p := range c.people {
			if err = fn(p); err != nil {
				cancel()
				break
			}
			delivered++
		}
	}
	wg.Wait()
	if err == nil && delivered < g.cfg.Patients {
		// The producer stopped early: only cancellation does that.
		err = ctx.Err()
	}
	return err
}

// generate makes person i; scratch is a reusable buffer for JSON.
func (g *Generator) generate(i int, scratch *[]byte) Person {
	key := personKey(g.cfg.Seed, i)
	p := &person{g: g, w: g.world, index: i, key: key, r: personRNG(key), now: g.now, allergy: -1}
	p.demographics()
	p.history()
	out := Person{Index: i, NHSNumber: p.nhs, Bundles: make([]Bundle, 0, len(p.recs))}
	for _, rc := range p.recs {
		b, n := p.writeBundle((*scratch)[:0], rc, g.cfg.HL7)
		*scratch = b
		out.Bundles = append(out.Bundles, Bundle{Source: g.world.orgs[rc.org].ods, JSON: append([]byte(nil), b...), Resources: n})
	}
	if g.cfg.HL7 {
		for _, rc := range p.recs {
			if rc.hospital {
				out.HL7 = append(out.HL7, p.writeHL7(rc)...)
			}
		}
	}
	return out
}
