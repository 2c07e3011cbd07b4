package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// pinStats writes fixed planner statistics (sqlite_stat1) describing the
// shape of a shared care record rather than measuring it. Without
// statistics SQLite's planner guesses, and picks, for example, a walk of
// every reference row of a type over a seek by value; measured statistics
// (ANALYZE) take seconds on a large database, hold the write lock, and go
// stale as data arrives. Pinned ones make plans the same on every database
// and every day: each index's selectivity is what matters, and that is a
// property of the schema (a value narrows a parameter to a few rows, a
// resource has a few rows per parameter), not of the data. The search
// planner (sqlbuild) decides which condition drives from its own capped
// counts; these figures only steer SQLite to the right index for each.
//
// The stat line is: rows in the index, then the average rows per distinct
// value of each prefix of its columns.
func pinStats(ctx context.Context, db *sql.DB) error {
	const n = "1000000"
	stats := [][3]string{
		{"resource", "resource", "1000000 50000 1"},
		{"resource", "resource_patient", "1000000 500"},
		{"resource_version", "sqlite_autoindex_resource_version_1", "2000000 100000 2 1"},
		{"resource_version", "resource_version_history", "2000000 2 2 2 1"},
		{"resource_version", "resource_version_type_history", "2000000 100000 2 2 1"},
		{"idx_token", "idx_token_lookup", n + " 50000 5000 20 10 1"},
		{"idx_token", "idx_token_resource", n + " 50000 10 2 1 1"},
		{"idx_string", "idx_string_lookup", n + " 50000 5000 10 1"},
		{"idx_string", "idx_string_resource", n + " 50000 10 2 1"},
		{"idx_date", "idx_date_lookup", n + " 50000 5000 10 5 1"},
		{"idx_date", "idx_date_resource", n + " 50000 10 2 1 1"},
		{"idx_reference", "idx_reference_lookup", n + " 50000 5000 10 5 1"},
		{"idx_reference", "idx_reference_resource", n + " 50000 10 2 1 1"},
		{"idx_reference", "idx_reference_url", n + " 50000 5000 10"},
		{"idx_reference", "idx_reference_identifier", n + " 50000 5000 10 5"},
		{"idx_quantity", "idx_quantity_lookup", n + " 50000 5000 500 10 1"},
		{"idx_quantity", "idx_quantity_canon", n + " 50000 5000 500 10 1"},
		{"idx_quantity", "idx_quantity_resource", n + " 50000 10"},
		{"idx_number", "idx_number_lookup", n + " 50000 5000 10 1"},
		{"idx_number", "idx_number_resource", n + " 50000 10"},
		{"idx_uri", "idx_uri_lookup", n + " 50000 5000 10 1"},
		{"idx_uri", "idx_uri_resource", n + " 50000 10"},
		{"idx_composite", "idx_composite_lookup", n + " 50000 5000 50 10"},
		{"idx_composite", "idx_composite_resource", n + " 50000 10"},
		{"idx_compartment", "idx_compartment_lookup", n + " 2000 100 1"},
		{"idx_compartment", "idx_compartment_resource", n + " 50000 2 1"},
		{"idx_text", "idx_text_resource", n + " 50000 2"},
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	// ANALYZE of an empty table creates sqlite_stat1 when it is missing.
	if _, err := tx.ExecContext(ctx, "ANALYZE goose_db_version"); err != nil {
		return fmt.Errorf("create sqlite_stat1: %w", err)
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM sqlite_stat1"); err != nil {
		return err
	}
	var b strings.Builder
	args := []any{}
	b.WriteString("INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES ")
	for i, s := range stats {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?, ?)")
		args = append(args, s[0], s[1], s[2])
	}
	if _, err := tx.ExecContext(ctx, b.String(), args...); err != nil {
		return fmt.Errorf("pin statistics: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	// Connections load statistics when they open; this one reloads them.
	_, err = db.ExecContext(ctx, "ANALYZE sqlite_schema")
	return err
}
