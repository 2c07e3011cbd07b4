package cli

import (
	"bytes"
	"flag"
	"strings"
	"testing"
)

func TestEnvDefaults(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    string
		wantErr bool
	}{
		{"default", nil, nil, "127.0.0.1:8080", false},
		{"env", nil, map[string]string{"SHAREDCARE_ADDR": ":9000"}, ":9000", false},
		{"flag wins", []string{"--addr", ":7000"}, map[string]string{"SHAREDCARE_ADDR": ":9000"}, ":7000", false},
		{"bad env value", nil, map[string]string{"SHAREDCARE_MAX_BODY": "lots"}, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs := flag.NewFlagSet("x", flag.ContinueOnError)
			addr := fs.String("addr", "127.0.0.1:8080", "")
			fs.Int64("max-body", 1, "")
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			err := envDefaults(fs, func(k string) string { return tc.env[k] })
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v", err)
			}
			if !tc.wantErr && *addr != tc.want {
				t.Errorf("addr %q, want %q", *addr, tc.want)
			}
		})
	}
}

func TestMainUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := Main([]string{"nonsense"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "serve") {
		t.Errorf("unknown command: code %d, %q", code, errb.String())
	}
	if code := Main([]string{"serve", "--db", "mysql://x"}, &out, &errb); code != 1 {
		t.Errorf("bad --db: code %d", code)
	}
}
