package cli_test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sharedcare/sharedcare/internal/hl7v2"
)

// labResult is an ORU^R01 whose filler order number identifies it.
func labResult(conn, i int) []byte {
	return []byte(fmt.Sprintf("MSH|^~\\&|LAB|RHQ|SC|SC|20260101120000||ORU^R01|C%d-%d|P|2.4\r"+
		"PID|1||M%d^^^RHQ^MR||Crash^Test||19700101|F\r"+
		"OBR|1|P%d-%d|F%d-%d|GLU^Glucose^L|||20260101120000|||||||||||||||20260101120000|||F\r"+
		"OBX|1|NM|GLU^Glucose^L||5.5|mmol/L|3.5-7.0|N|||F\r", conn, i, conn, conn, i, conn, i))
}

// TestMLLPCrashLosesNothingAcknowledged kills the server with SIGKILL while
// two connections stream lab results over MLLP with messages in flight,
// restarts it, has the senders send again everything they did not see
// acknowledged (as MLLP senders do), and checks that every result is
// stored exactly once: nothing acknowledged was lost, nothing doubled.
func TestMLLPCrashLosesNothingAcknowledged(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	mllp := freeAddr(t)
	cmd, _ := startServer(t, "--data", dir, "--mllp", mllp)
	const conns = 2
	var mu sync.Mutex
	acked := map[string]bool{}
	sent := make([]int, conns) // messages written per connection
	var wg sync.WaitGroup
	for c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			nc, err := net.Dial("tcp", mllp)
			if err != nil {
				return
			}
			defer nc.Close()
			rd := hl7v2.NewReader(nc, 0)
			slots := make(chan struct{}, 16)
			dead := make(chan struct{})
			go func() {
				defer close(dead)
				for {
					raw, err := rd.ReadMessage()
					if err != nil {
						return
					}
					ack, err := hl7v2.Parse(raw)
					if err != nil {
						return
					}
					if code := ack.Get("MSA-1"); code == "AA" || code == "CA" {
						mu.Lock()
						acked[ack.Get("MSA-2")] = true
						mu.Unlock()
					}
					<-slots
				}
			}()
			for i := 0; ; i++ {
				select {
				case slots <- struct{}{}:
				case <-dead:
					return
				}
				if _, err := nc.Write(hl7v2.AppendFrame(nil, labResult(c, i))); err != nil {
					return
				}
				mu.Lock()
				sent[c] = i + 1
				mu.Unlock()
			}
		}()
	}
	time.Sleep(2 * time.Second)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	wg.Wait()
	if len(acked) < 20 {
		t.Fatalf("only %d messages acknowledged before the kill; the test needs more", len(acked))
	}
	cmd2, base := startServer(t, "--data", dir, "--mllp", mllp)
	defer func() { cmd2.Process.Signal(syscall.SIGTERM); cmd2.Wait() }()
	// The senders send again what they did not hear acknowledged.
	resent := 0
	for c := range conns {
		client, err := hl7v2.Dial(t.Context(), mllp)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < sent[c]; i++ {
			if acked[fmt.Sprintf("C%d-%d", c, i)] {
				continue
			}
			if _, err := client.SendRaw(labResult(c, i)); err != nil {
				t.Fatal(err)
			}
			resent++
		}
		client.Close()
	}
	total := sent[0] + sent[1]
	for c := range conns {
		for i := 0; i < sent[c]; i++ {
			order := fmt.Sprintf("F%d-%d", c, i)
			if n := countOf(t, base+"/DiagnosticReport?identifier="+url.QueryEscape(order)+"&_summary=count"); n != 1 {
				t.Errorf("result %s stored %d times (acknowledged before the kill: %v)", order, n, acked[fmt.Sprintf("C%d-%d", c, i)])
			}
		}
	}
	t.Logf("%d messages sent, %d acknowledged before SIGKILL, %d sent again after; each stored once", total, len(acked), resent)
}

func countOf(t *testing.T, u string) int {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b struct{ Total int }
	if err := json.NewDecoder(resp.Body).Decode(&b); err != nil {
		t.Fatal(err)
	}
	return b.Total
}
