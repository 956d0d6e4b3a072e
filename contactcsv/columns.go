// Package contactcsv imports contacts from CSV files and exports them to
// CSV, with the same columns both ways so that an export imports back
// unchanged.
package contactcsv

import (
	"fmt"
	"sort"
	"strings"

	"pregon/contacts"
	"pregon/csvsafe"
)

// Mode says what an import does with rows that match, or do not match, an
// existing contact.
type Mode string

const (
	AddUpdate  Mode = "add_update"
	AddOnly    Mode = "add_only"
	UpdateOnly Mode = "update_only"
)

// Identifier is the column that matches rows to existing contacts.
type Identifier string

const (
	ByID    Identifier = "id"
	ByPhone Identifier = "phone"
	ByEmail Identifier = "email"
)

// col is a known column.
type col int

const (
	colID col = iota
	colFirstName
	colLastName
	colPhone
	colEmail
	colLanguage
	colCountry
	colTimezone
	colTags
	colWhatsApp
	colTelegram
	colOptIn
	numCols
)

// names are the canonical headers, in export order (field:<key> columns and
// created follow).
var names = [numCols]string{"id", "first_name", "last_name", "phone", "email", "language", "country",
	"timezone", "tags", "whatsapp", "telegram", "opt_in"}

// FieldPrefix starts a custom field's column: field:<key>.
const FieldPrefix = "field:"

// InputError is a problem with the request or the file that the user must
// fix; it becomes a 400 and nothing is stored.
type InputError struct{ Msg string }

func (e *InputError) Error() string { return e.Msg }

func inputErrorf(format string, a ...any) error { return &InputError{Msg: fmt.Sprintf(format, a...)} }

// Header maps a file's columns to what they mean.
type Header struct {
	Names   []string      // the header as written, for rejected.csv
	idx     [numCols]int  // column index, -1 when absent
	fields  []fieldColumn // field:<key> columns
	Ignored []string      // headers that mean nothing here, as written
}

type fieldColumn struct {
	key string
	idx int
}

// canonical lower-cases a header and writes spaces and dashes as
// underscores: "First Name" → first_name, "contact id" → contact_id.
func canonical(h string) string {
	h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\uFEFF")))
	if strings.HasPrefix(h, FieldPrefix) {
		return FieldPrefix + strings.TrimSpace(h[len(FieldPrefix):])
	}
	return strings.Join(strings.FieldsFunc(h, func(r rune) bool { return r == ' ' || r == '-' || r == '_' }), "_")
}

// ParseHeader reads the header row. The identifier column must be there;
// id is also found as contact_id or "contact id" (the failed-messages
// export's column); field:<key> must name a defined custom field; a column
// used twice is refused; unknown columns are ignored and reported. The id
// column is read only when importing by id.
func ParseHeader(row []string, defs contacts.FieldDefs, ident Identifier) (Header, error) {
	h := Header{Names: row}
	for i := range h.idx {
		h.idx[i] = -1
	}
	seen := map[string]int{}
	var unknownFields []string
	for i, raw := range row {
		name := canonical(raw)
		if name == "contact_id" {
			name = "id"
		}
		if name == "" {
			continue // spreadsheets add empty columns; cells under them mean nothing
		}
		if prev, dup := seen[name]; dup {
			return h, inputErrorf("column %q appears twice (columns %d and %d); keep one", raw, prev+1, i+1)
		}
		seen[name] = i
		if key, ok := strings.CutPrefix(name, FieldPrefix); ok {
			if _, defined := defs[key]; !defined {
				unknownFields = append(unknownFields, key)
				continue
			}
			h.fields = append(h.fields, fieldColumn{key: key, idx: i})
			continue
		}
		c := lookup(name)
		if c < 0 || (c == colID && ident != ByID) {
			h.Ignored = append(h.Ignored, raw)
			continue
		}
		h.idx[c] = i
	}
	if len(unknownFields) > 0 {
		known := "none yet"
		if len(defs) > 0 {
			known = strings.Join(defs.Keys(), ", ")
		}
		return h, inputErrorf("there is no custom field %s; create the custom field first (Settings → Contact fields), or remove the column (defined fields: %s)",
			quoteList(unknownFields), known)
	}
	need := map[Identifier]col{ByID: colID, ByPhone: colPhone, ByEmail: colEmail}[ident]
	if h.idx[need] < 0 {
		hint := ""
		if ident == ByID {
			hint = " (also accepted: contact_id, contact id)"
		}
		return h, inputErrorf("the file has no %q column%s, which is the identifier you chose; add it or choose another identifier (columns found: %s)",
			string(ident), hint, strings.Join(row, ", "))
	}
	return h, nil
}

func lookup(name string) col {
	for c, n := range names {
		if n == name {
			return col(c)
		}
	}
	return -1
}

func quoteList(keys []string) string {
	q := make([]string, len(keys))
	for i, k := range keys {
		q[i] = fmt.Sprintf("%q", k)
	}
	return strings.Join(q, ", ")
}

// get returns the trimmed cell of column c, "" when absent or short.
func (h *Header) get(fields []string, c col) string {
	i := h.idx[c]
	if i < 0 || i >= len(fields) {
		return ""
	}
	return csvsafe.Unescape(strings.TrimSpace(fields[i]))
}

// ExportHeader is the header an export writes: the import's columns, one
// field:<key> per defined custom field (sorted), and created.
func ExportHeader(defs contacts.FieldDefs) []string {
	out := append([]string{}, names[:]...)
	keys := defs.Keys()
	sort.Strings(keys)
	for _, k := range keys {
		out = append(out, FieldPrefix+k)
	}
	return append(out, "created")
}
