package broadcasts

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"pregon/channels"
	"pregon/contacts"
	"pregon/outbox"
)

// TypeContent is what a broadcast sends on one channel type, as the
// messages contract writes content: text, media or a template. On channels
// with a customer-service window (WhatsApp) it may hold text or media *and*
// a template: the text goes to contacts whose window is open when their
// message leaves, the template to the others; a text-only WhatsApp broadcast
// leaves out contacts whose window is closed and says why.
type TypeContent struct {
	Text     string             `json:"text,omitempty"`
	Media    *channels.Media    `json:"media,omitempty"`
	Template *channels.Template `json:"template,omitempty"`
}

// HasTemplate reports whether c can reach contacts outside the window.
func (c TypeContent) HasTemplate() bool { return c.Template != nil }

// Content is a broadcast's content keyed by channel type.
type Content map[channels.Type]TypeContent

// parseContent reads the content column strictly: an unknown key is a typo
// and an error, not a silent drop.
func parseContent(raw string) (Content, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" || raw == "null" {
		return Content{}, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		return nil, fmt.Errorf(`content must be a JSON object keyed by channel type, e.g. {"telegram":{"text":"Hola {{contact.first_name}}"}}`)
	}
	out := make(Content, len(m))
	for typ, v := range m {
		dec := json.NewDecoder(bytes.NewReader(v))
		dec.DisallowUnknownFields()
		var tc TypeContent
		if err := dec.Decode(&tc); err != nil {
			return nil, fmt.Errorf("content.%s must be like {\"text\":\"...\"}, {\"media\":{\"url\":\"...\"}} or {\"template\":{\"name\":\"...\",\"language\":\"es\",\"params\":[...]}}: %v",
				typ, err)
		}
		out[channels.Type(typ)] = tc
	}
	return out, nil
}

// Types returns the channel types content is given for, sorted.
func (c Content) Types() []channels.Type {
	out := make([]channels.Type, 0, len(c))
	for t := range c {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// check validates the content of one channel type against its capabilities
// and the workspace's custom fields, naming the field to fix.
func (c TypeContent) check(typ channels.Type, caps channels.Capabilities, defs contacts.FieldDefs) error {
	at := "content." + string(typ)
	main := channels.Content{Text: c.Text, Media: c.Media}
	if main.Text != "" && main.Media != nil {
		return fmt.Errorf("%s has both text and media: send one of them (put the text in media.caption)", at)
	}
	switch {
	case main.Type() == "" && c.Template == nil:
		return fmt.Errorf("%s is empty: give text, media or a template", at)
	case main.Type() != "" && c.Template != nil && !(caps.Window > 0 && caps.TemplatesOutsideWindow):
		return fmt.Errorf("%s has a template beside its %s, but %s has no customer-service window: send one of them", at, main.Type(), typ)
	}
	for _, one := range []channels.Content{main, {Template: c.Template}} {
		if one.Type() == "" {
			continue
		}
		if err := outbox.ValidateContent(caps, one); err != nil {
			return fmt.Errorf("%s: %v", at, err)
		}
	}
	for _, t := range c.texts() {
		if _, err := parseText(t.text, defs); err != nil {
			return fmt.Errorf("%s.%s: %v", at, t.field, err)
		}
	}
	return nil
}

type namedText struct{ field, text string }

// texts lists the parts of c that may hold variables.
func (c TypeContent) texts() []namedText {
	var out []namedText
	if c.Text != "" {
		out = append(out, namedText{"text", c.Text})
	}
	if c.Media != nil && c.Media.Caption != "" {
		out = append(out, namedText{"media.caption", c.Media.Caption})
	}
	if c.Template != nil {
		for i, p := range c.Template.Params {
			out = append(out, namedText{fmt.Sprintf("template.params[%d]", i), p})
		}
	}
	return out
}

// sql returns the expression that renders c for the contact c as the JSON
// of outbox.StoredContent: text or media with the template outside the
// window, or the template alone. The JSON is concatenated as text, constant
// parts encoded here once and only the personalised strings passed through
// json_quote per row: SQLite's json_object and json_set re-parse their
// arguments, which cost a million-row plan seconds.
func (c TypeContent) sql(w *sqlWriter) (string, error) {
	j := &jsonSQL{w: w}
	str := func(s string) error {
		parts, err := parseText(s, w.defs)
		if err != nil {
			return err
		}
		if !hasVariables(parts) {
			j.lit(jsonString(s))
			return nil
		}
		j.expr("json_quote(" + w.text(parts) + ")")
		return nil
	}
	tmpl := func() error {
		t := c.Template
		j.lit(`{"template":{"name":` + jsonString(t.Name) + `,"language":` + jsonString(t.Language))
		if len(t.Params) > 0 {
			j.lit(`,"params":[`)
			for i, p := range t.Params {
				if i > 0 {
					j.lit(",")
				}
				if err := str(p); err != nil {
					return err
				}
			}
			j.lit("]")
		}
		j.lit("}}")
		return nil
	}
	switch {
	case c.Text != "":
		j.lit(`{"text":`)
		if err := str(c.Text); err != nil {
			return "", err
		}
	case c.Media != nil:
		j.lit(`{"media":{"url":` + jsonString(c.Media.URL))
		if c.Media.Kind != "" {
			j.lit(`,"kind":` + jsonString(c.Media.Kind))
		}
		if c.Media.Caption != "" {
			j.lit(`,"caption":`)
			if err := str(c.Media.Caption); err != nil {
				return "", err
			}
		}
		j.lit("}")
	case c.Template != nil:
		if err := tmpl(); err != nil {
			return "", err
		}
		return j.sql(), nil
	default:
		// The definition check refuses this before anything is rendered.
		return "", errors.New("the content is empty: give text, media or a template")
	}
	if c.Template != nil {
		j.lit(`,"outside_window":`)
		if err := tmpl(); err != nil {
			return "", err
		}
	}
	j.lit("}")
	return j.sql(), nil
}

func hasVariables(parts []part) bool {
	for _, p := range parts {
		if p.variable != "" {
			return true
		}
	}
	return false
}

// jsonString encodes s as a JSON string literal, as json_quote would (no
// HTML escaping).
func jsonString(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(s)
	return strings.TrimSuffix(b.String(), "\n")
}

// jsonSQL concatenates constant JSON text (bound as parameters, adjacent
// pieces merged) and SQL expressions that yield JSON text.
type jsonSQL struct {
	w     *sqlWriter
	terms []string
	buf   strings.Builder
}

func (j *jsonSQL) lit(s string) { j.buf.WriteString(s) }

func (j *jsonSQL) flush() {
	if j.buf.Len() > 0 {
		j.terms = append(j.terms, j.w.bind(j.buf.String()))
		j.buf.Reset()
	}
}

func (j *jsonSQL) expr(e string) {
	j.flush()
	j.terms = append(j.terms, e)
}

func (j *jsonSQL) sql() string {
	j.flush()
	if len(j.terms) == 1 {
		return j.terms[0]
	}
	return "(" + strings.Join(j.terms, " || ") + ")"
}
