package contacts

import (
	"encoding/json"

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

// ChangeEvents lists the events one write of a contact records: created or
// updated (which attributes, old → new), one tag.added / tag.removed per tag,
// one field.changed per custom field, and contact.assigned. before is nil
// for a new contact. Both are normalized.
func ChangeEvents(before *Contact, after Contact, actor string) []events.Event {
	var evs []events.Event
	add := func(typ string, payload any) {
		evs = append(evs, events.Event{Type: typ, Contact: after.ID, Payload: payload, Actor: actor})
	}
	prev := Contact{}
	if before != nil {
		prev = *before
	}
	if before == nil {
		snap := map[string]string{}
		for _, a := range Attributes {
			if v := after.Attr(a); v != "" {
				snap[a] = v
			}
		}
		add(EventContactCreated, snap)
	} else {
		changes := map[string]Change{}
		for _, a := range Attributes {
			if o, n := prev.Attr(a), after.Attr(a); o != n {
				changes[a] = Change{From: o, To: n}
			}
		}
		if len(changes) > 0 {
			add(EventContactUpdated, map[string]any{"changes": changes})
		}
	}
	had := make(map[string]bool, len(prev.Tags))
	for _, t := range prev.Tags {
		had[t] = true
	}
	has := make(map[string]bool, len(after.Tags))
	for _, t := range after.Tags {
		has[t] = true
		if !had[t] {
			add(EventTagAdded, map[string]string{"tag": t})
		}
	}
	for _, t := range prev.Tags {
		if !has[t] {
			add(EventTagRemoved, map[string]string{"tag": t})
		}
	}
	keys := map[string]bool{}
	for k := range prev.Fields {
		keys[k] = true
	}
	for k := range after.Fields {
		keys[k] = true
	}
	for _, k := range sortedKeys(toAny(keys)) {
		o, n := prev.Fields[k], after.Fields[k]
		if !sameJSON(o, n) {
			add(EventFieldChanged, map[string]any{"key": k, "from": o, "to": n})
		}
	}
	if prev.Assignee != after.Assignee {
		add(EventContactAssigned, map[string]string{"from": prev.Assignee, "to": after.Assignee})
	}
	return evs
}

func toAny(m map[string]bool) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// sameJSON compares two decoded JSON values by their encoding (maps encode
// with sorted keys).
func sameJSON(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(x) == string(y)
}
