package contactcsv

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"pregon/contacts"
	"pregon/csvfile"
	"pregon/csvsafe"
)

// consent values of a row's opt_in cell.
const (
	consentNone = iota
	consentIn
	consentOut
)

// row is one data record, normalized by a worker. Empty values mean "the
// file says nothing": an import never clears a stored value.
type row struct {
	line   int
	raw    []string
	reject string // why the row is rejected, when it is

	key string // the normalized identifier value; "" for a new contact by id
	id  string // the id column, when importing by id

	// c holds what the row says, normalized by the shared contact rules
	// (contacts.Normalize): attributes, tags (the row's then the form's),
	// custom fields.
	c                  contacts.Contact
	whatsapp, telegram string // normalized identifiers (contacts.NormalizeIdentifier)
	// tagsJSON and fieldsJSON are c's tags and fields as stored for a new
	// contact, encoded by the worker to spare the writer; createdEvent is
	// the contact.imported payload of the row if it creates a contact, up
	// to the identities only the writer knows (see eventPayload).
	tagsJSON, fieldsJSON string
	createdEvent         []byte

	consent   int
	consentAt time.Time // zero means the import time
}

// normalizer turns records into rows. It is read-only after construction,
// so workers share it.
type normalizer struct {
	h        Header
	defs     contacts.FieldDefs
	region   string
	ident    Identifier
	mode     Mode
	formTags []string
}

var (
	sciNumber    = regexp.MustCompile(`^[0-9](?:[.,][0-9]+)?[eE]\+?[0-9]+$`)
	contactID    = regexp.MustCompile(`^[a-z0-9]{15}$`)
	maxNameRunes = 200
)

func (n *normalizer) normalize(rec csvfile.Record) row {
	r := row{line: rec.Line, raw: rec.Fields}
	if rec.Unclosed {
		r.reject = "a quoted cell is never closed: everything from here to the end of the file was read as one row; close the quote (\")"
		return r
	}
	if err := n.fill(&r, rec.Fields); err != nil {
		r.reject = err.Error()
	}
	return r
}

func (n *normalizer) fill(r *row, f []string) error {
	h := &n.h
	c := contacts.Contact{
		FirstName: h.get(f, colFirstName), LastName: h.get(f, colLastName), Email: h.get(f, colEmail),
		Phone: h.get(f, colPhone), Language: h.get(f, colLanguage), Country: h.get(f, colCountry),
		Timezone: h.get(f, colTimezone), Tags: append(contacts.SplitTags(h.get(f, colTags)), n.formTags...),
	}
	for _, name := range []string{"first_name", "last_name"} {
		if utf8.RuneCountInString(c.Attr(name)) > maxNameRunes {
			return fmt.Errorf("%s is longer than %d characters", name, maxNameRunes)
		}
	}
	if len(h.fields) > 0 {
		c.Fields = make(map[string]any, len(h.fields))
		for _, fc := range h.fields {
			if fc.idx < len(f) {
				if v := csvsafe.Unescape(strings.TrimSpace(f[fc.idx])); v != "" {
					c.Fields[fc.key] = v
				}
			}
		}
	}
	rawPhone := c.Phone
	if fe := contacts.Normalize(&c, n.defs, n.region); len(fe) > 0 {
		if _, bad := fe["phone"]; bad && sciNumber.MatchString(rawPhone) {
			fe["phone"] = scientific(rawPhone)
		}
		return fe
	}
	r.c = c
	var err error
	if v := h.get(f, colWhatsApp); v != "" {
		if r.whatsapp, err = contacts.NormalizeIdentifier(contacts.KindWhatsApp, v, n.region); err != nil {
			if sciNumber.MatchString(v) {
				return fmt.Errorf("whatsapp: %s", scientific(v))
			}
			return err
		}
	}
	if v := h.get(f, colTelegram); v != "" {
		if r.telegram, err = contacts.NormalizeIdentifier(contacts.KindTelegram, v, n.region); err != nil {
			return err
		}
	}
	if v := h.get(f, colOptIn); v != "" {
		if r.consent, r.consentAt, err = optIn(v); err != nil {
			return err
		}
	}
	r.tagsJSON, r.fieldsJSON = jsonText(c.Tags), jsonText(c.Fields)
	if r.createdEvent, err = json.Marshal(contacts.NewImported(r.line, contacts.Compare(nil, c))); err != nil {
		return fmt.Errorf("encoding the row's event: %w", err)
	}
	return n.identify(r, f)
}

// identify sets the row's key: the identifier value it is matched by.
func (n *normalizer) identify(r *row, f []string) error {
	switch n.ident {
	case ByPhone:
		if r.key = r.c.Phone; r.key == "" {
			return fmt.Errorf("phone is empty; it is the identifier of this import")
		}
	case ByEmail:
		if r.key = r.c.Email; r.key == "" {
			return fmt.Errorf("email is empty; it is the identifier of this import")
		}
	case ByID:
		v := n.h.get(f, colID)
		switch {
		case v == "" && n.mode == UpdateOnly:
			return fmt.Errorf("id is empty; it is the identifier of this import")
		case v == "":
			// A new contact: nothing to match, a fresh id.
		case !contactID.MatchString(v):
			return fmt.Errorf("id %q is not a contact id (15 lower-case letters and digits)", v)
		}
		r.key, r.id = v, v
	}
	return nil
}

// scientific explains a phone that a spreadsheet turned into a number in
// scientific notation (5.21551E+12): its digits are lost, only the user can
// restore them.
func scientific(v string) string {
	return fmt.Sprintf("phone %q was turned into a number by the spreadsheet and lost its digits; format the column as Text and type the numbers again", v)
}

// optIn reads an opt_in cell: yes / no (English or Spanish) or the date the
// contact opted in.
func optIn(v string) (int, time.Time, error) {
	switch strings.ToLower(v) {
	case "yes", "y", "true", "1", "si", "sí", "s", "x", "opted_in":
		return consentIn, time.Time{}, nil
	case "no", "n", "false", "0", "opted_out":
		return consentOut, time.Time{}, nil
	}
	t, err := contacts.ParseDate(v)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("opt_in %q is not yes, no or a date (YYYY-MM-DD or DD/MM/YYYY)", v)
	}
	if t.After(time.Now().Add(24 * time.Hour)) {
		return 0, time.Time{}, fmt.Errorf("opt_in %q is a date in the future", v)
	}
	return consentIn, t.UTC(), nil
}

// jsonText encodes tags or fields the way the contact rules store them:
// always a list or an object, never NULL.
func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "null"
	}
	return string(b)
}
