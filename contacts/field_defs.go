package contacts

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
)

// List field limits.
const (
	MaxFieldOptions   = 500
	MaxFieldOptionLen = 100
)

// FieldDefFromRecord reads a contact_fields record. Options of the wrong
// JSON shape are a field error.
func FieldDefFromRecord(rec *core.Record) (FieldDef, FieldErrors) {
	d := FieldDef{Key: rec.GetString("key"), Label: rec.GetString("label"), Type: FieldType(rec.GetString("type"))}
	raw := rawJSON(rec, "options")
	if len(raw) == 0 || string(raw) == "null" {
		return d, nil
	}
	var opts []any
	if err := json.Unmarshal(raw, &opts); err != nil {
		return d, FieldErrors{"options": `options must be a list of the choices, e.g. ["gold","silver"]`}
	}
	for _, o := range opts {
		s, ok := o.(string)
		if !ok {
			return d, FieldErrors{"options": fmt.Sprintf(`options must be a list of the choices, e.g. ["gold","silver"]; %s is not text`, quote(o))}
		}
		d.Options = append(d.Options, s)
	}
	return d, nil
}

// CheckFieldDef checks a definition's own shape and trims its options: a
// list needs its options, unique case-insensitively (values are matched
// that way); other types take none.
func CheckFieldDef(d *FieldDef) FieldErrors {
	fe := FieldErrors{}
	if d.Type != FieldList {
		if len(d.Options) > 0 {
			fe.Add("options", fmt.Sprintf("options apply to list fields only; %q is a %s field: remove its options", d.Key, d.Type))
		}
		return fe
	}
	if len(d.Options) == 0 {
		fe.Add("options", fmt.Sprintf("list field %q needs its options, e.g. [\"gold\",\"silver\"]", d.Key))
		return fe
	}
	if len(d.Options) > MaxFieldOptions {
		fe.Add("options", fmt.Sprintf("a list field has at most %d options, got %d", MaxFieldOptions, len(d.Options)))
		return fe
	}
	seen := map[string]bool{}
	for i, o := range d.Options {
		o = strings.Join(strings.Fields(o), " ")
		d.Options[i] = o
		switch {
		case o == "":
			fe.Add("options", "an option cannot be empty")
		case utf8.RuneCountInString(o) > MaxFieldOptionLen:
			fe.Add("options", fmt.Sprintf("option %q is longer than %d characters", o, MaxFieldOptionLen))
		case seen[strings.ToLower(o)]:
			fe.Add("options", fmt.Sprintf("option %q is listed twice (options are matched regardless of case)", o))
		}
		seen[strings.ToLower(o)] = true
	}
	return fe
}

// ConvertFieldValue converts a stored value to def's type, for a definition
// whose type or options change while contacts hold values: numbers and
// yes/no values become text, text that reads as the new type converts, and
// anything else is an error naming the value.
func ConvertFieldValue(v any, def FieldDef, region string) (any, error) {
	switch x := v.(type) {
	case float64:
		if def.Type != FieldNumber {
			v = strconv.FormatFloat(x, 'f', -1, 64)
		}
	case bool:
		if def.Type != FieldBoolean {
			v = strconv.FormatBool(x)
		}
	}
	return def.Coerce(v, region)
}

// FieldValue is one contact's value of a custom field, as stored (JSON).
type FieldValue struct {
	Contact string          `db:"id"`
	Raw     json.RawMessage `db:"v"`
}

// FieldPath is the JSON path of a custom field key in contacts.fields.
func FieldPath(key string) string { return `$."` + key + `"` }

// HeldValues returns every contact's value of the custom field key.
func HeldValues(app core.App, key string) ([]FieldValue, error) {
	var out []FieldValue
	err := app.DB().NewQuery(`SELECT id, CAST(fields -> {:path} AS BLOB) AS v FROM contacts
		WHERE json_valid(fields) AND json_type(fields, {:path}) NOT IN ('null') ORDER BY id`).
		Bind(dbx.Params{"path": FieldPath(key)}).All(&out)
	if err != nil {
		return nil, fmt.Errorf("reading the values of custom field %q: %w", key, err)
	}
	return out, nil
}

// FieldRewrite is a value to store for one contact.
type FieldRewrite struct {
	Contact string
	From    any
	To      any
}

// PlanFieldConversion converts every held value to def. It returns the
// values whose stored form changes, or, when some cannot convert, an error
// saying how many contacts are affected with a few examples.
func PlanFieldConversion(held []FieldValue, def FieldDef, region string) ([]FieldRewrite, error) {
	var rewrites []FieldRewrite
	var bad []string
	failed := 0
	for _, h := range held {
		var v any
		if err := json.Unmarshal(h.Raw, &v); err != nil {
			return nil, fmt.Errorf("contact %s has a malformed value of %q: %w", h.Contact, def.Key, err)
		}
		n, err := ConvertFieldValue(v, def, region)
		if err != nil || n == nil {
			failed++
			if len(bad) < 3 {
				bad = append(bad, fmt.Sprintf("contact %s has %s", h.Contact, quote(v)))
			}
			continue
		}
		if !sameJSON(v, n) {
			rewrites = append(rewrites, FieldRewrite{Contact: h.Contact, From: v, To: n})
		}
	}
	if failed > 0 {
		what := string(def.Type)
		if def.Type == FieldList {
			what = "one of the options " + strings.Join(def.Options, ", ")
		}
		return nil, fmt.Errorf("%d of the %d contacts holding custom field %q have a value that is not a valid %s (%s); change or clear those values first",
			failed, len(held), def.Key, what, strings.Join(bad, "; "))
	}
	return rewrites, nil
}

// RemoveFieldValues removes custom field key from every contact holding it
// and appends one field.changed event per contact that keeps the old value
// (reason says why), with two set-based statements: a workspace-wide
// cleanup must not hold SQLite's single writer row by row. Call it in the
// transaction that deletes the definition.
func RemoveFieldValues(app core.App, key, actor, reason string) (int64, error) {
	params := dbx.Params{"key": key, "path": FieldPath(key), "actor": actor, "reason": reason,
		"now": types.NowDateTime().String()}
	const holding = `json_valid(fields) AND json_type(fields, {:path}) NOT IN ('null')`
	_, err := app.DB().NewQuery(`INSERT INTO events (id, type, contact, subject, payload, actor, created)
		SELECT 'r' || lower(hex(randomblob(7))), '` + EventFieldChanged + `', id, '',
			json_object('from', json(fields -> {:path}), 'key', {:key}, 'reason', {:reason}, 'to', NULL), {:actor}, {:now}
		FROM contacts WHERE ` + holding + ` ORDER BY id`).Bind(params).Execute()
	if err != nil {
		return 0, fmt.Errorf("recording the removal of custom field %q: %w", key, err)
	}
	res, err := app.DB().NewQuery(`UPDATE contacts SET fields = json_remove(fields, {:path}), updated = {:now} WHERE ` + holding).
		Bind(params).Execute()
	if err != nil {
		return 0, fmt.Errorf("removing custom field %q from contacts: %w", key, err)
	}
	return res.RowsAffected()
}
