package sqlbuild

import "github.com/sharedcare/sharedcare/internal/store"

// IndexTable describes one search index table: every row is (res_type,
// res_id, patient_key) followed by Cols, param first.
type IndexTable struct {
	Name string
	Cols []string
	// Len is how many rows of this table ix holds.
	Len func(ix *store.Index) int
	// Row appends the values of row i (in Cols order) to out.
	Row func(ix *store.Index, i int, out []any) []any
}

// IndexTables are the search index tables, in the order Put writes them.
var IndexTables = []IndexTable{
	{"idx_token", []string{"param", "system", "code", "display"},
		func(ix *store.Index) int { return len(ix.Tokens) },
		func(ix *store.Index, i int, out []any) []any {
			r := &ix.Tokens[i]
			return append(out, r.Param, r.System, r.Code, r.Display)
		}},
	{"idx_string", []string{"param", "norm", "exact"},
		func(ix *store.Index) int { return len(ix.Strings) },
		func(ix *store.Index, i int, out []any) []any {
			r := &ix.Strings[i]
			return append(out, r.Param, r.Norm, r.Exact)
		}},
	{"idx_date", []string{"param", "low", "high"},
		func(ix *store.Index) int { return len(ix.Dates) },
		func(ix *store.Index, i int, out []any) []any {
			r := &ix.Dates[i]
			return append(out, r.Param, r.Low, r.High)
		}},
	{"idx_reference", []string{"param", "ref_type", "ref_id", "ref_version", "url", "id_system", "id_value"},
		func(ix *store.Index) int { return len(ix.References) },
		func(ix *store.Index, i int, out []any) []any {
			r := &ix.References[i]
			return append(out, r.Param, r.Type, r.ID, r.Version, r.URL, r.IDSystem, r.IDValue)
		}},
	{"idx_quantity", []string{"param", "value", "low", "high", "system", "code", "canon_value", "canon_code"},
		func(ix *store.Index) int { return len(ix.Quantities) },
		func(ix *store.Index, i int, out []any) []any {
			r := &ix.Quantities[i]
			return append(out, r.Param, r.Value, r.Low, r.High, r.System, r.Code, r.CanonValue, r.CanonCode)
		}},
	{"idx_number", []string{"param", "value", "low", "high"},
		func(ix *store.Index) int { return len(ix.Numbers) },
		func(ix *store.Index, i int, out []any) []any {
			r := &ix.Numbers[i]
			return append(out, r.Param, r.Value, r.Low, r.High)
		}},
	{"idx_uri", []string{"param", "uri"},
		func(ix *store.Index) int { return len(ix.URIs) },
		func(ix *store.Index, i int, out []any) []any {
			r := &ix.URIs[i]
			return append(out, r.Param, r.URI)
		}},
	{"idx_composite", []string{"param", "c1", "c2", "c3"},
		func(ix *store.Index) int { return len(ix.Composites) },
		func(ix *store.Index, i int, out []any) []any {
			r := &ix.Composites[i]
			return append(out, r.Param, r.C1, r.C2, r.C3)
		}},
	{"idx_compartment", []string{"param", "patient"},
		func(ix *store.Index) int { return len(ix.Compartments) },
		func(ix *store.Index, i int, out []any) []any {
			r := &ix.Compartments[i]
			return append(out, r.Param, r.Patient)
		}},
	{"idx_text", []string{"param", "text"},
		func(ix *store.Index) int { return len(ix.Texts) },
		func(ix *store.Index, i int, out []any) []any {
			r := &ix.Texts[i]
			return append(out, r.Param, r.Text)
		}},
}

// Scan returns destinations for one row of table t (in Cols order) and a
// function that appends the scanned row to ix. It serves IndexOf, which
// tests use to see what Put stored.
func (t IndexTable) Scan() (dest []any, add func(ix *store.Index)) {
	switch t.Name {
	case "idx_token":
		var r store.Token
		return []any{&r.Param, &r.System, &r.Code, &r.Display}, func(ix *store.Index) { ix.Tokens = append(ix.Tokens, r) }
	case "idx_string":
		var r store.String
		return []any{&r.Param, &r.Norm, &r.Exact}, func(ix *store.Index) { ix.Strings = append(ix.Strings, r) }
	case "idx_date":
		var r store.Date
		return []any{&r.Param, &r.Low, &r.High}, func(ix *store.Index) { ix.Dates = append(ix.Dates, r) }
	case "idx_reference":
		var r store.Reference
		return []any{&r.Param, &r.Type, &r.ID, &r.Version, &r.URL, &r.IDSystem, &r.IDValue}, func(ix *store.Index) { ix.References = append(ix.References, r) }
	case "idx_quantity":
		var r store.Quantity
		return []any{&r.Param, &r.Value, &r.Low, &r.High, &r.System, &r.Code, &r.CanonValue, &r.CanonCode}, func(ix *store.Index) { ix.Quantities = append(ix.Quantities, r) }
	case "idx_number":
		var r store.Number
		return []any{&r.Param, &r.Value, &r.Low, &r.High}, func(ix *store.Index) { ix.Numbers = append(ix.Numbers, r) }
	case "idx_uri":
		var r store.URI
		return []any{&r.Param, &r.URI}, func(ix *store.Index) { ix.URIs = append(ix.URIs, r) }
	case "idx_composite":
		var r store.Composite
		return []any{&r.Param, &r.C1, &r.C2, &r.C3}, func(ix *store.Index) { ix.Composites = append(ix.Composites, r) }
	case "idx_compartment":
		var r store.Compartment
		return []any{&r.Param, &r.Patient}, func(ix *store.Index) { ix.Compartments = append(ix.Compartments, r) }
	case "idx_text":
		var r store.Text
		return []any{&r.Param, &r.Text}, func(ix *store.Index) { ix.Texts = append(ix.Texts, r) }
	}
	panic("sqlbuild: unknown index table " + t.Name)
}

// IndexQuery selects the rows of table t for one resource.
func IndexQuery(d Dialect, t IndexTable, typ, id string) *Query {
	q := New(d)
	q.S("SELECT ")
	for i, c := range t.Cols {
		if i > 0 {
			q.S(", ")
		}
		q.S(c)
	}
	q.S(" FROM " + t.Name + " WHERE res_type = ").A(typ).S(" AND res_id = ").A(id)
	return q
}

// InsertRows writes a multi-row INSERT of n rows into t with ? placeholders.
func InsertRows(t IndexTable, n int) string {
	var b []byte
	// OR IGNORE: nothing here can conflict (no unique keys; no value is
	// NULL), and without a possible ABORT SQLite needs no statement journal
	// for a multi-row INSERT inside the savepoint, which otherwise costs more
	// than the insert itself.
	b = append(b, "INSERT OR IGNORE INTO "...)
	b = append(b, t.Name...)
	b = append(b, " (res_type, res_id, patient_key"...)
	for _, c := range t.Cols {
		b = append(b, ", "...)
		b = append(b, c...)
	}
	b = append(b, ") VALUES "...)
	for i := 0; i < n; i++ {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, "(?, ?, ?"...)
		for range t.Cols {
			b = append(b, ", ?"...)
		}
		b = append(b, ')')
	}
	return string(b)
}
