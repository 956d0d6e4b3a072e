package contacts

import (
	"database/sql"
	"errors"
	"fmt"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"

	"pregon/events"
)

// MergedIntoKey marks a contact deleted by a merge (record data, not a
// column), so that its contact.deleted event says where it went.
const MergedIntoKey = "@pregon.merged_into"

// MergedIdentity is an identity that moved to the survivor.
type MergedIdentity struct {
	ID         string `db:"id" json:"identity"`
	Kind       string `db:"kind" json:"kind"`
	Identifier string `db:"identifier" json:"identifier"`
}

// MergeOutcome says what moved to the survivor; it is the payload of the
// contact.merged event and the merge endpoint's answer.
type MergeOutcome struct {
	Survivor   string            `json:"survivor"`
	Other      string            `json:"other"`
	OtherName  string            `json:"other_name"`
	Attributes []string          `json:"attributes"` // filled from the other
	Tags       []string          `json:"tags"`       // added to the survivor
	Fields     []string          `json:"fields"`     // custom fields filled from the other
	Assignee   string            `json:"assignee"`   // taken from the other, "" if not
	Identities []MergedIdentity  `json:"identities"`
	Messages   int64             `json:"messages"`
	OtherData  map[string]string `json:"other_contact"` // the other's attributes, as they were
}

// ErrMergeSelf refuses merging a contact with itself.
var ErrMergeSelf = errors.New("a contact cannot be merged with itself; pick two different contacts")

// MergeContacts combines other into survivor: the survivor's values win,
// empty attributes and custom fields are filled from the other, tags are
// the union (survivor's first), and the other's assignee is taken only when
// the survivor has none.
func MergeContacts(survivor, other Contact) (Contact, MergeOutcome) {
	m := survivor
	out := MergeOutcome{Survivor: survivor.ID, Other: other.ID, OtherName: other.Name(),
		Attributes: []string{}, Tags: []string{}, Fields: []string{}, OtherData: map[string]string{}}
	for _, a := range Attributes {
		if v := other.Attr(a); v != "" {
			out.OtherData[a] = v
			if m.Attr(a) == "" {
				m.SetAttr(a, v)
				out.Attributes = append(out.Attributes, a)
			}
		}
	}
	m.Tags = append([]string{}, survivor.Tags...)
	has := map[string]bool{}
	for _, t := range m.Tags {
		has[t] = true
	}
	for _, t := range other.Tags {
		if !has[t] {
			has[t] = true
			m.Tags = append(m.Tags, t)
			out.Tags = append(out.Tags, t)
		}
	}
	m.Fields = make(map[string]any, len(survivor.Fields)+len(other.Fields))
	for k, v := range survivor.Fields {
		m.Fields[k] = v
	}
	for _, k := range sortedKeys(other.Fields) {
		if blank(m.Fields[k]) && !blank(other.Fields[k]) {
			m.Fields[k] = other.Fields[k]
			out.Fields = append(out.Fields, k)
		}
	}
	if m.Assignee == "" && other.Assignee != "" {
		m.Assignee = other.Assignee
		out.Assignee = other.Assignee
	}
	return m, out
}

func blank(v any) bool {
	s, isString := v.(string)
	return v == nil || (isString && s == "")
}

// Merge moves everything of contact otherID to survivorID in one
// transaction: attributes, tags, custom fields and assignee (as
// MergeContacts decides), identities and messages; then deletes the other
// and appends a contact.merged event to the survivor. The other's past
// events are not rewritten (the log is append-only): the survivor's
// timeline includes the events of every contact merged into it.
//
// The survivor is saved through app, so its rules run and its changes get
// their own events (tag.added, field.changed...). Unknown ids are a
// *NotFoundError, the same id twice ErrMergeSelf.
func Merge(app core.App, survivorID, otherID, actor string) (*core.Record, MergeOutcome, error) {
	if survivorID == otherID {
		return nil, MergeOutcome{}, ErrMergeSelf
	}
	var survivor *core.Record
	var out MergeOutcome
	err := app.RunInTransaction(func(tx core.App) error {
		var err error
		if survivor, err = findContact(tx, "survivor", survivorID); err != nil {
			return err
		}
		other, err := findContact(tx, "other", otherID)
		if err != nil {
			return err
		}
		sc, _ := FromRecord(survivor)
		oc, _ := FromRecord(other)
		var merged Contact
		merged, out = MergeContacts(sc, oc)

		// Identities keep their rows (messages and consent stay attached).
		// They follow the survivor's phone only if it is their number.
		if err := tx.DB().NewQuery(`SELECT id, kind, identifier FROM contact_identities WHERE contact = {:o} ORDER BY kind, identifier`).
			Bind(dbx.Params{"o": otherID}).All(&out.Identities); err != nil {
			return fmt.Errorf("reading the identities of contact %s: %w", otherID, err)
		}
		if out.Identities == nil {
			out.Identities = []MergedIdentity{}
		}
		now := types.NowDateTime().String()
		if _, err := tx.DB().NewQuery(`UPDATE contact_identities SET contact = {:s}, updated = {:now},
			from_phone = (from_phone AND identifier = {:phone}) WHERE contact = {:o}`).
			Bind(dbx.Params{"s": survivorID, "o": otherID, "phone": merged.Phone, "now": now}).Execute(); err != nil {
			return fmt.Errorf("moving identities to contact %s: %w", survivorID, err)
		}
		res, err := tx.DB().NewQuery(`UPDATE messages SET contact = {:s}, updated = {:now} WHERE contact = {:o}`).
			Bind(dbx.Params{"s": survivorID, "o": otherID, "now": now}).Execute()
		if err != nil {
			return fmt.Errorf("moving messages to contact %s: %w", survivorID, err)
		}
		if out.Messages, err = res.RowsAffected(); err != nil {
			return fmt.Errorf("counting moved messages: %w", err)
		}
		// Broadcast exclusions follow the contact, so "why didn't they get
		// it?" still has its answer after a merge.
		if _, err := tx.DB().NewQuery(`UPDATE broadcast_exclusions SET contact = {:s} WHERE contact = {:o}`).
			Bind(dbx.Params{"s": survivorID, "o": otherID}).Execute(); err != nil {
			return fmt.Errorf("moving broadcast exclusions to contact %s: %w", survivorID, err)
		}

		merged.Apply(survivor)
		mergeActivity(survivor, other)
		if err := tx.Save(events.WithActor(survivor, actor)); err != nil {
			return err
		}
		other.SetRaw(MergedIntoKey, survivorID)
		if err := tx.Delete(events.WithActor(other, actor)); err != nil {
			return fmt.Errorf("deleting the merged contact %s: %w", otherID, err)
		}
		return events.Append(tx, events.Event{Type: EventContactMerged, Contact: survivorID, Subject: otherID, Payload: out, Actor: actor})
	})
	if err != nil {
		return nil, MergeOutcome{}, err
	}
	return survivor, out, nil
}

// mergeActivity keeps the most recent channel activity of the two.
func mergeActivity(survivor, other *core.Record) {
	if o := other.GetDateTime("last_inbound_at"); o.After(survivor.GetDateTime("last_inbound_at")) {
		survivor.Set("last_inbound_at", o)
		if ch := other.GetString("last_channel"); ch != "" {
			survivor.Set("last_channel", ch)
		}
	}
	if survivor.GetString("last_channel") == "" {
		survivor.Set("last_channel", other.GetString("last_channel"))
	}
	if o := other.GetDateTime("last_outbound_at"); o.After(survivor.GetDateTime("last_outbound_at")) {
		survivor.Set("last_outbound_at", o)
	}
}

func findContact(app core.App, what, id string) (*core.Record, error) {
	rec, err := app.FindRecordById("contacts", id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &NotFoundError{What: what + " contact", ID: id}
	}
	if err != nil {
		return nil, fmt.Errorf("reading contact %s: %w", id, err)
	}
	return rec, nil
}
