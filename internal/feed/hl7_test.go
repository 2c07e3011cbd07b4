package feed_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sharedcare/sharedcare/internal/feed"
	"github.com/sharedcare/sharedcare/internal/fhirdef"
	"github.com/sharedcare/sharedcare/internal/hl7fhir"
	"github.com/sharedcare/sharedcare/internal/hl7v2"
	"github.com/sharedcare/sharedcare/internal/person"
	"github.com/sharedcare/sharedcare/internal/record"
	"github.com/sharedcare/sharedcare/internal/store/sqlite"
	"github.com/sharedcare/sharedcare/internal/synth"
	"github.com/sharedcare/sharedcare/internal/validate"
)

type rig struct {
	svc     *record.Service
	persons *person.Service
	addr    string
}

func newRig(t testing.TB) *rig {
	t.Helper()
	st, err := sqlite.Open(t.Context(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := record.New(st, validate.Resource, fhirdef.IsResourceType)
	svc.Log = log
	wait, err := svc.StartReindex(t.Context(), record.ReindexOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(wait)
	ps := person.New(svc, nil, log)
	if err := ps.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ps.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &hl7v2.Server{Handler: &feed.HL7{Record: svc, Persons: ps, Mapper: hl7fhir.New(hl7fhir.Options{TimeZone: time.UTC}), Base: "http://test/fhir"}, Log: log}
	go srv.Serve(context.Background(), ln)
	t.Cleanup(func() { srv.Close() })
	return &rig{svc: svc, persons: ps, addr: ln.Addr().String()}
}

func (r *rig) count(t testing.TB, typ, query string) int {
	t.Helper()
	q, _ := url.ParseQuery(query)
	q.Set("_summary", "count")
	res, err := r.svc.Search(t.Context(), record.SearchRequest{Type: typ, Params: q})
	if err != nil {
		t.Fatal(err)
	}
	if res.Total == nil {
		return len(res.Matches)
	}
	return int(*res.Total)
}

// TestHL7Feed sends a generated population's hospital messages over MLLP:
// every one is acknowledged AA only once stored, items land under the
// sending hospital's ODS code, duplicate registrations merged by A40 end
// up as one person, and a bad NHS number is refused with an ERR naming
// PID-3.
func TestHL7Feed(t *testing.T) {
	r := newRig(t)
	g, err := synth.New(synth.Config{Seed: 5, Patients: synth.MinPatients, HL7: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.svc.Bundle(t.Context(), g.Reference(), "http://test/fhir"); err != nil {
		t.Fatal(err)
	}
	c, err := hl7v2.Dial(t.Context(), r.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sent, merges := 0, 0
	sources := map[string]bool{}
	// Three people, and the first with a duplicate registration (A40).
	var which []int
	for i := 0; i < 200 && len(which) < 4; i++ {
		has := false
		for _, m := range g.Person(i).HL7 {
			has = has || m.Type == "ADT^A40"
		}
		if i < 3 || has {
			which = append(which, i)
		}
	}
	for _, i := range which {
		p := g.Person(i)
		for _, b := range p.Bundles {
			if _, err := r.svc.Bundle(t.Context(), b.JSON, "http://test/fhir"); err != nil {
				t.Fatal(err)
			}
		}
		for _, m := range p.HL7 {
			reply, err := c.SendRaw(m.ER7)
			if err != nil {
				t.Fatal(err)
			}
			ack, err := hl7v2.Parse(reply)
			if err != nil {
				t.Fatal(err)
			}
			if code := ack.Get("MSA-1"); code != "AA" && code != "CA" {
				t.Fatalf("%s: ACK %s: %s", m.Type, code, reply)
			}
			sent++
			sources[m.Source] = true
			if m.Type == "ADT^A40" {
				merges++
			}
		}
	}
	if sent == 0 || merges == 0 {
		t.Fatalf("the generator sent %d messages, %d merges", sent, merges)
	}
	for ods := range sources {
		if n := r.count(t, "Encounter", "_tag="+record.ODSSystem+"|"+ods); n == 0 {
			t.Errorf("no Encounters attributed to the sending hospital %s", ods)
		}
	}
	t.Logf("%d messages (%d A40 merges) from %d hospitals", sent, merges, len(sources))

	// Every generated person is one person, however many records and
	// duplicate registrations they arrived with.
	r.persons.Sync(t.Context())
	for _, i := range which {
		p := g.Person(i)
		ids := r.persons.Index().Find("https://fhir.nhs.uk/Id/nhs-number", p.NHSNumber)
		personIDs := map[string]bool{}
		for _, id := range ids {
			pid, _ := r.persons.Index().PersonOf(id)
			personIDs[pid] = true
		}
		if len(ids) > 0 && len(personIDs) != 1 {
			t.Errorf("person %d: %d records with their NHS number belong to %d persons", i, len(ids), len(personIDs))
		}
	}

	// A wrong NHS number is the message's fault, and the ACK says where.
	bad := "MSH|^~\\&|PAS|RHQ|SC|SC|20260101120000||ADT^A28|BAD1|P|2.4\rEVN|A28|20260101120000\rPID|1||1234567890^^^NHS^NH||Bad^Number||19700101|F\r"
	reply, err := c.SendRaw([]byte(bad))
	if err != nil {
		t.Fatal(err)
	}
	ack, err := hl7v2.Parse(reply)
	if err != nil {
		t.Fatal(err)
	}
	if ack.Get("MSA-1") != "AE" || !strings.Contains(string(reply), "PID") {
		t.Errorf("bad NHS number: ACK %s", reply)
	}
}

// A merge sent with the messages after it in one burst (pipelined) sees
// what the messages before it wrote and nothing after: the A40 here names
// a survivor that only the next message registers, so it must be refused
// for PID-3, as it is when sent alone, not merged into a Patient from its
// future (nor fail on one the person index has yet to place).
func TestHL7MergeIsNotOvertaken(t *testing.T) {
	r := newRig(t)
	reg := func(ctrl, mrn, family string) []byte {
		return []byte("MSH|^~\\&|PAS|RHQ|SC|SC|20260101120000||ADT^A28^ADT_A05|" + ctrl + "|P|2.4\rEVN|A28|20260101120000\rPID|1||" + mrn + "^^^RHQ^MR||" + family + "^Ann||19700101|F\r")
	}
	c, err := hl7v2.Dial(t.Context(), r.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if reply, err := c.SendRaw(reg("D1", "DUP1", "Smith")); err != nil || !strings.Contains(string(reply), "MSA|AA") {
		t.Fatalf("registering the duplicate: %v %s", err, reply)
	}
	merge := []byte("MSH|^~\\&|PAS|RHQ|SC|SC|20260101130000||ADT^A40^ADT_A39|M1|P|2.4\rEVN|A40|20260101130000\rPID|1||MAIN1^^^RHQ^MR||Smith^Ann||19700101|F\rMRG|DUP1^^^RHQ^MR\r")
	// Other registrations ahead of the merge hold it back until the writer
	// has committed the message after it too, as a sender's full window does.
	var burst []byte
	for i := range 20 {
		burst = hl7v2.AppendFrame(burst, reg(fmt.Sprintf("O%d", i), fmt.Sprintf("OTHER%d", i), fmt.Sprintf("Other%c", 'a'+i)))
	}
	burst = hl7v2.AppendFrame(burst, merge)
	burst = hl7v2.AppendFrame(burst, reg("S1", "MAIN1", "Smith"))
	conn, err := net.Dial("tcp", r.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write(burst); err != nil {
		t.Fatal(err)
	}
	rd := hl7v2.NewReader(conn, 0)
	wants := []struct{ ctrl, code, where string }{{"M1", "AE", "PID^1^3"}, {"S1", "AA", ""}}
	for i := range 20 {
		wants = append([]struct{ ctrl, code, where string }{{fmt.Sprintf("O%d", 19-i), "AA", ""}}, wants...)
	}
	for _, want := range wants {
		reply, err := rd.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		ack, err := hl7v2.Parse(reply)
		if err != nil {
			t.Fatal(err)
		}
		if ack.Get("MSA-2") != want.ctrl || ack.Get("MSA-1") != want.code || !strings.Contains(string(reply), want.where) {
			t.Errorf("%s: want %s %s, ACK %s", want.ctrl, want.code, want.where, reply)
		}
	}
}
