package contacts

import (
	"pregon/events"
)

// EventContactImported is the one event a bulk import records for each
// contact a row of the file created or changed, instead of the granular set
// (contact.created, one tag.added per tag, field.changed, identity.added,
// consent.changed...) that a single write through the API records. Its
// payload is an Imported. At a million rows the granular set was ~7 event
// rows per contact and most of the import's time (see BENCHMARKS.md).
//
// Contract for readers of the log (journeys, triggers): a contact.imported
// event counts as each granular event Imported.Events lists, e.g. as one
// tag.added for each of its tags_added.
const EventContactImported = "contact.imported"

// Import actions.
const (
	ImportCreated = "created"
	ImportUpdated = "updated"
)

// IdentityFact is an identity as identity.added and identity.removed
// describe it.
type IdentityFact struct {
	Identity   string `json:"identity"`
	Kind       string `json:"kind"`
	Identifier string `json:"identifier"`
	FromPhone  bool   `json:"from_phone"`
}

// ConsentFact is one consent decision with its evidence, as
// consent.changed describes it.
type ConsentFact struct {
	IdentityFact
	From     string   `json:"from"`
	To       string   `json:"to"`
	At       string   `json:"at"` // RFC 3339, UTC
	Source   string   `json:"source"`
	Wording  string   `json:"wording"`
	Previous *Consent `json:"previous,omitempty"` // the decision it replaced, with its evidence
}

// Imported is the payload of a contact.imported event: everything one row
// of an import did to one contact. Each list element holds exactly what the
// granular event it stands for would hold. An import never removes tags,
// clears fields or assigns contacts, so there are no lists for those.
type Imported struct {
	Line   int    `json:"line"`   // the row's line in the uploaded file
	Action string `json:"action"` // "created" or "updated"
	// Attributes: for a created contact, the attributes set (the
	// contact.created payload).
	Attributes map[string]string `json:"attributes,omitempty"`
	// Changes: for an updated contact, the attributes changed, old → new
	// (the "changes" of contact.updated).
	Changes           map[string]Change `json:"changes,omitempty"`
	TagsAdded         []string          `json:"tags_added,omitempty"`
	FieldsChanged     []FieldChange     `json:"fields_changed,omitempty"`
	IdentitiesRemoved []IdentityFact    `json:"identities_removed,omitempty"`
	IdentitiesAdded   []IdentityFact    `json:"identities_added,omitempty"`
	ConsentChanged    []ConsentFact     `json:"consent_changed,omitempty"`
}

// NewImported starts the payload for a row that made diff on a contact.
func NewImported(line int, d Diff) Imported {
	p := Imported{Line: line, Action: ImportUpdated, Changes: d.Changes, TagsAdded: d.TagsAdded, FieldsChanged: d.Fields}
	if d.Created {
		p.Action, p.Attributes, p.Changes = ImportCreated, d.Attributes, nil
	}
	return p
}

// Events returns the granular events p stands for, with the payloads the
// contacts and identity hooks record for the same writes: what a reader of
// the log must treat a contact.imported event as.
func (p Imported) Events(contactID, actor string) []events.Event {
	d := Diff{Created: p.Action == ImportCreated, Attributes: p.Attributes, Changes: p.Changes, TagsAdded: p.TagsAdded, Fields: p.FieldsChanged}
	if d.Created && d.Attributes == nil {
		d.Attributes = map[string]string{}
	}
	evs := d.Events(contactID, actor)
	add := func(typ, subject string, payload any) {
		evs = append(evs, events.Event{Type: typ, Contact: contactID, Subject: subject, Payload: payload, Actor: actor})
	}
	for _, it := range p.IdentitiesRemoved {
		add(EventIdentityRemoved, it.Identity, it.payload())
	}
	for _, it := range p.IdentitiesAdded {
		add(EventIdentityAdded, it.Identity, it.payload())
	}
	for _, c := range p.ConsentChanged {
		m := c.payload()
		m["from"], m["to"], m["at"], m["source"], m["wording"] = c.From, c.To, c.At, c.Source, c.Wording
		if c.Previous != nil {
			m["previous"] = *c.Previous
		}
		add(EventConsentChanged, c.Identity, m)
	}
	return evs
}

func (it IdentityFact) payload() map[string]any {
	return map[string]any{"identity": it.Identity, "kind": it.Kind, "identifier": it.Identifier, "from_phone": it.FromPhone}
}
