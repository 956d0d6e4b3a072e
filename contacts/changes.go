package contacts

import (
	"encoding/json"
	"sort"

	"pregon/events"
)

// Event types recorded for contacts and their identities.
const (
	EventContactCreated  = "contact.created"
	EventContactUpdated  = "contact.updated"
	EventContactDeleted  = "contact.deleted"
	EventContactAssigned = "contact.assigned"
	EventContactMerged   = "contact.merged"
	EventTagAdded        = "tag.added"
	EventTagRemoved      = "tag.removed"
	EventFieldChanged    = "field.changed"
	EventIdentityAdded   = "identity.added"
	EventIdentityRemoved = "identity.removed"
	EventConsentChanged  = "consent.changed"
)

// Change is one attribute's old and new value.
type Change struct {
	From any `json:"from"`
	To   any `json:"to"`
}

// FieldChange is one custom field's old and new value: the payload of a
// field.changed event. A field that had no value has From nil.
type FieldChange struct {
	Key  string `json:"key"`
	From any    `json:"from"`
	To   any    `json:"to"`
}

// Diff is what one write changed on a contact. Both the granular events
// (ChangeEvents) and the compact contact.imported event (Imported) are
// made from it, so they carry the same facts.
type Diff struct {
	Created     bool
	Attributes  map[string]string // created: the attributes set (non-empty ones)
	Changes     map[string]Change // updated: the attributes changed, old → new
	TagsAdded   []string
	TagsRemoved []string
	Fields      []FieldChange // sorted by key
	Assigned    *Change       // the assignee changed: user ids
}

// Empty reports whether the write changed nothing.
func (d Diff) Empty() bool {
	return !d.Created && len(d.Changes) == 0 && len(d.TagsAdded) == 0 && len(d.TagsRemoved) == 0 &&
		len(d.Fields) == 0 && d.Assigned == nil
}

// Compare returns what changed from before to after; before is nil for a
// new contact. Both are normalized.
func Compare(before *Contact, after Contact) Diff {
	var d Diff
	prev := Contact{}
	if before != nil {
		prev = *before
	} else {
		d.Created = true
		d.Attributes = map[string]string{}
		for _, a := range Attributes {
			if v := after.Attr(a); v != "" {
				d.Attributes[a] = v
			}
		}
	}
	if before != nil {
		for _, a := range Attributes {
			if o, n := prev.Attr(a), after.Attr(a); o != n {
				if d.Changes == nil {
					d.Changes = map[string]Change{}
				}
				d.Changes[a] = Change{From: o, To: n}
			}
		}
	}
	for _, t := range after.Tags {
		if !contains(prev.Tags, t) {
			d.TagsAdded = append(d.TagsAdded, t)
		}
	}
	for _, t := range prev.Tags {
		if !contains(after.Tags, t) {
			d.TagsRemoved = append(d.TagsRemoved, t)
		}
	}
	keys := make([]string, 0, len(prev.Fields)+len(after.Fields))
	for k := range prev.Fields {
		keys = append(keys, k)
	}
	for k := range after.Fields {
		if _, both := prev.Fields[k]; !both {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		o, n := prev.Fields[k], after.Fields[k]
		if !sameJSON(o, n) {
			d.Fields = append(d.Fields, FieldChange{Key: k, From: o, To: n})
		}
	}
	if prev.Assignee != after.Assignee {
		d.Assigned = &Change{From: prev.Assignee, To: after.Assignee}
	}
	return d
}

// Events are the granular events the contacts hook records for d: created
// or updated, one tag.added / tag.removed per tag, one field.changed per
// custom field, and contact.assigned.
func (d Diff) Events(contactID, actor string) []events.Event {
	var evs []events.Event
	add := func(typ string, payload any) {
		evs = append(evs, events.Event{Type: typ, Contact: contactID, Payload: payload, Actor: actor})
	}
	if d.Created {
		add(EventContactCreated, d.Attributes)
	} else if len(d.Changes) > 0 {
		add(EventContactUpdated, map[string]any{"changes": d.Changes})
	}
	for _, t := range d.TagsAdded {
		add(EventTagAdded, map[string]string{"tag": t})
	}
	for _, t := range d.TagsRemoved {
		add(EventTagRemoved, map[string]string{"tag": t})
	}
	for _, f := range d.Fields {
		add(EventFieldChanged, map[string]any{"key": f.Key, "from": f.From, "to": f.To})
	}
	if d.Assigned != nil {
		add(EventContactAssigned, map[string]any{"from": d.Assigned.From, "to": d.Assigned.To})
	}
	return evs
}

// ChangeEvents lists the events one write of a contact records (see
// Diff.Events). before is nil for a new contact. Both are normalized.
func ChangeEvents(before *Contact, after Contact, actor string) []events.Event {
	return Compare(before, after).Events(after.ID, actor)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// sameJSON compares two decoded JSON values by their encoding (maps encode
// with sorted keys). Values of the same plain type compare directly: the
// common case, and far cheaper than encoding.
func sameJSON(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case string:
		y, ok := b.(string)
		return ok && x == y
	case float64:
		y, ok := b.(float64)
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	}
	if b == nil {
		return false
	}
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(x) == string(y)
}
