package broadcasts

import (
	"strings"

	"github.com/pocketbase/dbx"

	"pregon/contacts"
)

// RenderTextSQL compiles a text with variables as a broadcast's content for
// the external tests: the SQL expression over contacts c and its params.
func RenderTextSQL(text string, defs contacts.FieldDefs, language string) (string, dbx.Params, error) {
	q := &qb{p: dbx.Params{}}
	expr, err := TypeContent{Text: text}.sql(newSQLWriter(q, defs, language))
	return expr, q.p, err
}

// RenderModel is the reference the SQL renderer must agree with: the
// variables of a checked text replaced by the contact's values (keyed like
// "first_name" or "fields.city"), or the fallback where a value is empty.
func RenderModel(text string, defs contacts.FieldDefs, values map[string]string) (string, error) {
	parts, err := parseText(text, defs)
	if err != nil {
		return "", err
	}
	var sb strings.Builder
	for _, p := range parts {
		if p.variable == "" {
			sb.WriteString(p.literal)
			continue
		}
		v := values[p.variable]
		if v == "" {
			v = p.fallback
		}
		sb.WriteString(v)
	}
	return sb.String(), nil
}
