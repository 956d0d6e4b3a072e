package segments

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"

	"pregon/contacts"
	"pregon/workspace"
)

// Schema is what a tree is checked against: the workspace's custom fields,
// channels and broadcasts, and how to read values (phone region, time zone).
type Schema struct {
	Fields contacts.FieldDefs
	// Channels maps a channel id to its type (channels.type).
	Channels map[string]string
	// Broadcasts holds the broadcast ids that exist (only those a tree names
	// need to be present).
	Broadcasts map[string]bool
	// Region parses phone values of phone-typed fields.
	Region string
	// Location reads dates: "before 2026-03-01" means before that day starts
	// in the workspace's time zone.
	Location *time.Location
}

// LoadSchema reads the schema t is checked against: every custom field and
// channel, the workspace settings, and the broadcasts t names.
func LoadSchema(app core.App, t Tree) (*Schema, error) {
	defs, err := contacts.LoadFieldDefs(app)
	if err != nil {
		return nil, err
	}
	s := &Schema{Fields: defs, Channels: map[string]string{}, Broadcasts: map[string]bool{}, Location: time.UTC}
	var chans []struct {
		ID   string `db:"id"`
		Type string `db:"type"`
	}
	if err := app.DB().NewQuery("SELECT id, type FROM channels").All(&chans); err != nil {
		return nil, fmt.Errorf("reading channels: %w", err)
	}
	for _, c := range chans {
		s.Channels[c.ID] = c.Type
	}
	ws, err := workspace.Load(app)
	if err != nil {
		return nil, err
	}
	s.Region = ws.DefaultRegion
	if ws.Timezone != "" {
		if loc, err := time.LoadLocation(ws.Timezone); err == nil {
			s.Location = loc
		}
	}
	if ids := broadcastIDs(t); len(ids) > 0 {
		var found []string
		in := make([]any, len(ids))
		for i, id := range ids {
			in[i] = id
		}
		q := app.DB().Select("id").From("broadcasts").Where(dbx.In("id", in...))
		if err := q.Column(&found); err != nil {
			return nil, fmt.Errorf("reading broadcasts: %w", err)
		}
		for _, id := range found {
			s.Broadcasts[id] = true
		}
	}
	return s, nil
}

// broadcastIDs collects the values of t's broadcast conditions, so that
// LoadSchema reads only the broadcasts it needs.
func broadcastIDs(t Tree) []string {
	var out []string
	for _, g := range t.Groups {
		for _, c := range g.Conditions {
			if !isBroadcastCategory(c.Category) {
				continue
			}
			var list []string
			if json.Unmarshal(c.Value, &list) == nil {
				out = append(out, list...)
				continue
			}
			var one string
			if json.Unmarshal(c.Value, &one) == nil {
				out = append(out, one)
			}
		}
	}
	return out
}
