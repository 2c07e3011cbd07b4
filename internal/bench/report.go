package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Result is what one workload (or one query of the search mix, or one
// operation of the CRUD mix) measured. Latencies are in milliseconds.
type Result struct {
	// Workload names it: "read", "search/token-code", "crud/create".
	Workload string `json:"workload"`
	// Query is the request of a search query, relative to the base.
	Query       string `json:"query,omitempty"`
	Concurrency int    `json:"concurrency"`
	// Requests timed in the measured phase, and its wall time.
	Requests          int64   `json:"requests"`
	Seconds           float64 `json:"seconds"`
	RequestsPerSecond float64 `json:"requests_per_second"`
	// Resources accepted (ingest only), and per second of wall time.
	Resources          int64   `json:"resources,omitempty"`
	ResourcesPerSecond float64 `json:"resources_per_second,omitempty"`
	P50                float64 `json:"p50_ms"`
	P95                float64 `json:"p95_ms"`
	P99                float64 `json:"p99_ms"`
	Max                float64 `json:"max_ms"`
	// Errors counts failed requests (warm-up included) by HTTP status,
	// "transport", "entry <status>" (a failed entry of a batch), or
	// "empty" (a search that found nothing).
	Errors         int64            `json:"errors"`
	ErrorsByStatus map[string]int64 `json:"errors_by_status,omitempty"`
	FirstError     string           `json:"first_error,omitempty"`
}

// Failed reports whether any request failed.
func (r Result) Failed() bool { return r.Errors > 0 }

// Environment is where and how a report was measured.
type Environment struct {
	Date   time.Time `json:"date"`
	Target string    `json:"target"`
	// Server is the software the target's CapabilityStatement names.
	Server      string   `json:"server,omitempty"`
	Command     []string `json:"command"`
	Hostname    string   `json:"hostname"`
	CPU         string   `json:"cpu,omitempty"`
	NumCPU      int      `json:"num_cpu"`
	GOMAXPROCS  int      `json:"gomaxprocs"`
	GoVersion   string   `json:"go_version"`
	OS          string   `json:"os"`
	Arch        string   `json:"arch"`
	Concurrency int      `json:"concurrency"`
	// Load averages at the start and end: the benchmark shares the
	// machine with the server, and perhaps with others.
	LoadStart string `json:"load_start,omitempty"`
	LoadEnd   string `json:"load_end,omitempty"`
}

// NewEnvironment describes this machine and process now.
func NewEnvironment(target string, command []string, concurrency int) Environment {
	host, _ := os.Hostname()
	return Environment{
		Date:        time.Now().UTC().Truncate(time.Second),
		Target:      target,
		Command:     command,
		Hostname:    host,
		CPU:         cpuModel(),
		NumCPU:      runtime.NumCPU(),
		GOMAXPROCS:  runtime.GOMAXPROCS(0),
		GoVersion:   runtime.Version(),
		OS:          runtime.GOOS,
		Arch:        runtime.GOARCH,
		Concurrency: concurrency,
		LoadStart:   LoadAverage(),
	}
}

// cpuModel is the first "model name" of /proc/cpuinfo, where there is one.
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	for line := range strings.Lines(string(b)) {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// LoadAverage is the 1, 5 and 15 minute load averages, where the system
// tells them.
func LoadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// Report is a whole run: where, with what, and each workload's results.
type Report struct {
	Environment Environment `json:"environment"`
	// SearchParams are the values the search mix ran with, so a later run
	// (against a peer server, say) can be given the same ones.
	SearchParams *SearchParams `json:"search_params,omitempty"`
	// Skipped lists inputs of the ingest source that held no Bundles.
	Skipped []string `json:"skipped,omitempty"`
	Results []Result `json:"results"`
}

// Err is nil when no request of any workload failed; otherwise it says
// which workloads failed and how.
func (r *Report) Err() error {
	var msgs []string
	for _, res := range r.Results {
		if !res.Failed() || strings.Contains(res.Workload, "/") && r.has(strings.SplitN(res.Workload, "/", 2)[0]) {
			continue // a part whose whole is reported
		}
		keys := slices.Sorted(maps.Keys(res.ErrorsByStatus))
		var by []string
		for _, k := range keys {
			by = append(by, fmt.Sprintf("%s ×%d", k, res.ErrorsByStatus[k]))
		}
		msgs = append(msgs, fmt.Sprintf("%s: %d failed (%s), first: %s", res.Workload, res.Errors, strings.Join(by, ", "), res.FirstError))
	}
	if len(msgs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrFailed, strings.Join(msgs, "; "))
}

// has reports whether a result named workload is in the report.
func (r *Report) has(workload string) bool {
	for _, res := range r.Results {
		if res.Workload == workload {
			return true
		}
	}
	return false
}

// WriteTable writes the results as a table for people: names left,
// numbers right.
func (r *Report) WriteTable(w io.Writer) error {
	rows := [][]string{{"workload", "requests", "rate", "p50 ms", "p95 ms", "p99 ms", "max ms", "errors"}}
	for _, res := range r.Results {
		rate := strconv.FormatFloat(res.RequestsPerSecond, 'f', 0, 64) + " req/s"
		if res.Resources > 0 {
			rate = strconv.FormatFloat(res.ResourcesPerSecond, 'f', 0, 64) + " res/s"
		}
		rows = append(rows, []string{res.Workload, strconv.FormatInt(res.Requests, 10), rate,
			fmt.Sprintf("%.2f", res.P50), fmt.Sprintf("%.2f", res.P95), fmt.Sprintf("%.2f", res.P99),
			fmt.Sprintf("%.2f", res.Max), strconv.FormatInt(res.Errors, 10)})
	}
	width := make([]int, len(rows[0]))
	for _, row := range rows {
		for i, cell := range row {
			width[i] = max(width[i], utf8.RuneCountInString(cell))
		}
	}
	var b strings.Builder
	for _, row := range rows {
		for i, cell := range row {
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(cell))
			switch {
			case i == 0:
				b.WriteString(cell + pad)
			default:
				b.WriteString("  " + pad + cell)
			}
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
