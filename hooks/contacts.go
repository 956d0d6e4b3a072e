package hooks

import (
	"errors"
	"fmt"
	"time"

	validation "github.com/go-ozzo/ozzo-validation/v4"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"

	"pregon/contacts"
	"pregon/events"
	"pregon/workspace"
)

// bindContacts enforces the contact rules on every write of a contact or an
// identity, whatever the path (REST API, batch, Go Save), and records each
// change in the event log in the same transaction as the change. The hooks
// are model-level so that Go saves are covered; request hooks only tell
// them who is writing.
func bindContacts(env *Env) {
	app := env.App
	for _, col := range []string{"contacts", "contact_identities", "contact_fields"} {
		app.OnRecordCreateRequest(col).BindFunc(markActor)
		app.OnRecordUpdateRequest(col).BindFunc(markActor)
		app.OnRecordDeleteRequest(col).BindFunc(markActor)
	}
	app.OnRecordCreate("contacts").BindFunc(saveContact)
	app.OnRecordUpdate("contacts").BindFunc(saveContact)
	app.OnRecordDelete("contacts").BindFunc(deleteContact)

	now := env.Clock.Now
	saveID := func(e *core.RecordEvent) error { return saveIdentity(e, now()) }
	app.OnRecordCreate("contact_identities").BindFunc(saveID)
	app.OnRecordUpdate("contact_identities").BindFunc(saveID)
	app.OnRecordDelete("contact_identities").BindFunc(deleteIdentity)
}

func markActor(e *core.RecordRequestEvent) error {
	events.WithActor(e.Record, events.ActorFromAuth(e.Auth))
	return e.Next()
}

// inTx runs f, which must call e.Next(), in a transaction that the rest of
// the hook chain (validation and the SQL write) joins, so the change and
// the events f appends commit together or not at all. A write already in a
// transaction (batch API, merge) joins it. e.App is restored afterwards so
// the after-success hooks get the non-transactional app.
func inTx(e *core.RecordEvent, f func(tx core.App) error) error {
	orig := e.App
	defer func() { e.App = orig }()
	return orig.RunInTransaction(func(tx core.App) error {
		e.App = tx
		return f(tx)
	})
}

// badFields is a 400 whose message says what to fix and whose data names
// each field, for API clients and Go callers alike.
func badFields(fe contacts.FieldErrors) error {
	data := validation.Errors{}
	for k, msg := range fe {
		data[k] = validation.NewError("invalid_"+k, msg)
	}
	return apis.NewBadRequestError(fe.Error(), data)
}

// storedRecord reads what is stored for rec (nil for a new record). A
// record's Original() is not refreshed by Save, so a record saved twice
// from Go would compare against stale data; the database is the truth.
func storedRecord(tx core.App, rec *core.Record) (*core.Record, error) {
	if rec.IsNew() {
		return nil, nil
	}
	stored, err := tx.FindRecordById(rec.Collection(), fmt.Sprint(rec.LastSavedPK()))
	if err != nil {
		return nil, fmt.Errorf("reading the stored %s record %s: %w", rec.Collection().Name, rec.LastSavedPK(), err)
	}
	return stored, nil
}

func saveContact(e *core.RecordEvent) error {
	return inTx(e, func(tx core.App) error {
		rec := e.Record
		actor := events.ActorOf(rec)
		after, fe := contacts.FromRecord(rec)
		stored, err := storedRecord(tx, rec)
		if err != nil {
			return err
		}
		var before *contacts.Contact
		if stored != nil {
			// Its shape was checked when it was written.
			b, _ := contacts.FromRecord(stored)
			before = &b
		}
		ws, err := workspace.Load(tx)
		if err != nil {
			return err
		}
		defs, err := contacts.LoadFieldDefs(tx)
		if err != nil {
			return err
		}
		for k, msg := range contacts.Normalize(&after, defs, ws.DefaultRegion) {
			fe.Add(k, msg)
		}
		if len(fe) > 0 {
			return badFields(fe)
		}
		after.Apply(rec)
		phoneChanged := before == nil || before.Phone != after.Phone
		if phoneChanged {
			// Refuse a phone that is another contact's identity before writing anything.
			if _, err := contacts.PhoneIdentityPlan(tx, rec.Id, after.Phone); err != nil {
				return phoneError(err)
			}
		}
		if err := e.Next(); err != nil {
			return err
		}
		after.ID = rec.Id
		if err := events.AppendMany(tx, contacts.ChangeEvents(before, after, actor)); err != nil {
			return err
		}
		if !phoneChanged {
			return nil
		}
		plan, err := contacts.PhoneIdentityPlan(tx, rec.Id, after.Phone)
		if err != nil {
			return phoneError(err)
		}
		return contacts.ApplyPhonePlan(tx, rec.Id, plan, actor)
	})
}

func phoneError(err error) error {
	var conflict *contacts.IdentityConflictError
	if errors.As(err, &conflict) {
		return badFields(contacts.FieldErrors{"phone": "phone " + conflict.Error()})
	}
	return err
}

func deleteContact(e *core.RecordEvent) error {
	return inTx(e, func(tx core.App) error {
		rec := e.Record
		actor := events.ActorOf(rec)
		c, _ := contacts.FromRecord(rec)
		// Remove the identities here rather than through the cascade so
		// that their identity.removed events carry the actor.
		ids, err := tx.FindRecordsByFilter("contact_identities", "contact = {:c}", "", 0, 0, dbx.Params{"c": rec.Id})
		if err != nil {
			return fmt.Errorf("reading the identities of contact %s: %w", rec.Id, err)
		}
		for _, id := range ids {
			if err := tx.Delete(events.WithActor(id, actor)); err != nil {
				return err
			}
		}
		if err := e.Next(); err != nil {
			return err
		}
		payload := map[string]any{}
		for _, a := range contacts.Attributes {
			if v := c.Attr(a); v != "" {
				payload[a] = v
			}
		}
		if into, _ := rec.GetRaw(contacts.MergedIntoKey).(string); into != "" {
			payload["merged_into"] = into
		}
		return events.Append(tx, events.Event{Type: contacts.EventContactDeleted, Contact: rec.Id, Payload: payload, Actor: actor})
	})
}

func consentOf(rec *core.Record) contacts.Consent {
	return contacts.Consent{
		Status:  rec.GetString("consent"),
		At:      rec.GetDateTime("consent_at").Time(),
		Source:  rec.GetString("consent_source"),
		Wording: rec.GetString("consent_wording"),
	}
}

// identitySnapshot is how identity events describe an identity.
func identitySnapshot(rec *core.Record) map[string]any {
	return map[string]any{
		"identity": rec.Id, "kind": rec.GetString("kind"), "identifier": rec.GetString("identifier"),
		"from_phone": rec.GetBool("from_phone"),
	}
}

func saveIdentity(e *core.RecordEvent, now time.Time) error {
	return inTx(e, func(tx core.App) error {
		rec := e.Record
		actor := events.ActorOf(rec)
		orig, err := storedRecord(tx, rec)
		if err != nil {
			return err
		}
		isNew := orig == nil
		fe := contacts.FieldErrors{}

		kind := rec.GetString("kind")
		if !contacts.ValidKind(kind) {
			fe.Add("kind", fmt.Sprintf("kind %q is not an identity kind; use one of %v", kind, contacts.Kinds))
		} else {
			ws, err := workspace.Load(tx)
			if err != nil {
				return err
			}
			ident, err := contacts.NormalizeIdentifier(kind, rec.GetString("identifier"), ws.DefaultRegion)
			if err != nil {
				fe.Add("identifier", err.Error())
			} else {
				rec.Set("identifier", ident)
				owner, err := contacts.IdentityOwner(tx, kind, ident, rec.Id)
				if err != nil {
					return err
				}
				if owner != "" {
					fe.Add("identifier", (&contacts.IdentityConflictError{Kind: kind, Identifier: ident, Contact: owner}).Error())
				}
				if rec.GetBool("from_phone") {
					if msg := checkFromPhone(tx, rec.GetString("contact"), kind, ident); msg != "" {
						fe.Add("from_phone", msg)
					}
				}
			}
		}

		var before contacts.Consent
		if !isNew {
			before = consentOf(orig)
		}
		consent, consentChanged, cfe := contacts.ApplyConsentRules(before, consentOf(rec), now)
		for k, msg := range cfe {
			fe.Add(k, msg)
		}
		if len(fe) > 0 {
			return badFields(fe)
		}
		if consentChanged {
			rec.Set("consent_at", consent.At)
			rec.Set("consent_source", consent.Source)
			rec.Set("consent_wording", consent.Wording)
		}
		if err := e.Next(); err != nil {
			return err
		}

		var evs []events.Event
		moved := !isNew && (orig.GetString("contact") != rec.GetString("contact") ||
			orig.GetString("kind") != kind || orig.GetString("identifier") != rec.GetString("identifier"))
		if moved {
			evs = append(evs, events.Event{Type: contacts.EventIdentityRemoved, Contact: orig.GetString("contact"),
				Subject: rec.Id, Payload: identitySnapshot(orig), Actor: actor})
		}
		if isNew || moved {
			evs = append(evs, events.Event{Type: contacts.EventIdentityAdded, Contact: rec.GetString("contact"),
				Subject: rec.Id, Payload: identitySnapshot(rec), Actor: actor})
		}
		if consentChanged {
			p := identitySnapshot(rec)
			p["from"] = before.Status
			p["to"] = consent.Status
			p["at"] = consent.At.UTC().Format(time.RFC3339)
			p["source"] = consent.Source
			p["wording"] = consent.Wording
			if before.Status != "" {
				p["previous"] = before
			}
			evs = append(evs, events.Event{Type: contacts.EventConsentChanged, Contact: rec.GetString("contact"),
				Subject: rec.Id, Payload: p, Actor: actor})
		}
		return events.AppendMany(tx, evs)
	})
}

// checkFromPhone says what is wrong with an identity marked as following
// its contact's phone, or "".
func checkFromPhone(app core.App, contactID, kind, identifier string) string {
	if kind != contacts.KindSMS && kind != contacts.KindWhatsApp {
		return fmt.Sprintf("only sms and whatsapp identities can follow the contact's phone, not %s; set from_phone to false", kind)
	}
	var phone []string
	if err := app.DB().NewQuery("SELECT phone FROM contacts WHERE id = {:id}").Bind(dbx.Params{"id": contactID}).Column(&phone); err != nil || len(phone) == 0 {
		return "" // the relation check reports a missing contact
	}
	if phone[0] != identifier {
		return fmt.Sprintf("this identity follows the contact's phone (%q): change the contact's phone instead, or set from_phone to false", phone[0])
	}
	return ""
}

func deleteIdentity(e *core.RecordEvent) error {
	return inTx(e, func(tx core.App) error {
		rec := e.Record
		if err := e.Next(); err != nil {
			return err
		}
		return events.Append(tx, events.Event{Type: contacts.EventIdentityRemoved, Contact: rec.GetString("contact"),
			Subject: rec.Id, Payload: identitySnapshot(rec), Actor: events.ActorOf(rec)})
	})
}
