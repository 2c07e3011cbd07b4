package record_test

import (
	"context"
	"testing"

	"github.com/sharedcare/sharedcare/internal/fhir"
	"github.com/sharedcare/sharedcare/internal/fhirdef"
	"github.com/sharedcare/sharedcare/internal/record"
	"github.com/sharedcare/sharedcare/internal/store/sqlite"
	"github.com/sharedcare/sharedcare/internal/validate"
)

// FuzzBundle feeds arbitrary bytes to the batch/transaction processor over
// a real SQLite store: it must never panic and never fail with an internal
// error; whatever is wrong with the input is the client's error.
func FuzzBundle(f *testing.F) {
	seeds := []string{
		`{"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"urn:uuid:1","resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}},{"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"urn:uuid:1"}},"request":{"method":"POST","url":"Observation"}}]}`,
		`{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"GET","url":"Patient/x"}},{"request":{"method":"DELETE","url":"Patient?identifier=a|b"}}]}`,
		`{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Patient","id":"a"},"request":{"method":"PUT","url":"Patient/a","ifMatch":"W/\"1\""}}]}`,
		`{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Binary","contentType":"application/json-patch+json","data":"W10="},"request":{"method":"PATCH","url":"Patient/a"}}]}`,
		`{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Observation","status":"final","code":{},"performer":[{"reference":"Organization?identifier=x"}]},"request":{"method":"POST","url":"Observation","ifNoneExist":"_id=1"}}]}`,
		`{"resourceType":"Bundle","type":"batch","entry":[1,null,{},{"request":{}}]}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	st, err := sqlite.Open(context.Background(), f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	svc := record.New(st, validate.Resource, fhirdef.IsResourceType)
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := svc.Bundle(context.Background(), data, "http://localhost/fhir")
		if err != nil {
			if fhir.KindOf(err) == fhir.Internal {
				t.Fatalf("internal error for client input: %v", err)
			}
			return
		}
		for i, e := range res.Entries {
			if e.Err != nil && fhir.KindOf(e.Err) == fhir.Internal {
				t.Fatalf("entry %d: internal error: %v", i, e.Err)
			}
		}
	})
}
