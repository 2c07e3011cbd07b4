// Package bulk moves whole populations in and out of the record: FHIR Bulk
// Data export (https://hl7.org/fhir/uv/bulkdata/, v2) to NDJSON files, and
// import of NDJSON (and, from the command line, Bundle) files in the style
// of the Bulk Data import proposal. It sits on record.Service, so an import
// is validated and indexed exactly as any other write, and an export reads
// what a search would.
//
// The work is in three pieces, used by the REST API (internal/rest) and
// by the `import` and `export` commands alike:
//
//   - Import reads inputs line by line, stages each resource on every core
//     (decode, validate, serialise, index rows: record.Service.Stage) and
//     feeds one writer that stores them in large transactions
//     (record.Service.WriteStaged, which uses the store's bulk path:
//     multi-row INSERTs on SQLite, COPY on PostgreSQL). Rejected lines are
//     reported with their line number and why; the rest are loaded.
//   - Export streams current resources page by page from the record
//     service (system and type level by search, Patient and Group level by
//     each patient's compartment, as Patient/$everything finds it) into
//     NDJSON files, one or more per type.
//   - Manager runs either as an asynchronous job for the API: kick-off,
//     status, manifest, files, cancellation. Jobs live in this process
//     only; their files live under a directory of their own.
//
// Access control is not here yet. Every resource an export reads and every
// resource an import writes passes through one function, Options.Access
// (Check), which is where the access rules will apply.
package bulk
