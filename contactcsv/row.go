package contactcsv

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pocketbase/pocketbase/tools/types"

	"pregon/contacts"
	"pregon/csvfile"
)

// consent values of a row's opt_in cell.
const (
	consentNone = iota
	consentIn
	consentOut
)

// row is one data record, normalized by a worker. Empty strings mean "the
// file says nothing": an import never clears a stored value.
type row struct {
	line   int
	raw    []string
	reject string // why the row is rejected, when it is

	key string // the normalized identifier value; "" for a new contact by id

	id, firstName, lastName, phone, email, language, country, timezone string
	whatsapp, telegram                                                 string

	tags   []string       // row tags then form tags, normalized
	fields map[string]any // coerced custom field values
	// tagsJSON and fieldsJSON are tags and fields as stored for a new
	// contact, encoded by the worker to spare the writer.
	tagsJSON, fieldsJSON any

	consent   int
	consentAt string // DateTime string; "" means the import time
}

// normalizer turns records into rows with the shared contact rules. It is
// read-only after construction, so workers share it.
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
	telegramID   = regexp.MustCompile(`^-?[0-9]{1,20}$`)
	waUserID     = regexp.MustCompile(`^[A-Za-z]{2}\.[A-Za-z0-9_-]{1,64}$`)
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
	var err error
	if v := h.get(f, colFirstName); v != "" {
		if r.firstName, err = name("first_name", v); err != nil {
			return err
		}
	}
	if v := h.get(f, colLastName); v != "" {
		if r.lastName, err = name("last_name", v); err != nil {
			return err
		}
	}
	if v := h.get(f, colPhone); v != "" {
		if r.phone, err = contacts.NormalizePhone(v, n.region); err != nil {
			return scientific(v, err)
		}
	}
	if v := h.get(f, colEmail); v != "" {
		if r.email, err = contacts.NormalizeEmail(v); err != nil {
			return fmt.Errorf("email: %w", err)
		}
	}
	if v := h.get(f, colLanguage); v != "" {
		if r.language, err = contacts.NormalizeLanguage(v); err != nil {
			return err
		}
	}
	if v := h.get(f, colCountry); v != "" {
		if r.country, err = contacts.NormalizeCountry(v); err != nil {
			return err
		}
	}
	if v := h.get(f, colTimezone); v != "" {
		if r.timezone, err = contacts.NormalizeTimezone(v); err != nil {
			return err
		}
	}
	if v := h.get(f, colWhatsApp); v != "" {
		if waUserID.MatchString(v) {
			r.whatsapp = v // a WhatsApp user id without a phone
		} else if r.whatsapp, err = contacts.NormalizePhone(v, n.region); err != nil {
			return fmt.Errorf("whatsapp: %w", scientific(v, err))
		}
	}
	if v := h.get(f, colTelegram); v != "" {
		if !telegramID.MatchString(v) {
			return fmt.Errorf("telegram %q is not a Telegram chat id; use the numeric id (e.g. 123456789)", v)
		}
		r.telegram = v
	}
	if v := h.get(f, colTags); v != "" || len(n.formTags) > 0 {
		if r.tags, err = contacts.NormalizeTags(append(contacts.SplitTags(v), n.formTags...)); err != nil {
			return err
		}
	}
	if len(h.fields) > 0 {
		vals := make(map[string]any, len(h.fields))
		for _, fc := range h.fields {
			if fc.idx < len(f) {
				if v := unescape(strings.TrimSpace(f[fc.idx])); v != "" {
					vals[fc.key] = v
				}
			}
		}
		if r.fields, err = n.defs.Validate(vals, n.region); err != nil {
			return err
		}
	}
	if v := h.get(f, colOptIn); v != "" {
		if r.consent, r.consentAt, err = optIn(v); err != nil {
			return err
		}
	}
	r.tagsJSON, r.fieldsJSON = jsonText(r.tags, len(r.tags) == 0), jsonText(r.fields, len(r.fields) == 0)
	return n.identify(r, f)
}

// identify sets the row's key: the identifier value it is matched by.
func (n *normalizer) identify(r *row, f []string) error {
	switch n.ident {
	case ByPhone:
		if r.key = r.phone; r.key == "" {
			return fmt.Errorf("phone is empty; it is the identifier of this import")
		}
	case ByEmail:
		if r.key = r.email; r.key == "" {
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
func scientific(v string, err error) error {
	if sciNumber.MatchString(v) {
		return fmt.Errorf("phone %q was turned into a number by the spreadsheet and lost its digits; format the column as Text and type the numbers again", v)
	}
	return err
}

func name(col, v string) (string, error) {
	if utf8.RuneCountInString(v) > maxNameRunes {
		return "", fmt.Errorf("%s is longer than %d characters", col, maxNameRunes)
	}
	return v, nil
}

// optIn reads an opt_in cell: yes / no (English or Spanish) or the date the
// contact opted in.
func optIn(v string) (int, string, error) {
	switch strings.ToLower(v) {
	case "yes", "y", "true", "1", "si", "sí", "s", "x", "opted_in":
		return consentIn, "", nil
	case "no", "n", "false", "0", "opted_out":
		return consentOut, "", nil
	}
	t, err := contacts.ParseDate(v)
	if err != nil {
		return 0, "", fmt.Errorf("opt_in %q is not yes, no or a date (YYYY-MM-DD or DD/MM/YYYY)", v)
	}
	if t.After(time.Now().Add(24 * time.Hour)) {
		return 0, "", fmt.Errorf("opt_in %q is a date in the future", v)
	}
	dt, err := types.ParseDateTime(t.UTC())
	if err != nil {
		return 0, "", fmt.Errorf("opt_in %q: %w", v, err)
	}
	return consentIn, dt.String(), nil
}

// jsonText encodes tags or fields the way PocketBase stores JSON fields;
// empty stays NULL, as for a record saved without the field.
func jsonText(v any, empty bool) any {
	if empty {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return string(b)
}
