package bulk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sharedcare/sharedcare/internal/fhir"
	"github.com/sharedcare/sharedcare/internal/fhirdef"
	"github.com/sharedcare/sharedcare/internal/record"
	"github.com/sharedcare/sharedcare/internal/store"
)

// Level is what an export covers.
type Level int

const (
	// System is [base]/$export: every resource of the types asked for.
	System Level = iota
	// Patients is [base]/Patient/$export: the Patient compartment of
	// every Patient.
	Patients
	// Group is [base]/Group/{id}/$export: the Patient compartment of each
	// Patient the Group's member.entity names.
	Group
)

// ExportRequest says what to export.
type ExportRequest struct {
	Level Level
	// GroupID is the Group, for Level Group.
	GroupID string
	// Types is _type: only these resource types. Empty means every type
	// (that can be in a Patient compartment, for Patients and Group).
	Types []string
	// Since is _since: only resources last updated at or after it. Zero
	// means all.
	Since time.Time
}

// ExportOptions tune an export. The zero value writes one file per type.
type ExportOptions struct {
	// FileResources and FileBytes, when above 0, start a new file of a
	// type once its current one holds that many resources or bytes.
	FileResources int
	FileBytes     int64
	// Access sees every resource before it is written out.
	Access Access
	// Progress, if set, is called every thousand resources or so.
	Progress func(ExportProgress)
}

// ExportProgress is how far an export is.
type ExportProgress struct {
	Type      string // the type (or, for patient-level exports, "Patient" and the patient) being read
	Resources int64  // written so far
	Patients  int64  // patients done, for patient-level exports
	Elapsed   time.Duration
}

// ExportFile is one file an export wrote.
type ExportFile struct {
	Type  string // resource type ("OperationOutcome" for errors)
	Name  string // file name in the sink
	Count int64  // resources (or outcomes) in it
}

// ExportResult is what an export wrote.
type ExportResult struct {
	// TransactionTime is when the export began: every resource updated
	// before it is included (if asked for); some after it may be.
	TransactionTime time.Time
	Output          []ExportFile
	// Errors are OperationOutcome files: one outcome per resource or
	// member that could not be exported.
	Errors    []ExportFile
	Resources int64
	Elapsed   time.Duration
}

// Sink receives an export's files.
type Sink interface {
	Create(name string) (io.WriteCloser, error)
}

// DirSink writes files into a directory, which must exist.
type DirSink string

// Create implements Sink.
func (d DirSink) Create(name string) (io.WriteCloser, error) {
	return os.OpenFile(filepath.Join(string(d), name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
}

// ErrorsFile is the name of the OperationOutcome file of an export's errors
// (resource types start with a capital letter, so it cannot clash).
const ErrorsFile = "errors.ndjson"

// pageSize is how many resources one read of an export takes: search's
// largest page.
const pageSize = record.MaxCount

// CheckExport reports, as the kick-off must, what is wrong with req: an
// unknown type, a type that is never in a Patient compartment for a
// patient-level export, a Group that does not exist.
func CheckExport(ctx context.Context, svc *record.Service, req ExportRequest) error {
	for _, t := range req.Types {
		if !fhirdef.IsResourceType(t) {
			return fhir.E(fhir.Invalid, "_type: %q is not a resource type", t)
		}
		if req.Level != System && t != "Patient" && len(fhirdef.PatientCompartmentParams(t)) == 0 {
			return fhir.E(fhir.Invalid, "_type: %s is never in a Patient compartment, so a patient-level export has none", t)
		}
	}
	if req.Level == Group {
		if _, err := groupMembers(ctx, svc, req.GroupID); err != nil {
			return err
		}
	}
	return nil
}

// groupMembers reads the ids of the Patients a Group's member.entity names,
// in order, once each; inactive members are left out.
func groupMembers(ctx context.Context, svc *record.Service, id string) ([]string, error) {
	r, err := svc.Read(ctx, "Group", id)
	if err != nil {
		return nil, err
	}
	m, err := fhir.DecodeResource(r.Body)
	if err != nil {
		return nil, err
	}
	var ids []string
	seen := map[string]bool{}
	members, _ := m["member"].([]any)
	for _, mv := range members {
		mm, _ := mv.(map[string]any)
		if inactive, _ := mm["inactive"].(bool); inactive {
			continue
		}
		ent, _ := mm["entity"].(map[string]any)
		ref, _ := ent["reference"].(string)
		pid, ok := strings.CutPrefix(ref, "Patient/")
		if !ok || !record.ValidID(pid) || seen[pid] {
			continue
		}
		seen[pid] = true
		ids = append(ids, pid)
	}
	return ids, nil
}

// Export writes what req selects to sink as NDJSON, streaming it page by
// page: one file per type (several, past the options' limits), the
// current version of each resource, deletions left out. Errors about
// single resources go to ErrorsFile; the error returned is for what stops
// the export (the store's failure, ctx ending), and the files written so
// far are then incomplete.
func Export(ctx context.Context, svc *record.Service, req ExportRequest, sink Sink, o ExportOptions) (*ExportResult, error) {
	if err := CheckExport(ctx, svc, req); err != nil {
		return nil, err
	}
	ex := &exporter{svc: svc, req: req, sink: sink, o: o, start: time.Now(), files: map[string]*typeFile{}}
	ex.res.TransactionTime = svc.Now()
	var err error
	switch req.Level {
	case System:
		err = ex.system(ctx)
	case Patients:
		err = ex.allPatients(ctx)
	case Group:
		err = ex.group(ctx)
	}
	if cerr := ex.closeAll(); err == nil {
		err = cerr
	}
	ex.res.Elapsed = time.Since(ex.start)
	sort.SliceStable(ex.res.Output, func(i, j int) bool { return ex.res.Output[i].Type < ex.res.Output[j].Type })
	return &ex.res, err
}

type exporter struct {
	svc   *record.Service
	req   ExportRequest
	sink  Sink
	o     ExportOptions
	start time.Time
	files map[string]*typeFile // by type; ErrorsFile's under "OperationOutcome errors"
	res   ExportResult
	// patients done, and the type being read, for progress
	patientsDone int64
	current      string
	lastProg     int64
	// exists caches whether a Patient exists, for patient-level exports
	exists map[string]bool
}

// typeFile is the file a type is being written to.
type typeFile struct {
	typ   string
	n     int // files of the type so far
	wc    io.WriteCloser
	w     *Writer
	count int64
	errs  bool
}

const errorsKey = "\x00errors"

// system exports every type asked for, type by type, by search.
func (ex *exporter) system(ctx context.Context) error {
	types := ex.req.Types
	if len(types) == 0 {
		var err error
		if types, err = presentTypes(ctx, ex.svc); err != nil {
			return err
		}
	}
	for _, t := range types {
		ex.current = t
		p := url.Values{"_count": {strconv.Itoa(pageSize)}}
		if !ex.req.Since.IsZero() {
			p.Set("_lastUpdated", "ge"+fhir.FormatInstant(ex.req.Since))
		}
		for {
			res, err := ex.svc.Search(ctx, record.SearchRequest{Type: t, Params: p, Strict: true})
			if err != nil {
				return err
			}
			for i := range res.Matches {
				if err := ex.emit(ctx, &res.Matches[i]); err != nil {
					return err
				}
			}
			if res.Next == "" {
				break
			}
			p.Set("_page", res.Next)
		}
	}
	return nil
}

// presentTypes lists the types that have resources, when the store can say
// cheaply, else every type.
func presentTypes(ctx context.Context, svc *record.Service) ([]string, error) {
	if rx, ok := svc.Store.(store.Reindexer); ok {
		ts, err := rx.Types(ctx)
		if err != nil {
			return nil, err
		}
		return slices.DeleteFunc(ts, func(t string) bool { return !fhirdef.IsResourceType(t) }), nil
	}
	return fhirdef.ResourceTypes(), nil
}

// patients exports the compartment of every Patient, Patient by Patient.
func (ex *exporter) allPatients(ctx context.Context) error {
	p := url.Values{"_count": {strconv.Itoa(pageSize)}}
	for {
		res, err := ex.svc.Search(ctx, record.SearchRequest{Type: "Patient", Params: p, Strict: true})
		if err != nil {
			return err
		}
		for _, r := range res.Matches {
			if err := ex.compartment(ctx, r.ID, ex.patientExists); err != nil {
				return err
			}
		}
		if res.Next == "" {
			return nil
		}
		p.Set("_page", res.Next)
	}
}

// patientExists reports whether Patient/id is there (and so has its own
// compartment exported), remembering the answer.
func (ex *exporter) patientExists(ctx context.Context, id string) (bool, error) {
	if ok, known := ex.exists[id]; known {
		return ok, nil
	}
	_, err := ex.svc.Read(ctx, "Patient", id)
	ok := err == nil
	if err != nil && !fhir.Is(err, fhir.NotFound) && !fhir.Is(err, fhir.Gone) {
		return false, err
	}
	if ex.exists == nil || len(ex.exists) > 100_000 {
		ex.exists = map[string]bool{}
	}
	ex.exists[id] = ok
	return ok, nil
}

// group exports the compartment of each member Patient.
func (ex *exporter) group(ctx context.Context) error {
	ids, err := groupMembers(ctx, ex.svc, ex.req.GroupID)
	if err != nil {
		return err
	}
	members := make(map[string]bool, len(ids))
	for _, id := range ids {
		members[id] = true
	}
	inGroup := func(_ context.Context, id string) (bool, error) { return members[id], nil }
	for _, id := range ids {
		err := ex.compartment(ctx, id, inGroup)
		if fhir.Is(err, fhir.NotFound) || fhir.Is(err, fhir.Gone) {
			if err := ex.failed(fhir.E(fhir.NotFound, "Group/%s member Patient/%s: %v", ex.req.GroupID, id, err)); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// compartment exports Patient id's compartment, as Patient/$everything
// pages it (without what it adds that is nobody's). A resource in several
// exported compartments is written once: with the Patient whose record it
// is (store.Resource.PatientKey), when that one is exported too (own says
// whether it is).
func (ex *exporter) compartment(ctx context.Context, id string, own func(context.Context, string) (bool, error)) error {
	ex.current = "Patient/" + id
	p := url.Values{"_count": {strconv.Itoa(pageSize)}}
	if len(ex.req.Types) > 0 {
		p.Set("_type", strings.Join(ex.req.Types, ","))
	}
	if !ex.req.Since.IsZero() {
		p.Set("_since", fhir.FormatInstant(ex.req.Since))
	}
	for {
		res, err := ex.svc.Everything(ctx, id, p)
		if err != nil {
			return err
		}
		for i := range res.Matches {
			r := &res.Matches[i]
			if r.PatientKey != "" && r.PatientKey != id {
				elsewhere, err := own(ctx, r.PatientKey)
				if err != nil {
					return err
				}
				if elsewhere {
					continue
				}
			}
			if err := ex.emit(ctx, r); err != nil {
				return err
			}
		}
		if res.Next == "" {
			break
		}
		p.Set("_page", res.Next)
	}
	ex.patientsDone++
	return nil
}

// emit writes one resource, if Access lets it out.
func (ex *exporter) emit(ctx context.Context, r *store.Resource) error {
	if r.Deleted || len(r.Body) == 0 {
		return nil
	}
	if !ex.req.Since.IsZero() && r.LastUpdated.Before(ex.req.Since) {
		return nil // $everything opens with the Patient, whatever _since says
	}
	if err := check(ctx, ex.o.Access, Read, Subject{Type: r.Type, ID: r.ID, PatientKey: r.PatientKey, Body: r.Body}); err != nil {
		if errors.Is(err, ErrLeftOut) {
			return nil
		}
		if storeFailure(ctx, err) {
			return err
		}
		return ex.failed(fhir.Wrap(fhir.KindOf(err), err, "%s/%s: %v", r.Type, r.ID, err))
	}
	f, err := ex.file(r.Type)
	if err != nil {
		return err
	}
	if err := f.w.Write(r.Body); err != nil {
		return fmt.Errorf("write %s: %w", r.Type, err)
	}
	f.count++
	ex.res.Resources++
	if ex.o.Progress != nil && ex.res.Resources-ex.lastProg >= 1000 {
		ex.lastProg = ex.res.Resources
		ex.o.Progress(ExportProgress{Type: ex.current, Resources: ex.res.Resources, Patients: ex.patientsDone, Elapsed: time.Since(ex.start)})
	}
	return nil
}

// failed writes an OperationOutcome for one resource or member that could
// not be exported.
func (ex *exporter) failed(err error) error {
	f, ferr := ex.file(errorsKey)
	if ferr != nil {
		return ferr
	}
	b, merr := fhir.Marshal(fhir.Outcome(err))
	if merr != nil {
		return merr
	}
	if err := f.w.Write(b); err != nil {
		return fmt.Errorf("write errors: %w", err)
	}
	f.count++
	return nil
}

func storeFailure(ctx context.Context, err error) bool {
	return ctx.Err() != nil || errors.Is(err, store.ErrClosed) || fhir.KindOf(err) == fhir.Internal
}

// file returns the open file of typ, starting a new one past the limits.
func (ex *exporter) file(typ string) (*typeFile, error) {
	f := ex.files[typ]
	if f != nil && f.wc != nil && (ex.o.FileResources > 0 && f.count >= int64(ex.o.FileResources) || ex.o.FileBytes > 0 && f.w.Bytes() >= ex.o.FileBytes) {
		if err := ex.closeFile(f); err != nil {
			return nil, err
		}
	}
	if f == nil {
		f = &typeFile{typ: typ, errs: typ == errorsKey}
		ex.files[typ] = f
	}
	if f.wc == nil {
		f.n++
		name := f.nameOf()
		wc, err := ex.sink.Create(name)
		if err != nil {
			return nil, err
		}
		f.wc, f.w, f.count = wc, NewWriter(wc), 0
		ft := ExportFile{Type: typ, Name: name}
		if f.errs {
			ft.Type = "OperationOutcome"
			ex.res.Errors = append(ex.res.Errors, ft)
		} else {
			ex.res.Output = append(ex.res.Output, ft)
		}
	}
	return f, nil
}

// closeFile flushes and closes f's current file and records its count.
func (ex *exporter) closeFile(f *typeFile) error {
	err := f.w.Flush()
	if cerr := f.wc.Close(); err == nil {
		err = cerr
	}
	list := ex.res.Output
	if f.errs {
		list = ex.res.Errors
	}
	for i := len(list) - 1; i >= 0; i-- {
		if list[i].Name == f.nameOf() {
			list[i].Count = f.count
			break
		}
	}
	f.wc, f.w = nil, nil
	return err
}

func (f *typeFile) nameOf() string {
	name := f.typ + ".ndjson"
	if f.errs {
		name = ErrorsFile
	}
	if f.n > 1 {
		name = strings.TrimSuffix(name, ".ndjson") + "-" + strconv.Itoa(f.n) + ".ndjson"
	}
	return name
}

func (ex *exporter) closeAll() error {
	var err error
	for _, f := range ex.files {
		if f.wc != nil {
			if cerr := ex.closeFile(f); err == nil {
				err = cerr
			}
		}
	}
	return err
}
