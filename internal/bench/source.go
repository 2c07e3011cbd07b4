package bench

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Bundle is one transaction or batch Bundle for the ingest workload.
type Bundle struct {
	// Name says where it came from, for messages.
	Name string
	JSON []byte
	// Resources is the number of its entries: what it adds to the count
	// of resources loaded when the server accepts it.
	Resources int
	// Phase orders dependencies: a Source returns Bundles in
	// non-decreasing Phase, and ingest has every Bundle of a phase
	// accepted before it sends the first of the next (reference data
	// before the records that point at it). Most Sources need only one.
	Phase int
}

// Source gives the Bundles to load, one at a time; Next returns io.EOF
// after the last.
type Source interface {
	Next() (Bundle, error)
}

// The phases of a DirSource's first path; the i-th path's are these plus
// i×PhasesPerPath, so that each path (a data set) is loaded whole before
// the next begins.
const (
	// PhaseFirst holds the files named in DirOptions.First.
	PhaseFirst = 0
	// PhaseShared holds Synthea's hospitalInformation* and
	// practitionerInformation* Bundles: the Organizations, Locations and
	// Practitioners its patient Bundles refer to conditionally.
	PhaseShared = 1
	// PhaseRecords holds everything else.
	PhaseRecords = 2
	// PhasesPerPath is the number of phases of each path.
	PhasesPerPath = 3
)

// DefaultFirst is the file the project's generator writes beside its
// shards for the shared reference data (organisations, practitioners).
var DefaultFirst = []string{"reference.json"}

// DirOptions configures OpenDir.
type DirOptions struct {
	// First names files (by base name) loaded first, before any other
	// Bundle is sent. Nil means DefaultFirst.
	First []string
}

// DirSource reads Bundles from files: *.json files (one Bundle each),
// *.ndjson files (one Bundle a line), and .tar.gz, .tgz or .zip archives of
// those. The paths it is given are data sets loaded one after the other
// (Synthea's sets each carry their own copies of shared Organizations, so
// one set's patients must be in before the next set's copies arrive).
// Within a path, files are read in sorted path order, archive members in
// the order the archive holds them (zip: sorted by name), in three
// phases: the DirOptions.First files, then Synthea's shared-resource
// Bundles (hospitalInformation*, practitionerInformation*), then the rest.
// Files
// of other kinds (README, *.txt) are ignored; a JSON file that is not a
// transaction or batch Bundle (a bulk-export NDJSON file of resources,
// say) is skipped and listed in Skipped.
type DirSource struct {
	// Skipped lists the inputs skipped so far because they held no
	// Bundle; complete once Next has returned io.EOF.
	Skipped []string

	first []string
	paths [][]string        // each path's input files, sorted
	early map[string][]item // members of archives in PhaseFirst or PhaseShared, read when opened
	next  func() (Bundle, error, bool)
	stop  func()
}

// item is one file's contents, or one archive member's.
type item struct {
	name string
	data []byte
}

// OpenDir returns a DirSource over paths, each a directory (read
// recursively) or a file. Archives are read once here to find the
// members that load early.
func OpenDir(o DirOptions, paths ...string) (*DirSource, error) {
	s := &DirSource{first: o.First, early: map[string][]item{}}
	if s.first == nil {
		s.first = DefaultFirst
	}
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			if inputKind(p) == "" {
				return nil, fmt.Errorf("%s: not a .json, .ndjson, .tar.gz, .tgz or .zip file", p)
			}
			s.paths = append(s.paths, []string{p})
			continue
		}
		var found []string
		err = filepath.WalkDir(p, func(f string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.Type().IsRegular() && inputKind(f) != "" {
				found = append(found, f)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		slices.Sort(found)
		s.paths = append(s.paths, found)
	}
	for _, f := range slices.Concat(s.paths...) {
		if k := inputKind(f); k != "tgz" {
			continue
		}
		var early []item
		err := eachTarMember(f, func(name string) bool { return s.phase(name) < PhaseRecords }, func(it item) error {
			early = append(early, it)
			return nil
		})
		if err != nil {
			return nil, err
		}
		s.early[f] = early
	}
	s.next, s.stop = iter.Pull2(s.bundles())
	return s, nil
}

// Next returns the next Bundle, or io.EOF after the last.
func (s *DirSource) Next() (Bundle, error) {
	b, err, ok := s.next()
	if !ok {
		return Bundle{}, io.EOF
	}
	return b, err
}

// Close releases the files of a source not read to its end.
func (s *DirSource) Close() error {
	s.stop()
	return nil
}

// inputKind is what kind of input a file name says it is, or "" for
// none.
func inputKind(name string) string {
	switch n := strings.ToLower(name); {
	case strings.HasSuffix(n, ".ndjson"):
		return "ndjson"
	case strings.HasSuffix(n, ".json"):
		return "json"
	case strings.HasSuffix(n, ".tar.gz"), strings.HasSuffix(n, ".tgz"):
		return "tgz"
	case strings.HasSuffix(n, ".zip"):
		return "zip"
	}
	return ""
}

// phase is the phase of a file or archive member by its name.
func (s *DirSource) phase(name string) int {
	base := path.Base(filepath.ToSlash(name))
	switch {
	case slices.Contains(s.first, base):
		return PhaseFirst
	case strings.HasPrefix(base, "hospitalInformation"), strings.HasPrefix(base, "practitionerInformation"):
		return PhaseShared
	}
	return PhaseRecords
}

// bundles yields every Bundle, path by path and phase by phase.
func (s *DirSource) bundles() iter.Seq2[Bundle, error] {
	return func(yield func(Bundle, error) bool) {
		for i, files := range s.paths {
			for ph := PhaseFirst; ph <= PhaseRecords; ph++ {
				for _, f := range files {
					if !s.yieldFile(f, ph, i*PhasesPerPath+ph, yield) {
						return
					}
				}
			}
		}
	}
}

// yieldFile yields the Bundles of phase ph in file f, as phase out;
// false means stop.
func (s *DirSource) yieldFile(f string, ph, out int, yield func(Bundle, error) bool) bool {
	emit := func(it item) error {
		if !s.yieldItem(it, out, yield) {
			return errStop
		}
		return nil
	}
	var err error
	switch inputKind(f) {
	case "json", "ndjson":
		if s.phase(f) != ph {
			return true
		}
		var data []byte
		if data, err = os.ReadFile(f); err == nil {
			err = emit(item{f, data})
		}
	case "tgz":
		if ph < PhaseRecords {
			for _, it := range s.early[f] {
				if s.phase(it.name) == ph {
					if err = emit(it); err != nil {
						break
					}
				}
			}
		} else {
			err = eachTarMember(f, func(name string) bool { return s.phase(name) == PhaseRecords }, emit)
		}
	case "zip":
		err = eachZipMember(f, func(name string) bool { return s.phase(name) == ph }, emit)
	}
	switch {
	case err == errStop:
		return false
	case err != nil:
		return yield(Bundle{}, err)
	}
	return true
}

// errStop ends a walk of an archive early, without an error.
var errStop = errors.New("stop")

// yieldItem yields the Bundles of one .json or .ndjson file or member.
func (s *DirSource) yieldItem(it item, ph int, yield func(Bundle, error) bool) bool {
	if inputKind(it.name) == "json" {
		b, ok, err := newBundle(it.name, it.data, ph)
		switch {
		case err != nil:
			return yield(Bundle{}, err)
		case !ok:
			s.Skipped = append(s.Skipped, it.name)
			return true
		}
		return yield(b, nil)
	}
	r := bufio.NewReaderSize(bytes.NewReader(it.data), 64<<10)
	for line, first := 1, true; ; line++ {
		raw, err := r.ReadBytes('\n')
		if len(bytes.TrimSpace(raw)) > 0 {
			name := it.name + ":" + strconv.Itoa(line)
			b, ok, err := newBundle(name, raw, ph)
			switch {
			case err != nil:
				return yield(Bundle{}, err)
			case !ok && first:
				// A bulk-export file of resources, not of Bundles.
				s.Skipped = append(s.Skipped, it.name)
				return true
			case !ok:
				return yield(Bundle{}, fmt.Errorf("%s: not a transaction or batch Bundle, unlike the lines before", name))
			}
			first = false
			if !yield(b, nil) {
				return false
			}
		}
		if err == io.EOF {
			return true
		}
		if err != nil {
			return yield(Bundle{}, err)
		}
	}
}

// newBundle reads what ingest needs of one JSON document; ok is false
// when it is not a transaction or batch Bundle.
func newBundle(name string, data []byte, ph int) (b Bundle, ok bool, err error) {
	rt, typ, n, err := scanBundle(data)
	if err != nil {
		return Bundle{}, false, fmt.Errorf("%s: %v", name, err)
	}
	if rt != "Bundle" || (typ != "transaction" && typ != "batch") {
		return Bundle{}, false, nil
	}
	return Bundle{Name: name, JSON: data, Resources: n, Phase: ph}, true, nil
}

// eachTarMember calls f with each .json or .ndjson member of a gzipped
// tar archive whose name pick accepts, in archive order, reading the
// archive as a stream.
func eachTarMember(archive string, pick func(string) bool, f func(item) error) error {
	fh, err := os.Open(archive)
	if err != nil {
		return err
	}
	defer fh.Close()
	zr, err := gzip.NewReader(bufio.NewReaderSize(fh, 1<<20))
	if err != nil {
		return fmt.Errorf("%s: %v", archive, err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %v", archive, err)
		}
		k := inputKind(h.Name)
		if h.Typeflag != tar.TypeReg || (k != "json" && k != "ndjson") || !pick(h.Name) {
			continue
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return fmt.Errorf("%s: %s: %v", archive, h.Name, err)
		}
		if err := f(item{archive + ":" + h.Name, data}); err != nil {
			return err
		}
	}
}

// eachZipMember calls f with each .json or .ndjson member of a zip
// archive whose name pick accepts, sorted by name.
func eachZipMember(archive string, pick func(string) bool, f func(item) error) error {
	zr, err := zip.OpenReader(archive)
	if err != nil {
		return err
	}
	defer zr.Close()
	files := slices.Clone(zr.File)
	slices.SortFunc(files, func(a, b *zip.File) int { return strings.Compare(a.Name, b.Name) })
	for _, zf := range files {
		k := inputKind(zf.Name)
		if zf.FileInfo().IsDir() || (k != "json" && k != "ndjson") || !pick(zf.Name) {
			continue
		}
		rc, err := zf.Open()
		if err != nil {
			return fmt.Errorf("%s: %s: %v", archive, zf.Name, err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return fmt.Errorf("%s: %s: %v", archive, zf.Name, err)
		}
		if err := f(item{archive + ":" + zf.Name, data}); err != nil {
			return err
		}
	}
	return nil
}
