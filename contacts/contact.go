package contacts

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/pocketbase/pocketbase/core"
)

// Contact is what the rules of a contact look at: its own attributes, tags,
// custom fields and assignee. Channel activity (last_channel, last_inbound_at,
// last_outbound_at) is written by the message paths and is not a rule matter.
type Contact struct {
	ID        string
	FirstName string
	LastName  string
	Email     string
	Phone     string
	Language  string
	Country   string
	Timezone  string
	Tags      []string
	Fields    map[string]any
	Assignee  string
}

// Attribute names, in the order events and merges list them.
var Attributes = []string{"first_name", "last_name", "email", "phone", "language", "country", "timezone"}

// attr points at attribute name's field (nil for an unknown name).
func (c *Contact) attr(name string) *string {
	switch name {
	case "first_name":
		return &c.FirstName
	case "last_name":
		return &c.LastName
	case "email":
		return &c.Email
	case "phone":
		return &c.Phone
	case "language":
		return &c.Language
	case "country":
		return &c.Country
	case "timezone":
		return &c.Timezone
	}
	return nil
}

// Attr returns attribute name's value.
func (c *Contact) Attr(name string) string {
	if p := c.attr(name); p != nil {
		return *p
	}
	return ""
}

// SetAttr sets attribute name.
func (c *Contact) SetAttr(name, v string) {
	if p := c.attr(name); p != nil {
		*p = v
	}
}

// Name is the contact's display name ("" when it has none).
func (c *Contact) Name() string {
	return strings.TrimSpace(c.FirstName + " " + c.LastName)
}

// FromRecord reads a contacts record. Tags and fields of the wrong JSON
// shape are field errors: they come from clients writing the REST API.
func FromRecord(rec *core.Record) (Contact, FieldErrors) {
	fe := FieldErrors{}
	c := Contact{ID: rec.Id, Assignee: rec.GetString("assignee")}
	for _, a := range Attributes {
		c.SetAttr(a, rec.GetString(a))
	}
	var err error
	if c.Tags, err = decodeTags(rawJSON(rec, "tags")); err != nil {
		fe.Add("tags", err.Error())
	}
	if c.Fields, err = decodeFields(rawJSON(rec, "fields")); err != nil {
		fe.Add("fields", err.Error())
	}
	return c, fe
}

// Apply writes c's attributes, tags, fields and assignee onto rec.
func (c *Contact) Apply(rec *core.Record) {
	for _, a := range Attributes {
		rec.Set(a, c.Attr(a))
	}
	tags := c.Tags
	if tags == nil {
		tags = []string{}
	}
	fields := c.Fields
	if fields == nil {
		fields = map[string]any{}
	}
	rec.Set("tags", tags)
	rec.Set("fields", fields)
	rec.Set("assignee", c.Assignee)
}

func rawJSON(rec *core.Record, key string) []byte {
	switch v := rec.Get(key).(type) {
	case nil:
		return nil
	case []byte:
		return v
	case string:
		return []byte(v)
	case fmt.Stringer:
		return []byte(v.String())
	default:
		b, _ := json.Marshal(v)
		return b
	}
}

func decodeTags(raw []byte) ([]string, error) {
	var v any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, fmt.Errorf(`tags must be a list of words, e.g. ["vip","lima"]`)
		}
	}
	switch x := v.(type) {
	case nil:
		return []string{}, nil
	case string:
		// A form or spreadsheet habit: "vip, lima".
		return SplitTags(x), nil
	case []any:
		out := make([]string, 0, len(x))
		for _, t := range x {
			s, ok := t.(string)
			if !ok {
				return nil, fmt.Errorf(`tags must be a list of words, e.g. ["vip","lima"]; %s is not a word`, quote(t))
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, fmt.Errorf(`tags must be a list of words, e.g. ["vip","lima"]`)
}

func decodeFields(raw []byte) (map[string]any, error) {
	var v any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, fmt.Errorf(`fields must be an object of custom field values, e.g. {"city":"Lima"}`)
		}
	}
	switch x := v.(type) {
	case nil:
		return map[string]any{}, nil
	case map[string]any:
		return x, nil
	}
	return nil, fmt.Errorf(`fields must be an object of custom field values, e.g. {"city":"Lima"}`)
}

// Normalize applies the shared rules to c in place: E.164 phone against
// region, lower-case e-mail, country, language and time zone codes,
// canonical tags, and custom field values checked and coerced against defs.
// Every problem is reported under the field it concerns. The CSV importer
// applies the same function to each row.
func Normalize(c *Contact, defs FieldDefs, region string) FieldErrors {
	fe := FieldErrors{}
	c.FirstName = strings.TrimSpace(c.FirstName)
	c.LastName = strings.TrimSpace(c.LastName)
	norm := func(field string, f func(string) (string, error)) {
		v := strings.TrimSpace(c.Attr(field))
		if v == "" {
			c.SetAttr(field, "")
			return
		}
		n, err := f(v)
		if err != nil {
			fe.Add(field, err.Error())
			return
		}
		c.SetAttr(field, n)
	}
	norm("email", NormalizeEmail)
	norm("phone", func(s string) (string, error) { return NormalizePhone(s, region) })
	norm("language", NormalizeLanguage)
	norm("country", NormalizeCountry)
	norm("timezone", NormalizeTimezone)
	if tags, err := NormalizeTags(c.Tags); err != nil {
		fe.Add("tags", err.Error())
	} else {
		c.Tags = tags
	}
	if fields, err := defs.Validate(c.Fields, region); err != nil {
		fe.Add("fields", err.Error())
	} else {
		c.Fields = fields
	}
	return fe
}
