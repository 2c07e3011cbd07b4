package audit

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// segments keep the embedded log's AuditEvents in files of their own, one
// event per line (NDJSON: canonical JSON has no raw newline), while SQLite
// keeps each entry's hashes, the columns reports filter on and where its
// event is (segment, offset, length).
//
// Why: in SQLite every byte of a ~2 KB event was written twice, to the
// write-ahead log and again by the checkpoint, two system calls per 4 KiB
// page each time; that was most of the writer's CPU, which a read's
// request competes with on a small machine. Here a batch's events are one
// write and one fsync. docs/AUDIT.md has the measurements.
//
// Only the writer holding the database's write lock writes, at the end of
// what the database references: so servers sharing the log cannot
// interleave, and whatever an interrupted commit wrote past that end is
// cut off by the next. Readers only read what committed rows reference,
// which nothing ever rewrites.
type segments struct {
	dir string
	max int64 // segmentMax; tests rotate sooner

	mu    sync.Mutex
	files map[int64]*os.File // open for reading and, the writer's, writing
}

// segmentMax is the size past which the writer starts a new segment: files
// small enough to copy, archive or check one at a time.
const segmentMax = 64 << 20

func newSegments(dir string) (*segments, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	return &segments{dir: dir, max: segmentMax, files: map[int64]*os.File{}}, nil
}

// SegmentsDir is where the log in the SQLite database at path keeps its
// events: beside it, "audit.db" → "audit-events".
func SegmentsDir(path string) string {
	return strings.TrimSuffix(path, filepath.Ext(path)) + "-events"
}

func (s *segments) name(seg int64) string {
	return filepath.Join(s.dir, fmt.Sprintf("%012d.ndjson", seg))
}

// file returns segment seg, opened once and kept: readers use ReadAt and
// the writer WriteAt, neither of which moves a shared offset.
func (s *segments) file(seg int64, create bool) (*os.File, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f := s.files[seg]; f != nil {
		return f, nil
	}
	flag := os.O_RDWR
	if create {
		flag |= os.O_CREATE
	}
	f, err := os.OpenFile(s.name(seg), flag, 0o640)
	if err != nil && !create && os.IsPermission(err) {
		f, err = os.Open(s.name(seg)) // a verifier with read access only
	}
	if err != nil {
		return nil, err
	}
	s.files[seg] = f
	return f, nil
}

// tail is where the next event goes, given where the last committed one
// ends (seg 0: none is in a segment yet).
func (s *segments) tail(seg, end int64) (int64, int64) {
	if seg == 0 {
		return 1, 0
	}
	if end >= s.max {
		return seg + 1, 0
	}
	return seg, end
}

// write puts buf at off in segment seg, dropping whatever lies past off
// (what an interrupted commit left), and makes it durable before the
// database's commit refers to it.
func (s *segments) write(seg, off int64, buf []byte) error {
	f, err := s.file(seg, true)
	if err != nil {
		return fmt.Errorf("audit: segment %d: %w", seg, err)
	}
	if off == 0 {
		// A new file: its name must survive a power cut too.
		if d, err := os.Open(s.dir); err == nil {
			d.Sync()
			d.Close()
		}
	}
	if err := f.Truncate(off); err != nil {
		return fmt.Errorf("audit: segment %d: %w", seg, err)
	}
	if _, err := f.WriteAt(buf, off); err != nil {
		return fmt.Errorf("audit: segment %d: %w", seg, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("audit: segment %d: %w", seg, err)
	}
	return nil
}

// cut drops what lies past end in segment seg. A segment that is gone
// (Verify reports its entries) must not stop the log moving on.
func (s *segments) cut(seg, end int64) error {
	f, err := s.file(seg, false)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err == nil {
		err = f.Truncate(end)
	}
	if err != nil {
		return fmt.Errorf("audit: segment %d: %w", seg, err)
	}
	return nil
}

// read returns the event at off in segment seg. A missing or cut file
// reads as an error that Verify reports against the entry.
func (s *segments) read(seg, off, n int64) ([]byte, error) {
	f, err := s.file(seg, false)
	if err != nil {
		return nil, fmt.Errorf("audit: segment %d: %w", seg, err)
	}
	b := make([]byte, n)
	if _, err := f.ReadAt(b, off); err != nil {
		return nil, fmt.Errorf("audit: segment %d at %d: %w", seg, off, err)
	}
	return b, nil
}

func (s *segments) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for seg, f := range s.files {
		errs = append(errs, f.Close())
		delete(s.files, seg)
	}
	return errors.Join(errs...)
}
