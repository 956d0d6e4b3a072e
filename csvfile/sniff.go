// Package csvfile reads the CSV files real users upload: UTF-8 with or
// without a BOM, Windows-1252 / Latin-1 (legacy Excel), UTF-16 (Excel's
// "Unicode text"), comma, semicolon (Spanish-locale Excel), tab or bar
// delimiters, CRLF or LF line ends, and quoted fields with newlines.
package csvfile

import (
	"bytes"
	"fmt"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/unicode"
)

// SniffSize is how much of the file's head Sniff wants to see.
const SniffSize = 64 << 10

// Encodings Sniff reports.
const (
	UTF8    = "utf-8"
	UTF8BOM = "utf-8 (BOM)"
	UTF16LE = "utf-16le"
	UTF16BE = "utf-16be"
	// Windows1252 is reported when the head is not valid UTF-8; the reader
	// decides per field anyway (see Reader), so mixed files read right.
	Windows1252 = "windows-1252"
)

// Format is what Sniff learned about a file.
type Format struct {
	Encoding  string
	Delimiter byte
	// SepLine is set when the file starts with Excel's "sep=;" line, which
	// names the delimiter; the reader skips it.
	SepLine bool
}

// NotCSVError says why a file cannot be read as CSV, in words meant for the
// person who uploaded it.
type NotCSVError struct{ Reason string }

func (e *NotCSVError) Error() string { return e.Reason }

// ErrEmpty is returned for a file with no content.
var ErrEmpty = &NotCSVError{Reason: "the file is empty; export your contacts as CSV with a header row and at least one row"}

// magic numbers of files people upload by mistake instead of a CSV.
var magics = []struct {
	prefix []byte
	reason string
}{
	{[]byte("PK\x03\x04"), "this is an Excel file (.xlsx, or another ZIP archive), not CSV; open it in Excel or LibreOffice and save it as CSV (UTF-8)"},
	{[]byte("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1"), "this is an old Excel file (.xls) or another Office document, not CSV; save it as CSV (UTF-8)"},
	{[]byte("%PDF"), "this is a PDF document, not CSV; export your contacts as CSV (UTF-8)"},
	{[]byte("\x89PNG"), "this is an image (PNG), not CSV; upload a CSV file"},
	{[]byte("\xFF\xD8\xFF"), "this is an image (JPEG), not CSV; upload a CSV file"},
	{[]byte("GIF8"), "this is an image (GIF), not CSV; upload a CSV file"},
	{[]byte("\x1F\x8B"), "this is a compressed (gzip) file; decompress it and upload the CSV inside"},
	{[]byte("{\\rtf"), "this is a rich-text document (RTF), not CSV; save it as CSV (UTF-8)"},
}

// Sniff looks at the head of a file (up to SniffSize bytes) and tells its
// encoding and delimiter, or why it is not a CSV file at all.
func Sniff(head []byte) (Format, error) {
	if len(head) == 0 {
		return Format{}, ErrEmpty
	}
	for _, m := range magics {
		if bytes.HasPrefix(head, m.prefix) {
			return Format{}, &NotCSVError{Reason: m.reason}
		}
	}
	var f Format
	text := head
	switch {
	case bytes.HasPrefix(head, []byte("\xEF\xBB\xBF")):
		f.Encoding = UTF8BOM
		text = head[3:]
	case bytes.HasPrefix(head, []byte("\xFF\xFE")), bytes.HasPrefix(head, []byte("\xFE\xFF")):
		f.Encoding = UTF16LE
		if head[0] == 0xFE {
			f.Encoding = UTF16BE
		}
		dec, err := utf16Decoding(f.Encoding).NewDecoder().Bytes(head[:len(head)&^1])
		if err != nil {
			return Format{}, &NotCSVError{Reason: "the file starts like UTF-16 text but cannot be decoded; save it as CSV (UTF-8)"}
		}
		text = dec
	default:
		f.Encoding = UTF8
		if !validUTF8Head(head) {
			f.Encoding = Windows1252
		}
	}
	if len(bytes.TrimSpace(text)) == 0 {
		return Format{}, ErrEmpty
	}
	if binary(text) {
		return Format{}, &NotCSVError{Reason: "this is not a text file (it contains binary data); upload a CSV file"}
	}
	if d, ok := sepLine(text); ok {
		f.Delimiter, f.SepLine = d, true
		return f, nil
	}
	f.Delimiter = sniffDelimiter(text)
	return f, nil
}

// validUTF8Head is utf8.Valid, forgiving a rune cut at the end of the head.
func validUTF8Head(b []byte) bool {
	for i := 0; i < utf8.UTFMax && len(b) > 0; i++ {
		if utf8.Valid(b) {
			return true
		}
		if len(b) < SniffSize-utf8.UTFMax {
			return false // not cut by the head limit: really invalid
		}
		b = b[:len(b)-1]
	}
	return utf8.Valid(b)
}

// binary reports whether text holds NULs or many control characters, which
// no spreadsheet writes into a CSV.
func binary(text []byte) bool {
	if bytes.IndexByte(text, 0) >= 0 {
		return true
	}
	ctl := 0
	for _, c := range text {
		if (c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f') || c == 0x7F {
			ctl++
		}
	}
	return ctl > len(text)/100+1
}

// sepLine reads Excel's optional first line "sep=X".
func sepLine(text []byte) (byte, bool) {
	if len(text) < 5 || !bytes.EqualFold(text[:4], []byte("sep=")) {
		return 0, false
	}
	d, rest := text[4], text[5:]
	if d == '\n' || d == '\r' || d == '"' || d >= 0x80 || (len(rest) > 0 && rest[0] != '\n' && rest[0] != '\r') {
		return 0, false
	}
	return d, true
}

// candidates are the delimiters spreadsheets write, in order of preference
// on a tie.
var candidates = []byte{',', ';', '\t', '|'}

// sniffDelimiter picks the delimiter that splits the first lines into the
// same, largest number of fields, counting outside quotes. The header line
// counts most: values such as "12,5" in Spanish-locale files are not split.
// A file with a single column gets a comma.
func sniffDelimiter(text []byte) byte {
	lines := splitLogicalLines(text, 20)
	best, bestScore := byte(','), 0
	for _, d := range candidates {
		if len(lines) == 0 {
			break
		}
		n := countOutsideQuotes(lines[0], d)
		if n == 0 {
			continue
		}
		score := n * 10
		for _, l := range lines[1:] {
			if countOutsideQuotes(l, d) == n {
				score++
			}
		}
		if score > bestScore {
			best, bestScore = d, score
		}
	}
	return best
}

// splitLogicalLines splits text into at most max lines, keeping quoted
// newlines inside their line; the last, possibly cut, line is dropped when
// there are others.
func splitLogicalLines(text []byte, max int) [][]byte {
	var out [][]byte
	inQuote, start := false, 0
	for i, c := range text {
		switch {
		case c == '"':
			inQuote = !inQuote
		case (c == '\n' || c == '\r') && !inQuote:
			if i > start {
				out = append(out, text[start:i])
				if len(out) == max {
					return out
				}
			}
			start = i + 1
		}
	}
	if start < len(text) && (len(out) == 0 || len(text) < SniffSize) {
		out = append(out, text[start:])
	}
	return out
}

func countOutsideQuotes(line []byte, d byte) int {
	n, inQuote := 0, false
	for _, c := range line {
		if c == '"' {
			inQuote = !inQuote
		} else if c == d && !inQuote {
			n++
		}
	}
	return n
}

// utf16Decoding returns the decoding of a UTF-16 encoding Sniff reported;
// the decoder drops the BOM.
func utf16Decoding(enc string) encoding.Encoding {
	if enc == UTF16BE {
		return unicode.UTF16(unicode.BigEndian, unicode.ExpectBOM)
	}
	return unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM)
}

func (f Format) String() string {
	d := string(f.Delimiter)
	switch f.Delimiter {
	case '\t':
		d = "tab"
	case ',':
		d = "comma"
	case ';':
		d = "semicolon"
	case '|':
		d = "bar"
	}
	return fmt.Sprintf("%s, %s-delimited", f.Encoding, d)
}
