package feed_test

import (
	"encoding/json"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/sharedcare/sharedcare/internal/fhir"
	"github.com/sharedcare/sharedcare/internal/hl7fhir"
	"github.com/sharedcare/sharedcare/internal/hl7v2"
	"github.com/sharedcare/sharedcare/internal/index"
	"github.com/sharedcare/sharedcare/internal/synth"
)

// BenchmarkMLLP measures HL7 v2 ingest over MLLP into the embedded store,
// each message acknowledged only once stored (with the person index on):
// one connection that waits for each ACK, one that keeps a window of
// messages in flight (as MLLP senders may), and four of each.
//
//	go test ./internal/feed -run XXX -bench MLLP -benchtime 2000x
func BenchmarkMLLP(b *testing.B) {
	g, err := synth.New(synth.Config{Seed: 9, Patients: 2000, HL7: true})
	if err != nil {
		b.Fatal(err)
	}
	var msgs [][]byte
	var who []int // the person each message is about
	for i := 0; len(msgs) < 20000; i++ {
		for _, m := range g.Person(i).HL7 {
			msgs = append(msgs, m.ER7)
			who = append(who, i)
		}
	}
	for _, bc := range []struct {
		name          string
		conns, window int
	}{{"1conn-lockstep", 1, 1}, {"1conn-window32", 1, 32}, {"4conns-lockstep", 4, 1}, {"4conns-window32", 4, 32}} {
		b.Run(bc.name, func(b *testing.B) {
			r := newRig(b)
			if _, err := r.svc.Bundle(b.Context(), g.Reference(), "http://test/fhir"); err != nil {
				b.Fatal(err)
			}
			if b.N > len(msgs) {
				b.Fatalf("at most %d messages", len(msgs))
			}
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			errs := make(chan error, bc.conns)
			for c := range bc.conns {
				wg.Add(1)
				go func() {
					defer wg.Done()
					var mine [][]byte
					// A person's messages keep to one connection, in
					// order, as a sender's do: a merge must not overtake
					// the registration it merges into.
					for i := range b.N {
						if who[i]%bc.conns == c {
							mine = append(mine, msgs[i])
						}
					}
					errs <- send(r.addr, mine, bc.window)
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
		})
	}
}

// send sends msgs on one connection with at most window unacknowledged,
// checking every ACK accepts.
func send(addr string, msgs [][]byte, window int) error {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	rd := hl7v2.NewReader(conn, 0)
	slots := make(chan struct{}, window)
	done := make(chan error, 1)
	go func() {
		for range msgs {
			ack, err := rd.ReadMessage()
			if err != nil {
				done <- err
				return
			}
			m, err := hl7v2.Parse(ack)
			if err != nil {
				done <- err
				return
			}
			if c := m.Get("MSA-1"); c != "AA" && c != "CA" {
				done <- fmt.Errorf("ACK %s: %s", c, ack)
				return
			}
			<-slots
		}
		done <- nil
	}()
	var frame []byte
	for _, m := range msgs {
		select {
		case slots <- struct{}{}:
		case err := <-done: // the reader stopped on a bad ACK: report it, do not wait for a slot forever
			if err == nil {
				err = fmt.Errorf("fewer ACKs than messages")
			}
			return err
		}
		frame = hl7v2.AppendFrame(frame[:0], m)
		if _, err := conn.Write(frame); err != nil {
			return err
		}
	}
	return <-done
}

// BenchmarkMLLPWorkFloor is the CPU a message costs before any storage, on
// one core: parsing it, mapping it to a Bundle, and decoding and indexing
// every entry's resource, the least the feed does besides the writer's
// work (docs/PERFORMANCE.md, "The floor"). It reports entries per message
// and, of them, the resources a message writes new (not the Locations,
// Organizations and Practitioners it only names, nor its Patient, whose
// re-sending mostly changes nothing).
//
//	go test ./internal/feed -run XXX -bench MLLPWorkFloor -benchtime 4000x
func BenchmarkMLLPWorkFloor(b *testing.B) {
	g, err := synth.New(synth.Config{Seed: 9, Patients: 2000, HL7: true})
	if err != nil {
		b.Fatal(err)
	}
	var msgs [][]byte
	for i := 0; len(msgs) < 4000; i++ {
		for _, m := range g.Person(i).HL7 {
			msgs = append(msgs, m.ER7)
		}
	}
	mp := hl7fhir.New(hl7fhir.Options{TimeZone: time.UTC})
	entries, writes := 0, 0
	b.ResetTimer()
	for i := range b.N {
		m, err := hl7v2.Parse(msgs[i%len(msgs)])
		if err != nil {
			b.Fatal(err)
		}
		res, err := mp.Map(m)
		if err != nil {
			b.Fatal(err)
		}
		if res.Bundle == nil {
			continue // a merge
		}
		var bundle struct {
			Entry []struct {
				Resource json.RawMessage `json:"resource"`
			} `json:"entry"`
		}
		if err := json.Unmarshal(res.Bundle, &bundle); err != nil {
			b.Fatal(err)
		}
		for _, e := range bundle.Entry {
			v, err := fhir.Decode(e.Resource)
			if err != nil {
				b.Fatal(err)
			}
			o := v.(fhir.Object)
			id, _ := o["id"].(string)
			index.Compute(o, id, index.All)
			entries++
			switch o["resourceType"] {
			case "Encounter", "Observation", "DiagnosticReport", "DocumentReference":
				writes++
			}
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(float64(entries)/float64(b.N), "entries/msg")
	b.ReportMetric(float64(writes)/float64(b.N), "writes/msg")
}
