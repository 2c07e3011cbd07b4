package record_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/sharedcare/sharedcare/internal/index"
	"github.com/sharedcare/sharedcare/internal/store"
	"github.com/sharedcare/sharedcare/internal/store/sqlite"
)

// TestCommitHooks checks that hooks hear of every version a write stored,
// by every kind of write, and of nothing that was not stored.
func TestCommitHooks(t *testing.T) {
	st, err := sqlite.Open(t.Context(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc := service(st, index.All)
	var mu sync.Mutex
	var heard []string
	svc.OnCommit(func(ctx context.Context, written []store.Resource) {
		mu.Lock()
		defer mu.Unlock()
		for _, r := range written {
			s := r.Type + "/" + r.ID
			if r.Deleted {
				s += " deleted"
			} else if len(r.Body) == 0 {
				s += " without a body"
			}
			heard = append(heard, s)
		}
	})
	take := func() []string {
		mu.Lock()
		defer mu.Unlock()
		out := heard
		heard = nil
		slices.Sort(out)
		return out
	}
	ctx := t.Context()
	patient := `{"resourceType":"Patient","id":"p1","identifier":[{"system":"urn:x","value":"1"}]}`
	steps := []struct {
		name string
		do   func() error
		want []string
	}{
		{"update as create", func() error { _, err := svc.Update(ctx, "Patient", "p1", []byte(patient), ""); return err }, []string{"Patient/p1"}},
		{"conditional create that matches stores nothing", func() error {
			_, err := svc.Create(ctx, "Patient", []byte(patient), "identifier=urn:x|1")
			return err
		}, nil},
		{"failed write", func() error {
			_, err := svc.Update(ctx, "Patient", "p2", []byte(`{"resourceType":"Patient","id":"p2","bogus":1}`), "")
			if err == nil {
				t.Error("invalid resource stored")
			}
			return nil
		}, nil},
		{"transaction", func() error {
			_, err := svc.Bundle(ctx, []byte(`{"resourceType":"Bundle","type":"transaction","entry":[
				{"resource":{"resourceType":"Observation","id":"o1","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p1"}},"request":{"method":"PUT","url":"Observation/o1"}},
				{"request":{"method":"DELETE","url":"Patient/p1"}}]}`), "http://x/fhir")
			return err
		}, []string{"Observation/o1", "Patient/p1 deleted"}},
		{"batch", func() error {
			_, err := svc.Bundle(ctx, []byte(`{"resourceType":"Bundle","type":"batch","entry":[
				{"resource":{"resourceType":"Observation","id":"o2","status":"final","code":{"text":"x"}},"request":{"method":"PUT","url":"Observation/o2"}},
				{"resource":{"resourceType":"Observation","id":"o3","status":"nonsense","code":{"text":"x"}},"request":{"method":"PUT","url":"Observation/o3"}}]}`), "http://x/fhir")
			return err
		}, []string{"Observation/o2"}},
		{"delete of something already deleted stores nothing", func() error { _, err := svc.Delete(ctx, "Patient", "p1", ""); return err }, nil},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got := take(); !slices.Equal(got, s.want) {
			t.Errorf("%s: hooks heard %q, want %q", s.name, got, s.want)
		}
	}
}
