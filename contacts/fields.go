package contacts

import (
	"encoding/json"
	"fmt"
	"math"
	"net/mail"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pocketbase/pocketbase/core"
)

// FieldType is a custom field's type (contact_fields.type).
type FieldType string

const (
	FieldText    FieldType = "text"
	FieldNumber  FieldType = "number"
	FieldDate    FieldType = "date"
	FieldBoolean FieldType = "boolean"
	FieldList    FieldType = "list"
	FieldEmail   FieldType = "email"
	FieldPhone   FieldType = "phone"
	FieldURL     FieldType = "url"
)

// MaxFieldText bounds a text field's value.
const MaxFieldText = 2000

// FieldDef is one custom field definition.
type FieldDef struct {
	Key     string    `db:"key" json:"key"`
	Label   string    `db:"label" json:"label"`
	Type    FieldType `db:"type" json:"type"`
	Options []string  `json:"options,omitempty"`
}

// FieldDefs maps a field key to its definition.
type FieldDefs map[string]FieldDef

// LoadFieldDefs reads every custom field definition.
func LoadFieldDefs(app core.App) (FieldDefs, error) {
	var rows []struct {
		Key     string `db:"key"`
		Label   string `db:"label"`
		Type    string `db:"type"`
		Options string `db:"options"`
	}
	if err := app.DB().NewQuery("SELECT key, label, type, COALESCE(options, '') AS options FROM contact_fields").All(&rows); err != nil {
		return nil, fmt.Errorf("reading custom field definitions: %w", err)
	}
	defs := make(FieldDefs, len(rows))
	for _, r := range rows {
		d := FieldDef{Key: r.Key, Label: r.Label, Type: FieldType(r.Type)}
		if r.Options != "" && r.Options != "null" {
			if err := json.Unmarshal([]byte(r.Options), &d.Options); err != nil {
				return nil, fmt.Errorf("custom field %q has malformed options: %w", r.Key, err)
			}
		}
		defs[r.Key] = d
	}
	return defs, nil
}

// Keys returns the defined keys, sorted.
func (defs FieldDefs) Keys() []string {
	out := make([]string, 0, len(defs))
	for k := range defs {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Validate checks every value in fields against defs and returns the stored
// form: keys without a definition are an error, and a nil or empty value
// removes the key. region parses phone-typed fields.
func (defs FieldDefs) Validate(fields map[string]any, region string) (map[string]any, error) {
	out := make(map[string]any, len(fields))
	for _, k := range sortedKeys(fields) {
		d, ok := defs[k]
		if !ok {
			known := "none is defined yet"
			if len(defs) > 0 {
				known = "known: " + strings.Join(defs.Keys(), ", ")
			}
			return nil, fmt.Errorf("there is no custom field %q; define it in contact_fields first (%s)", k, known)
		}
		v, err := d.Coerce(fields[k], region)
		if err != nil {
			return nil, err
		}
		if v != nil {
			out[k] = v
		}
	}
	return out, nil
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Coerce validates one value for d and returns the form stored in
// contacts.fields: text, email, phone, url, list and date are strings
// (dates as YYYY-MM-DD), number a float64, boolean a bool. v may be a JSON
// value from the API or a string from a CSV cell. nil or "" means "no value"
// and returns nil.
func (d FieldDef) Coerce(v any, region string) (any, error) {
	if v == nil {
		return nil, nil
	}
	if s, ok := v.(string); ok {
		s = strings.TrimSpace(s)
		if s == "" {
			return nil, nil
		}
		v = s
	}
	switch d.Type {
	case FieldText:
		s, ok := v.(string)
		if !ok {
			return nil, d.errf(v, "is not text")
		}
		if n := len([]rune(s)); n > MaxFieldText {
			return nil, d.errf(nil, fmt.Sprintf("is %d characters long; the maximum is %d", n, MaxFieldText))
		}
		return s, nil
	case FieldNumber:
		return d.number(v)
	case FieldBoolean:
		return d.boolean(v)
	case FieldDate:
		s, ok := v.(string)
		if !ok {
			return nil, d.errf(v, "is not a date; write YYYY-MM-DD or DD/MM/YYYY")
		}
		t, err := ParseDate(s)
		if err != nil {
			return nil, d.errf(v, "is not a date; write YYYY-MM-DD or DD/MM/YYYY")
		}
		return t.Format(time.DateOnly), nil
	case FieldList:
		s, ok := v.(string)
		if !ok {
			return nil, d.errf(v, "is not one of the options")
		}
		for _, o := range d.Options {
			if strings.EqualFold(o, s) {
				return o, nil
			}
		}
		return nil, d.errf(v, "is not one of the options: "+strings.Join(d.Options, ", "))
	case FieldEmail:
		s, ok := v.(string)
		if !ok {
			return nil, d.errf(v, "is not an e-mail address")
		}
		e, err := NormalizeEmail(s)
		if err != nil {
			return nil, d.errf(v, "is not an e-mail address")
		}
		return e, nil
	case FieldPhone:
		s, ok := v.(string)
		if !ok {
			return nil, d.errf(v, "is not a phone number")
		}
		p, err := NormalizePhone(s, region)
		if err != nil {
			return nil, fmt.Errorf("custom field %q: %w", d.Key, err)
		}
		return p, nil
	case FieldURL:
		s, ok := v.(string)
		if !ok {
			return nil, d.errf(v, "is not a URL")
		}
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, d.errf(v, "is not a URL; write it with http:// or https://")
		}
		return s, nil
	}
	return nil, fmt.Errorf("custom field %q has unknown type %q", d.Key, d.Type)
}

func (d FieldDef) errf(v any, what string) error {
	if v == nil {
		return fmt.Errorf("custom field %q (%s) %s", d.Key, d.Type, what)
	}
	return fmt.Errorf("custom field %q (%s): %s %s", d.Key, d.Type, quote(v), what)
}

func quote(v any) string {
	if s, ok := v.(string); ok {
		if len(s) > 60 {
			s = s[:57] + "..."
		}
		return strconv.Quote(s)
	}
	b, _ := json.Marshal(v)
	if len(b) > 60 {
		b = append(b[:57], "..."...)
	}
	return string(b)
}

func (d FieldDef) number(v any) (any, error) {
	var f float64
	switch x := v.(type) {
	case float64:
		f = x
	case int:
		f = float64(x)
	case int64:
		f = float64(x)
	case json.Number:
		var err error
		if f, err = x.Float64(); err != nil {
			return nil, d.errf(v, "is not a number")
		}
	case string:
		s := strings.ReplaceAll(x, " ", "")
		// A lone comma is a decimal comma (es-419 spreadsheets: "12,5").
		// With both separators the grouping is ambiguous: refuse, don't guess.
		if strings.Count(s, ",") == 1 && !strings.Contains(s, ".") {
			s = strings.Replace(s, ",", ".", 1)
		}
		var err error
		if f, err = strconv.ParseFloat(s, 64); err != nil {
			return nil, d.errf(v, "is not a number; write digits with a decimal point, e.g. 1234.5")
		}
	default:
		return nil, d.errf(v, "is not a number")
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, d.errf(v, "is not a finite number")
	}
	return f, nil
}

func (d FieldDef) boolean(v any) (any, error) {
	switch x := v.(type) {
	case bool:
		return x, nil
	case float64:
		if x == 0 || x == 1 {
			return x == 1, nil
		}
	case string:
		switch strings.ToLower(x) {
		case "true", "yes", "y", "1", "si", "sí", "s", "verdadero", "x":
			return true, nil
		case "false", "no", "n", "0", "falso":
			return false, nil
		}
	}
	return nil, d.errf(v, "is not yes/no; write true, false, yes, no, sí or no")
}

// ParseDate reads the date formats found in real spreadsheets: ISO
// (2026-03-31, or a full timestamp), and day-first 31/03/2026 or 31-03-2026
// (the convention across Latin America and India; month-first is not guessed).
func ParseDate(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.DateOnly, time.RFC3339, "2006-01-02 15:04:05", "2006-01-02 15:04:05.000Z", "02/01/2006", "2/1/2006", "02-01-2006", "02.01.2006"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a date; write YYYY-MM-DD or DD/MM/YYYY", s)
}

// NormalizeEmail trims and lower-cases an address and checks its form.
func NormalizeEmail(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || !strings.Contains(s[strings.LastIndexByte(s, '@')+1:], ".") {
		return "", fmt.Errorf("%q is not an e-mail address", s)
	}
	return s, nil
}
