package cli

import (
	"bufio"
	"context"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sharedcare/sharedcare/internal/access"
	"github.com/sharedcare/sharedcare/internal/idp"
	"github.com/sharedcare/sharedcare/internal/synth"
)

// TestAlertFromHL7 follows an admission from the hospital's HL7 v2 feed
// to the registered GP's inbox: an ADT^A01 over MLLP, acknowledged (CA,
// the sender asked for accept acknowledgements) once stored, becomes an alert addressed to the practice the message names
// (PD1), which the practice's GP reads in the clinician portal.
func TestAlertFromHL7(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a server")
	}
	raw, err := os.ReadFile("../hl7fhir/testdata/adt-a01-v251.hl7")
	if err != nil {
		t.Fatal(err)
	}
	// Admitted now: alerts are for what happens now, not for history.
	now := time.Now()
	msg := strings.NewReplacer("20240715093015+0100", now.Format("20060102150405-0700"),
		"20240715093000", now.Format("20060102150405"), "20240715092500", now.Add(-5*time.Minute).Format("20060102150405")).Replace(string(raw))

	addr, mllp := localAddr(t), localAddr(t)
	c := serveConfig{addr: addr, data: t.TempDir(), validation: "strict", searchIndex: "all", maxBody: 1 << 20, shutdownGrace: 5 * time.Second, mllp: mllp}
	c.auth.demoPassword = "not-a-real-password"
	c.seed = func(ctx context.Context, p *idp.Provider) error {
		return p.SeedDemo(ctx, []idp.User{{Username: "gp", Password: c.auth.demoPassword, Name: "Dr Anil Patel", Role: access.RoleGP, Org: "C88922"}}, nil)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done, ready := make(chan error, 1), make(chan string, 1)
	go func() { done <- serve(ctx, c, newLogger(io.Discard, "error", "text"), ready) }()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-ready:
	case err := <-done:
		t.Fatal(err)
	}

	conn, err := net.Dial("tcp", mllp)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("\x0b" + msg + "\x1c\r")); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	ack, err := bufio.NewReader(conn).ReadString('\x1c')
	if err != nil || !strings.Contains(ack, "MSA|AA") && !strings.Contains(ack, "MSA|CA") {
		t.Fatalf("the ADT^A01 was not accepted: %v %q", err, ack)
	}

	d := &demoServer{root: "http://" + addr, password: c.auth.demoPassword, accounts: map[string]synth.Account{}}
	gp := d.signInPortal(t, "gp")
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, page := gp.get("/app/inbox")
		if strings.Contains(page, "Admitted to Ward 5") && strings.Contains(page, "O&#39;BRIEN") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the GP's inbox has no admission from the feed:\n%s", mainOf(page))
		}
		time.Sleep(200 * time.Millisecond)
	}
}
