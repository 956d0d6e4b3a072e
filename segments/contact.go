package segments

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// LoadContacts reads the evaluator's view of the given contacts, keyed by
// id; ids that do not exist are absent from the map.
func LoadContacts(app core.App, ids []string) (map[string]*Contact, error) {
	out := make(map[string]*Contact, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	in := make([]any, len(ids))
	for i, id := range ids {
		in[i] = id
	}
	var rows []struct {
		ID           string `db:"id"`
		Tags         string `db:"tags"`
		Fields       string `db:"fields"`
		Language     string `db:"language"`
		Country      string `db:"country"`
		LastChannel  string `db:"last_channel"`
		Created      string `db:"created"`
		Updated      string `db:"updated"`
		LastInbound  string `db:"last_inbound_at"`
		LastOutbound string `db:"last_outbound_at"`
	}
	err := app.DB().Select("id", "COALESCE(tags, '') AS tags", "COALESCE(fields, '') AS fields", "language", "country",
		"last_channel", "created", "updated", "last_inbound_at", "last_outbound_at").
		From("contacts").Where(dbx.In("id", in...)).All(&rows)
	if err != nil {
		return nil, fmt.Errorf("reading contacts: %w", err)
	}
	for _, r := range rows {
		out[r.ID] = &Contact{
			ID: r.ID, Tags: TagValues([]byte(r.Tags)), Fields: FieldValues([]byte(r.Fields)),
			Language: r.Language, Country: r.Country, LastChannel: r.LastChannel,
			Created: r.Created, Updated: r.Updated, LastInboundAt: r.LastInbound, LastOutboundAt: r.LastOutbound,
			Received: map[string]bool{}, Failed: map[string]bool{}, Replied: map[string]bool{},
		}
	}
	var idents []struct {
		Contact string `db:"contact"`
		Kind    string `db:"kind"`
		Channel string `db:"channel"`
		Consent string `db:"consent"`
	}
	if err := app.DB().Select("contact", "kind", "channel", "consent").From("contact_identities").
		Where(dbx.In("contact", in...)).All(&idents); err != nil {
		return nil, fmt.Errorf("reading identities: %w", err)
	}
	for _, i := range idents {
		if c := out[i.Contact]; c != nil {
			c.Identities = append(c.Identities, Identity{Kind: i.Kind, Channel: i.Channel, Consent: i.Consent})
		}
	}
	var msgs []struct {
		Contact  string `db:"contact"`
		SourceID string `db:"source_id"`
		Status   string `db:"status"`
	}
	if err := app.DB().Select("contact", "source_id", "status").From("messages").
		Where(dbx.HashExp{"source": "broadcast"}).AndWhere(dbx.In("contact", in...)).All(&msgs); err != nil {
		return nil, fmt.Errorf("reading broadcast messages: %w", err)
	}
	for _, m := range msgs {
		c := out[m.Contact]
		switch {
		case c == nil:
		case contains(Received, m.Status):
			c.Received[m.SourceID] = true
		case m.Status == "failed":
			c.Failed[m.SourceID] = true
		}
	}
	var replies []struct {
		Contact string `db:"contact"`
		Subject string `db:"subject"`
	}
	if err := app.DB().Select("contact", "subject").From("events").
		Where(dbx.HashExp{"type": "broadcast.replied"}).AndWhere(dbx.In("contact", in...)).All(&replies); err != nil {
		return nil, fmt.Errorf("reading broadcast replies: %w", err)
	}
	for _, r := range replies {
		if c := out[r.Contact]; c != nil {
			c.Replied[r.Subject] = true
		}
	}
	return out, nil
}

// TagValues returns the string elements of a stored tags array, as SQLite's
// json_each sees them; anything but a valid JSON array has no tags.
func TagValues(raw []byte) []string {
	if !json.Valid(raw) {
		return nil
	}
	var list []any
	if json.Unmarshal(raw, &list) != nil {
		return nil
	}
	var out []string
	for _, x := range list {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// FieldValues decodes a stored fields object the way SQLite's json_extract
// reads it: the first of duplicate keys wins, numbers are float64 (out of
// range ones become ±Inf, as in SQLite), and anything but a valid JSON
// object has no fields.
func FieldValues(raw []byte) map[string]any {
	out := map[string]any{}
	if !json.Valid(raw) {
		return out
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return out
	}
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return out
		}
		key, _ := kt.(string)
		var v any
		if err := dec.Decode(&v); err != nil {
			return out
		}
		if _, dup := out[key]; dup {
			continue
		}
		if n, ok := v.(json.Number); ok {
			f, _ := strconv.ParseFloat(string(n), 64)
			v = f
		}
		out[key] = v
	}
	return out
}
