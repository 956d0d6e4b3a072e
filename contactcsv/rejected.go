package contactcsv

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"strconv"

	"pregon/csvsafe"
)

// rejectedFile is rejected.csv: one row per rejected line, with its line
// number and reason, then the row's cells as they were, so the user can fix
// it and import the same file again (the line and reason columns are
// ignored on import). Its committed length is saved with each batch; on
// resume the file is cut back to it.
type rejectedFile struct {
	f    *os.File
	buf  *bufio.Writer
	csv  *csv.Writer
	size int64
}

func openRejected(path string, committed int64, header []string) (*rejectedFile, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening rejected.csv: %w", err)
	}
	if err := f.Truncate(committed); err != nil {
		f.Close()
		return nil, fmt.Errorf("cutting rejected.csv back to its last commit: %w", err)
	}
	if _, err := f.Seek(committed, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	rf := &rejectedFile{f: f, buf: bufio.NewWriterSize(f, 64<<10), size: committed}
	rf.csv = csv.NewWriter(rf.buf)
	if committed == 0 {
		rf.buf.WriteString(bom)
		if err := rf.csv.Write(append([]string{"line", "reason"}, header...)); err != nil {
			f.Close()
			return nil, err
		}
	}
	return rf, nil
}

func (rf *rejectedFile) write(r *row) error {
	rec := make([]string, 0, len(r.raw)+2)
	rec = append(rec, strconv.Itoa(r.line), r.reject)
	for _, v := range r.raw {
		rec = append(rec, csvsafe.Escape(v))
	}
	return rf.csv.Write(rec)
}

// flush writes what is buffered and returns the file's length.
func (rf *rejectedFile) flush() (int64, error) {
	rf.csv.Flush()
	if err := rf.csv.Error(); err != nil {
		return 0, fmt.Errorf("writing rejected.csv: %w", err)
	}
	if err := rf.buf.Flush(); err != nil {
		return 0, fmt.Errorf("writing rejected.csv: %w", err)
	}
	n, err := rf.f.Seek(0, io.SeekCurrent)
	if err != nil {
		return 0, err
	}
	rf.size = n
	return n, nil
}

// rollback drops what was written after size (a batch that did not commit).
func (rf *rejectedFile) rollback(size int64) error {
	rf.buf.Reset(rf.f)
	rf.csv = csv.NewWriter(rf.buf)
	if err := rf.f.Truncate(size); err != nil {
		return err
	}
	_, err := rf.f.Seek(size, io.SeekStart)
	rf.size = size
	return err
}

func (rf *rejectedFile) close() error { return rf.f.Close() }
