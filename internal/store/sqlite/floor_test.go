package sqlite_test

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"testing"

	"github.com/sharedcare/sharedcare/internal/fhir"
	"github.com/sharedcare/sharedcare/internal/index"
	"github.com/sharedcare/sharedcare/internal/store"
	"github.com/sharedcare/sharedcare/internal/synth"
)

// floorResource is one generated resource as the floor benchmark writes it.
type floorResource struct {
	typ, id string
	json    []byte
	ix      store.Index
}

// floorRows are the generator's resources for 300 people, decoded and
// indexed once.
func floorRows(b *testing.B) []floorResource {
	g, err := synth.New(synth.Config{Seed: 1, Patients: 300})
	if err != nil {
		b.Fatal(err)
	}
	var out []floorResource
	err = g.People(context.Background(), 1, func(p synth.Person) error {
		for _, bd := range p.Bundles {
			var bundle struct {
				Entry []struct {
					Resource json.RawMessage `json:"resource"`
				} `json:"entry"`
			}
			if err := json.Unmarshal(bd.JSON, &bundle); err != nil {
				return err
			}
			for _, e := range bundle.Entry {
				v, err := fhir.Decode(e.Resource)
				if err != nil {
					return err
				}
				m := v.(fhir.Object)
				typ, _ := m["resourceType"].(string)
				id, _ := m["id"].(string)
				ix, _ := index.Compute(m, id, index.All)
				out = append(out, floorResource{typ, id, e.Resource, ix})
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return out
}

// BenchmarkWriteFloor is not a benchmark of this store but of the engine
// under it: the least any design on modernc SQLite must spend to make the
// generator's resources durable and searchable, to compare Put against
// (docs/PERFORMANCE.md, "The floor under the write targets"). One
// goroutine, so its time per resource is one core's: the writer's.
//
//   - resources: each resource's JSON in one rowid table keyed by type and
//     id, nothing else;
//   - index: plus every index row the R4 parameters give it (the rows
//     index.Compute returns, text rows left out), in one WITHOUT ROWID
//     table whose key is the lookup (kind, parameter number, value, value,
//     resource rowid): one B-tree insert per row, integer parameter and
//     resource keys, the smallest index that search by value can use
//     (parameters are numbered by name alone; numbering each type's would
//     scatter the rows no less);
//   - index+owner: plus the same rows keyed by resource first, which a
//     design needs to find and delete a version's rows on update unless it
//     recomputes them from the old version;
//   - index-sorted: a batch's index rows inserted in key order, as a bulk
//     load can;
//   - index-built-after: index rows appended to an unindexed table and the
//     lookup index built once at the end, as only a load into an empty
//     store could.
//
// Commits are of `per` resources, synchronous=FULL in WAL mode as the store
// runs; 50 is two bundles, what a group commit gathers under 4 clients.
func BenchmarkWriteFloor(b *testing.B) {
	rows := floorRows(b)
	type key struct{ kind, param string }
	params := map[key]int64{}
	pnum := func(kind, p string) int64 {
		k := key{kind, p}
		n, ok := params[k]
		if !ok {
			n = int64(len(params) + 1)
			params[k] = n
		}
		return n
	}
	type ixRow struct {
		kind, param int64
		v1, v2      any
	}
	flat := make([][]ixRow, len(rows))
	total := 0
	for i, r := range rows {
		ix := &r.ix
		var out []ixRow
		for _, t := range ix.Tokens {
			out = append(out, ixRow{1, pnum("t", t.Param), t.Code, t.System})
		}
		for _, s := range ix.Strings {
			out = append(out, ixRow{2, pnum("s", s.Param), s.Norm, nil})
		}
		for _, d := range ix.Dates {
			out = append(out, ixRow{3, pnum("d", d.Param), d.Low, d.High})
		}
		for _, rf := range ix.References {
			out = append(out, ixRow{4, pnum("r", rf.Param), rf.ID, rf.Type})
		}
		for _, q := range ix.Quantities {
			out = append(out, ixRow{5, pnum("q", q.Param), q.Code, q.Value})
		}
		for _, n := range ix.Numbers {
			out = append(out, ixRow{6, pnum("n", n.Param), n.Value, nil})
		}
		for _, u := range ix.URIs {
			out = append(out, ixRow{7, pnum("u", u.Param), u.URI, nil})
		}
		for _, c := range ix.Composites {
			out = append(out, ixRow{8, pnum("c", c.Param), c.C1, c.C2})
		}
		for _, c := range ix.Compartments {
			out = append(out, ixRow{9, 0, c.Patient, nil})
		}
		flat[i] = out
		total += len(out)
	}
	b.Logf("%d resources, %.1f index rows each", len(rows), float64(total)/float64(len(rows)))

	for _, tc := range []struct {
		name   string
		index  bool
		owner  bool
		sorted bool
		heap   bool // index rows appended unindexed, the index built once at the end
		per    int
	}{
		{"resources/per=50", false, false, false, false, 50},
		{"index/per=50", true, false, false, false, 50},
		{"index+owner/per=50", true, true, false, false, 50},
		{"index/per=500", true, false, false, false, 500},
		{"resources/per=2000", false, false, false, false, 2000},
		{"index-sorted/per=2000", true, false, true, false, 2000},
		{"index-built-after/per=2000", true, false, false, true, 2000},
	} {
		b.Run(tc.name, func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "floor.db")
			q := url.Values{}
			for _, p := range []string{"journal_mode(WAL)", "synchronous(FULL)", "cache_size(-262144)", "wal_autocheckpoint(0)"} {
				q.Add("_pragma", p)
			}
			db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			db.SetMaxOpenConns(1)
			ddl := []string{
				`CREATE TABLE r (n INTEGER PRIMARY KEY, typ TEXT NOT NULL, id TEXT NOT NULL, json BLOB NOT NULL)`,
				`CREATE UNIQUE INDEX r_id ON r (typ, id)`,
				`CREATE TABLE ix (kind INTEGER, param INTEGER, v1, v2, res INTEGER, PRIMARY KEY (kind, param, v1, v2, res)) WITHOUT ROWID`,
				`CREATE TABLE ix_heap (kind INTEGER, param INTEGER, v1, v2, res INTEGER)`,
				`CREATE TABLE ix_owner (res INTEGER, kind INTEGER, param INTEGER, v1, v2, PRIMARY KEY (res, kind, param, v1, v2)) WITHOUT ROWID`,
			}
			for _, s := range ddl {
				if _, err := db.Exec(s); err != nil {
					b.Fatal(err)
				}
			}
			ctx := context.Background()
			conn, err := db.Conn(ctx)
			if err != nil {
				b.Fatal(err)
			}
			defer conn.Close()
			prepare := func(q string) *sql.Stmt {
				st, err := conn.PrepareContext(ctx, q)
				if err != nil {
					b.Fatal(err)
				}
				return st
			}
			insR := prepare(`INSERT INTO r (typ, id, json) VALUES (?, ?, ?)`)
			insIx := prepare(`INSERT OR IGNORE INTO ix VALUES (?, ?, ?, ?, ?)`)
			if tc.heap {
				insIx = prepare(`INSERT INTO ix_heap VALUES (?, ?, ?, ?, ?)`)
			}
			insOwn := prepare(`INSERT OR IGNORE INTO ix_owner VALUES (?, ?, ?, ?, ?)`)
			type pending struct {
				x   ixRow
				key string // v1 as text, for sorting
				res int64
			}
			var batch []pending
			b.ResetTimer()
			n := 0
			for n < b.N {
				if _, err := conn.ExecContext(ctx, "BEGIN"); err != nil {
					b.Fatal(err)
				}
				for k := 0; k < tc.per && n < b.N; k, n = k+1, n+1 {
					r := rows[n%len(rows)]
					// Later laps write new resources: the same rows
					// under other ids, as more people would.
					id := r.id
					if lap := n / len(rows); lap > 0 {
						id = fmt.Sprintf("%s-%d", r.id, lap)
					}
					res, err := insR.ExecContext(ctx, r.typ, id, r.json)
					if err != nil {
						b.Fatal(err)
					}
					if !tc.index {
						continue
					}
					rowid, _ := res.LastInsertId()
					if tc.sorted {
						for _, x := range flat[n%len(rows)] {
							batch = append(batch, pending{x, fmt.Sprint(x.v1), rowid})
						}
						continue
					}
					for _, x := range flat[n%len(rows)] {
						if _, err := insIx.ExecContext(ctx, x.kind, x.param, x.v1, x.v2, rowid); err != nil {
							b.Fatal(err)
						}
						if tc.owner {
							if _, err := insOwn.ExecContext(ctx, rowid, x.kind, x.param, x.v1, x.v2); err != nil {
								b.Fatal(err)
							}
						}
					}
				}
				// A bulk load can sort a batch's index rows into key
				// order, so each index page is dirtied once per commit
				// (values compared as text: near enough key order for
				// that).
				slices.SortFunc(batch, func(a, b pending) int {
					return cmp.Or(cmp.Compare(a.x.kind, b.x.kind), cmp.Compare(a.x.param, b.x.param),
						cmp.Compare(a.key, b.key))
				})
				for _, p := range batch {
					if _, err := insIx.ExecContext(ctx, p.x.kind, p.x.param, p.x.v1, p.x.v2, p.res); err != nil {
						b.Fatal(err)
					}
				}
				batch = batch[:0]
				if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
					b.Fatal(err)
				}
			}
			if tc.heap {
				// Only an empty store could load this way: the lookup
				// index is missing until the end.
				if _, err := conn.ExecContext(ctx, `CREATE INDEX ix_heap_lookup ON ix_heap (kind, param, v1, v2, res)`); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "resources/s")
		})
	}
}

// BenchmarkWorkFloor is the CPU every write of a generated resource needs
// before the engine sees it, on one core: decoding its JSON, and computing
// its index rows for every R4 parameter.
func BenchmarkWorkFloor(b *testing.B) {
	rows := floorRows(b)
	for _, tc := range []struct {
		name  string
		index bool
	}{{"decode", false}, {"decode+index", true}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ResetTimer()
			for i := range b.N {
				r := rows[i%len(rows)]
				v, err := fhir.Decode(r.json)
				if err != nil {
					b.Fatal(err)
				}
				if tc.index {
					index.Compute(v.(fhir.Object), r.id, index.All)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "resources/s")
		})
	}
}
