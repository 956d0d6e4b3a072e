package contacts

import (
	"fmt"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"

	"pregon/events"
)

// RecordConsent records one consent decision, with its evidence, on every
// identity of kind that contactID has, in one transaction. Each identity is
// saved through app, so the identity rules apply (ApplyConsentRules) and
// each change appends its consent.changed event. A contact without an
// identity of that kind is a FieldErrors on "kind".
func RecordConsent(app core.App, contactID, kind string, c Consent, actor string) ([]*core.Record, error) {
	if !ValidKind(kind) {
		return nil, FieldErrors{"kind": fmt.Sprintf("kind %q is not an identity kind; use one of %v", kind, Kinds)}
	}
	var ids []*core.Record
	err := app.RunInTransaction(func(tx core.App) error {
		if _, err := findContact(tx, "contact", contactID); err != nil {
			return err
		}
		var err error
		ids, err = tx.FindRecordsByFilter("contact_identities", "contact = {:c} && kind = {:k}", "identifier", 0, 0,
			dbx.Params{"c": contactID, "k": kind})
		if err != nil {
			return fmt.Errorf("reading the %s identities of contact %s: %w", kind, contactID, err)
		}
		if len(ids) == 0 {
			return FieldErrors{"kind": fmt.Sprintf("contact %s has no %s identity to record consent on; add one first (a contact's phone is its sms and whatsapp identity)", contactID, kind)}
		}
		for _, id := range ids {
			id.Set("consent", c.Status)
			id.Set("consent_source", c.Source)
			id.Set("consent_wording", c.Wording)
			if !c.At.IsZero() {
				id.Set("consent_at", c.At)
			}
			if err := tx.Save(events.WithActor(id, actor)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ids, nil
}
