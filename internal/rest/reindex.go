package rest

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sharedcare/sharedcare/internal/fhir"
	"github.com/sharedcare/sharedcare/internal/record"
)

// ReindexStatusOp is the system operation that reports how far the search
// index is built: GET [base]/$reindex-status. It changes nothing (so GET,
// as FHIR allows for such operations) and answers a Parameters resource:
//
//	scope       valueCode     conditional | all (--search-index)
//	generation  valueString   the generation this server indexes with
//	complete    valueBoolean  every type current
//	type        part, one per type not current or with resources:
//	  type        valueCode     the resource type
//	  state       valueCode     current | rebuilding | pending
//	  generation  valueString   what its rows are complete at (absent mid-rebuild)
//	  target      valueString   the generation searches need
//	  done        valueDecimal  resources rebuilt
//	  total       valueDecimal  resources to rebuild (absent before it starts)
//	  percent     valueDecimal  0-100, 100 only when current
//	  owner       valueString   the process rebuilding it
//	  started     valueInstant
//	  updated     valueInstant
//
// Counts are decimals because a type may hold more resources than
// valueInteger's 32 bits.
const ReindexStatusOp = "$reindex-status"

func (s *Server) reindexStatus(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		s.notAllowed(w, r, "GET, HEAD")
		return
	}
	st, err := s.Svc.ReindexStatus(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, statusParameters(st))
}

func statusParameters(st *record.IndexStatus) map[string]any {
	params := []any{
		map[string]any{"name": "scope", "valueCode": st.Scope},
		map[string]any{"name": "generation", "valueString": st.Generation},
		map[string]any{"name": "complete", "valueBoolean": st.Complete},
	}
	for _, ts := range st.Types {
		part := []any{
			map[string]any{"name": "type", "valueCode": ts.Type},
			map[string]any{"name": "state", "valueCode": ts.State},
		}
		if ts.Generation != "" {
			part = append(part, map[string]any{"name": "generation", "valueString": ts.Generation})
		}
		part = append(part,
			map[string]any{"name": "target", "valueString": ts.Want},
			map[string]any{"name": "done", "valueDecimal": json.Number(strconv.FormatInt(ts.Done, 10))},
		)
		if ts.Total > 0 || ts.State != record.IndexPending {
			// A rebuild not yet begun has not counted its type.
			part = append(part, map[string]any{"name": "total", "valueDecimal": json.Number(strconv.FormatInt(ts.Total, 10))})
		}
		part = append(part, map[string]any{"name": "percent", "valueDecimal": json.Number(strconv.FormatFloat(ts.Percent(), 'f', 1, 64))})
		if ts.Owner != "" {
			part = append(part, map[string]any{"name": "owner", "valueString": ts.Owner})
		}
		if !ts.Started.IsZero() {
			part = append(part, map[string]any{"name": "started", "valueInstant": fhir.FormatInstant(ts.Started)})
		}
		if !ts.Updated.IsZero() {
			part = append(part, map[string]any{"name": "updated", "valueInstant": fhir.FormatInstant(ts.Updated)})
		}
		params = append(params, map[string]any{"name": "type", "part": part})
	}
	return map[string]any{"resourceType": "Parameters", "parameter": params}
}

// indexCollector exports how far the search index is built, read at each
// scrape from the service's cached state.
type indexCollector struct {
	svc                         *record.Service
	complete, current, done, to *prometheus.Desc
}

// NewIndexCollector returns Prometheus gauges of the search index
// rebuild: whether the index is complete, and per type that is not
// current or has resources, whether it is current and the rebuild's
// done and total.
func NewIndexCollector(svc *record.Service) prometheus.Collector {
	return &indexCollector{
		svc:      svc,
		complete: prometheus.NewDesc("sharedcare_search_index_complete", "1 when the search index of every resource type is built at the current generation.", nil, nil),
		current:  prometheus.NewDesc("sharedcare_search_index_current", "1 when the search index of the type is built at the current generation; searches on it are refused until then.", []string{"type"}, nil),
		done:     prometheus.NewDesc("sharedcare_search_index_rebuild_done", "Resources of the type rebuilt by the rebuild under way (or the last one).", []string{"type"}, nil),
		to:       prometheus.NewDesc("sharedcare_search_index_rebuild_total", "Resources of the type the rebuild under way (or the last one) has to rebuild.", []string{"type"}, nil),
	}
}

func (c *indexCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.complete
	ch <- c.current
	ch <- c.done
	ch <- c.to
}

func (c *indexCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := c.svc.ReindexStatus(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.complete, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.complete, prometheus.GaugeValue, boolGauge(st.Complete))
	for _, ts := range st.Types {
		ch <- prometheus.MustNewConstMetric(c.current, prometheus.GaugeValue, boolGauge(ts.State == record.IndexCurrent), ts.Type)
		ch <- prometheus.MustNewConstMetric(c.done, prometheus.GaugeValue, float64(ts.Done), ts.Type)
		ch <- prometheus.MustNewConstMetric(c.to, prometheus.GaugeValue, float64(ts.Total), ts.Type)
	}
}

func boolGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
