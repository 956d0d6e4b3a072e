package csvfile

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/transform"
)

// DefaultMaxRecord bounds one record. Past it, a quote was almost surely
// left open and the rest of the file is being read as one cell: the reader
// stops instead of swallowing the file into memory.
const DefaultMaxRecord = 1 << 20

// Record is one CSV record.
type Record struct {
	// Line is the physical line (1-based) where the record starts: the line
	// a text editor shows, and the spreadsheet row when no cell holds a
	// line break.
	Line   int
	Fields []string
	// Unclosed is set when a quoted field ran to the end of the file: the
	// record holds everything after the open quote.
	Unclosed bool
}

// ParseError is a structural error that stops reading.
type ParseError struct {
	Line int
	Msg  string
}

func (e *ParseError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// Reader reads records. Its rules follow what spreadsheets write and what
// encoding/csv's LazyQuotes accepts: a field that starts with a quote runs to
// the closing quote ("" is a quote), text after a closing quote is kept
// as is, quotes inside unquoted fields are literal, CRLF, LF and a lone CR
// end a record, blank lines are skipped, records may have any number of
// fields. A field that is not valid UTF-8 is decoded as Windows-1252 (a
// superset of Latin-1's printable characters), so legacy and mixed files
// read right whatever Sniff guessed.
type Reader struct {
	src       io.Reader
	delim     byte
	MaxRecord int

	buf      []byte
	pos, end int
	eof      bool
	err      error

	line      int // physical line of the next byte
	rec       []byte
	ends      []int
	bomOK     bool
	crPending bool
	skipSep   bool
}

// NewReader reads r, positioned at the start of the file, in format f.
func NewReader(r io.Reader, f Format) *Reader {
	if f.Encoding == UTF16LE || f.Encoding == UTF16BE {
		r = transform.NewReader(r, utf16Decoding(f.Encoding).NewDecoder())
	}
	d := f.Delimiter
	if d == 0 {
		d = ','
	}
	return &Reader{src: r, delim: d, MaxRecord: DefaultMaxRecord, buf: make([]byte, 256<<10), line: 1, skipSep: f.SepLine}
}

// ensure makes at least n unread bytes available unless the input ends
// first; it reports whether it could. The first call also drops a UTF-8 BOM.
func (r *Reader) ensure(n int) bool {
	if !r.bomOK {
		r.fill(3)
		r.bomOK = true
		if bytes.HasPrefix(r.buf[r.pos:r.end], []byte("\xEF\xBB\xBF")) {
			r.pos += 3
		}
	}
	r.fill(n)
	return r.end-r.pos >= n
}

func (r *Reader) fill(n int) {
	for r.end-r.pos < n && !r.eof {
		if r.pos > 0 {
			copy(r.buf, r.buf[r.pos:r.end])
			r.end -= r.pos
			r.pos = 0
		}
		if r.end == len(r.buf) {
			r.buf = append(r.buf, make([]byte, len(r.buf))...)
		}
		m, err := r.src.Read(r.buf[r.end:])
		r.end += m
		if err == io.EOF {
			r.eof = true
		} else if err != nil {
			r.eof, r.err = true, err
		}
	}
}

// Read returns the next record, or io.EOF after the last one.
func (r *Reader) Read() (Record, error) {
	if r.skipSep {
		r.skipSep = false
		if _, _, err := r.readRecord(); err != nil {
			return Record{}, err
		}
	}
	for {
		rec, blank, err := r.readRecord()
		if err != nil {
			return Record{}, err
		}
		if !blank {
			return rec, nil
		}
	}
}

func (r *Reader) tooLong(start int) error {
	return &ParseError{Line: start, Msg: fmt.Sprintf("a record is longer than %d KiB; a quote (\") is probably left open in it", r.MaxRecord>>10)}
}

func (r *Reader) readRecord() (rec Record, blank bool, err error) {
	if !r.ensure(1) {
		if r.err != nil {
			return rec, false, fmt.Errorf("reading the file: %w", r.err)
		}
		return rec, false, io.EOF
	}
	r.rec, r.ends = r.rec[:0], r.ends[:0]
	rec.Line = r.line
	quoted := false
	for {
		// One field. A leading quote starts a quoted part.
		if r.ensure(1) && r.buf[r.pos] == '"' {
			quoted = true
			r.crPending = false
			r.pos++
			closed := false
			for !closed {
				if !r.ensure(1) {
					rec.Unclosed = true
					r.ends = append(r.ends, len(r.rec))
					return r.finish(rec), false, nil
				}
				chunk := r.buf[r.pos:r.end]
				i := bytes.IndexByte(chunk, '"')
				if i < 0 {
					i = len(chunk)
				}
				r.appendQuoted(chunk[:i])
				r.pos += i
				if len(r.rec) > r.MaxRecord {
					r.err = r.tooLong(rec.Line)
					r.eof = true
					return rec, false, r.err
				}
				if r.pos == r.end {
					continue
				}
				r.pos++ // the quote
				if r.ensure(1) && r.buf[r.pos] == '"' {
					r.rec = append(r.rec, '"')
					r.crPending = false
					r.pos++
					continue
				}
				closed = true
			}
		}
		// The unquoted part: a whole unquoted field, or what follows a
		// closing quote.
		for {
			if !r.ensure(1) {
				r.ends = append(r.ends, len(r.rec))
				return r.finish(rec), !quoted && len(r.ends) == 1 && len(r.rec) == 0, nil
			}
			chunk := r.buf[r.pos:r.end]
			i := 0
			for i < len(chunk) && chunk[i] != r.delim && chunk[i] != '\n' && chunk[i] != '\r' {
				i++
			}
			r.rec = append(r.rec, chunk[:i]...)
			r.pos += i
			if len(r.rec) > r.MaxRecord {
				r.err = r.tooLong(rec.Line)
				r.eof = true
				return rec, false, r.err
			}
			if i == len(chunk) {
				continue
			}
			c := chunk[i]
			r.pos++
			r.ends = append(r.ends, len(r.rec))
			if c == r.delim {
				break // next field
			}
			if c == '\r' && r.ensure(1) && r.buf[r.pos] == '\n' {
				r.pos++
			}
			r.line++
			return r.finish(rec), !quoted && len(r.ends) == 1 && len(r.rec) == 0, nil
		}
	}
}

// appendQuoted appends the inside of a quoted field, turning CRLF into LF
// and counting lines. A CR that ends a chunk is kept and marked: if the
// next chunk starts with LF, the pair becomes one LF.
func (r *Reader) appendQuoted(b []byte) {
	if r.crPending && len(b) > 0 && b[0] == '\n' {
		r.rec[len(r.rec)-1] = '\n'
		r.line++
		b = b[1:]
	}
	r.crPending = false
	for len(b) > 0 {
		i := bytes.IndexAny(b, "\r\n")
		if i < 0 {
			r.rec = append(r.rec, b...)
			return
		}
		r.rec = append(r.rec, b[:i]...)
		switch {
		case b[i] == '\n':
			r.rec = append(r.rec, '\n')
			r.line++
		case i+1 < len(b) && b[i+1] == '\n':
			r.rec = append(r.rec, '\n')
			r.line++
			i++
		default:
			r.rec = append(r.rec, '\r')
			r.crPending = i+1 == len(b)
		}
		b = b[i+1:]
	}
}

// finish turns the record bytes into strings: one allocation per record,
// fields sliced from it.
func (r *Reader) finish(rec Record) Record {
	s := string(r.rec)
	rec.Fields = make([]string, len(r.ends))
	prev := 0
	for i, e := range r.ends {
		f := s[prev:e]
		// Per field: fields are stored back to back, so the record as a
		// whole may look valid when a field is not.
		if !utf8.ValidString(f) {
			f = decode1252(f)
		}
		rec.Fields[i] = f
		prev = e
	}
	return rec
}

func decode1252(s string) string {
	var b strings.Builder
	b.Grow(len(s) + len(s)/2)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < utf8.RuneSelf {
			b.WriteByte(c)
			continue
		}
		b.WriteRune(charmap.Windows1252.DecodeByte(c))
	}
	return b.String()
}
