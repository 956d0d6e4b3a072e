package broadcasts

import (
	"fmt"
	"strings"

	"pregon/contacts"
	"pregon/segments"
)

// Variables personalise a broadcast's text, template parameters and media
// caption per contact:
//
//	{{contact.first_name}}          a contact attribute
//	{{contact.fields.city}}         a custom field, by key
//	{{contact.first_name|cliente}}  with a fallback for an empty value
//
// The names mirror a contact record's JSON ({"first_name":…, "fields":{"city":…}}),
// so an integrator reads them the way they read the API. Spaces inside the
// braces are ignored; the fallback is everything after the first "|",
// trimmed. Anything else between "{{" and "}}" is an error that names it.

// attributeSQL maps the attributes a broadcast may use to their SQL over the
// contacts table aliased c. NULLs (rows written around the hooks) read as
// empty.
var attributeSQL = map[string]string{
	"id":         "c.id",
	"first_name": "COALESCE(c.first_name, '')",
	"last_name":  "COALESCE(c.last_name, '')",
	"name":       "trim(COALESCE(c.first_name, '') || ' ' || COALESCE(c.last_name, ''))",
	"email":      "COALESCE(c.email, '')",
	"phone":      "COALESCE(c.phone, '')",
	"country":    "COALESCE(c.country, '')",
	"language":   "COALESCE(c.language, '')",
}

// attributeNames lists attributeSQL's keys in the order error messages show them.
var attributeNames = []string{"first_name", "last_name", "name", "email", "phone", "country", "language", "id"}

// part is a piece of a text with variables: a literal, or a variable with
// its fallback.
type part struct {
	literal  string
	variable string // "first_name" or "fields.city"; "" for a literal
	fallback string
}

// parseText splits s into literals and variables, checking every variable
// against the attributes and the custom fields defined in defs.
func parseText(s string, defs contacts.FieldDefs) ([]part, error) {
	var parts []part
	rest := s
	for {
		i := strings.Index(rest, "{{")
		if i < 0 {
			if rest != "" {
				parts = append(parts, part{literal: rest})
			}
			return parts, nil
		}
		if i > 0 {
			parts = append(parts, part{literal: rest[:i]})
		}
		j := strings.Index(rest[i+2:], "}}")
		if j < 0 {
			return nil, fmt.Errorf("%q opens a variable with {{ but never closes it with }}", clipText(rest[i:], 40))
		}
		inner := rest[i+2 : i+2+j]
		p, err := parseVariable(inner, defs)
		if err != nil {
			return nil, err
		}
		parts = append(parts, p)
		rest = rest[i+2+j+2:]
	}
}

func parseVariable(inner string, defs contacts.FieldDefs) (part, error) {
	name, fallback, _ := strings.Cut(inner, "|")
	name, fallback = strings.TrimSpace(name), strings.TrimSpace(fallback)
	whole := "{{" + inner + "}}"
	attr, ok := strings.CutPrefix(name, "contact.")
	if !ok {
		return part{}, fmt.Errorf("unknown variable %s: variables start with contact., e.g. {{contact.first_name|cliente}} or {{contact.fields.%s}}",
			whole, exampleField(defs))
	}
	if key, isField := strings.CutPrefix(attr, "fields."); isField {
		if _, known := defs[key]; !known {
			return part{}, fmt.Errorf("unknown variable %s: there is no custom field %q; known fields: %s",
				whole, key, orNone(strings.Join(defs.Keys(), ", ")))
		}
		return part{variable: attr, fallback: fallback}, nil
	}
	if _, known := attributeSQL[attr]; !known {
		return part{}, fmt.Errorf("unknown variable %s: use one of contact.%s, or contact.fields.<key> for a custom field",
			whole, strings.Join(attributeNames, ", contact."))
	}
	return part{variable: attr, fallback: fallback}, nil
}

func exampleField(defs contacts.FieldDefs) string {
	if keys := defs.Keys(); len(keys) > 0 {
		return keys[0]
	}
	return "city"
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func clipText(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// sqlWriter turns parsed texts into SQL expressions over contacts c, with
// every literal and fallback bound as a parameter (never spliced into SQL).
type sqlWriter struct {
	*qb
	defs contacts.FieldDefs
	// dayFirst writes dates as DD/MM/YYYY (Spanish and Portuguese
	// workspaces), else YYYY-MM-DD.
	dayFirst bool
	yes, no  string // how a boolean field reads
}

func newSQLWriter(q *qb, defs contacts.FieldDefs, language string) *sqlWriter {
	w := &sqlWriter{qb: q, defs: defs, yes: "yes", no: "no"}
	switch l := strings.ToLower(language); {
	case strings.HasPrefix(l, "es"):
		w.dayFirst, w.yes = true, "sí"
	case strings.HasPrefix(l, "pt"):
		w.dayFirst, w.yes, w.no = true, "sim", "não"
	}
	return w
}

// text returns the SQL of a parsed text: a constant when it has no
// variables, else the concatenation of its parts.
func (w *sqlWriter) text(parts []part) string {
	if len(parts) == 0 {
		return w.bind("")
	}
	terms := make([]string, len(parts))
	for i, p := range parts {
		if p.variable == "" {
			terms[i] = w.bind(p.literal)
			continue
		}
		v := w.value(p.variable)
		if p.fallback != "" {
			terms[i] = "COALESCE(NULLIF(" + v + ", ''), " + w.bind(p.fallback) + ")"
		} else {
			terms[i] = "COALESCE(" + v + ", '')"
		}
	}
	if len(terms) == 1 {
		return terms[0]
	}
	return "(" + strings.Join(terms, " || ") + ")"
}

// value is a variable's value as text; NULL or ” when the contact has none.
func (w *sqlWriter) value(variable string) string {
	key, isField := strings.CutPrefix(variable, "fields.")
	if !isField {
		return attributeSQL[variable]
	}
	d := w.defs[key]
	fx := segments.FieldExpr(d, "c")
	switch d.Type {
	case contacts.FieldNumber:
		return "CAST(" + fx + " AS TEXT)"
	case contacts.FieldBoolean:
		return "(CASE " + fx + " WHEN 'true' THEN " + w.bind(w.yes) + " WHEN 'false' THEN " + w.bind(w.no) + " END)"
	case contacts.FieldDate:
		if w.dayFirst {
			return "(CASE WHEN " + fx + " GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]' THEN substr(" + fx +
				", 9, 2) || '/' || substr(" + fx + ", 6, 2) || '/' || substr(" + fx + ", 1, 4) ELSE " + fx + " END)"
		}
	}
	return fx
}
