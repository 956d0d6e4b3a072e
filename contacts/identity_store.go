package contacts

import (
	"fmt"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"

	"pregon/events"
)

// PhoneIdentityPlan reads what PlanPhoneIdentities needs and plans how
// contactID's identities follow phone. Call it with the transaction-bound
// app of the write.
func PhoneIdentityPlan(app core.App, contactID, phone string) (PhonePlan, error) {
	var ids []Identity
	err := app.DB().NewQuery(`SELECT id, contact, kind, identifier, from_phone FROM contact_identities
		WHERE (contact = {:c} AND {:c} != '') OR (kind IN ('sms', 'whatsapp') AND identifier = {:p} AND {:p} != '')`).
		Bind(dbx.Params{"c": contactID, "p": phone}).All(&ids)
	if err != nil {
		return PhonePlan{}, fmt.Errorf("reading the identities of contact %s: %w", contactID, err)
	}
	return PlanPhoneIdentities(contactID, phone, ids)
}

// ApplyPhonePlan carries out plan through app, so that the identity hooks
// validate each change and record identity.added / identity.removed.
func ApplyPhonePlan(app core.App, contactID string, plan PhonePlan, actor string) error {
	if plan.Empty() {
		return nil
	}
	col, err := app.FindCachedCollectionByNameOrId("contact_identities")
	if err != nil {
		return fmt.Errorf("finding contact_identities: %w", err)
	}
	for _, id := range plan.Delete {
		rec, err := app.FindRecordById(col, id.ID)
		if err != nil {
			return fmt.Errorf("finding identity %s: %w", id.ID, err)
		}
		if err := app.Delete(events.WithActor(rec, actor)); err != nil {
			return fmt.Errorf("removing the %s identity %s: %w", id.Kind, id.Identifier, err)
		}
	}
	for _, id := range plan.Move {
		rec, err := app.FindRecordById(col, id.ID)
		if err != nil {
			return fmt.Errorf("finding identity %s: %w", id.ID, err)
		}
		rec.Set("identifier", id.Identifier)
		// The 24-hour window belongs to the old number's conversation.
		rec.Set("last_inbound_at", "")
		if err := app.Save(events.WithActor(rec, actor)); err != nil {
			return fmt.Errorf("moving the %s identity to %s: %w", id.Kind, id.Identifier, err)
		}
	}
	for _, id := range plan.Create {
		rec := core.NewRecord(col)
		rec.Set("contact", contactID)
		rec.Set("kind", id.Kind)
		rec.Set("identifier", id.Identifier)
		rec.Set("from_phone", true)
		if err := app.Save(events.WithActor(rec, actor)); err != nil {
			return fmt.Errorf("adding the %s identity %s: %w", id.Kind, id.Identifier, err)
		}
	}
	return nil
}

// IdentityOwner returns the contact owning (kind, identifier), other than
// the identity self, or "".
func IdentityOwner(app core.App, kind, identifier, self string) (string, error) {
	var owner []string
	err := app.DB().NewQuery(`SELECT contact FROM contact_identities
		WHERE kind = {:k} AND identifier = {:i} AND id != {:self} LIMIT 1`).
		Bind(dbx.Params{"k": kind, "i": identifier, "self": self}).Column(&owner)
	if err != nil {
		return "", fmt.Errorf("looking up the %s identity %s: %w", kind, identifier, err)
	}
	if len(owner) == 0 {
		return "", nil
	}
	return owner[0], nil
}
