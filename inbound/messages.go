package inbound

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"

	"pregon/channels"
	"pregon/channelstore"
	"pregon/contacts"
	"pregon/events"
	"pregon/outbox"
	"pregon/workspace"
)

// EventMessageReceived is appended for every new inbound message.
const EventMessageReceived = "message.received"

// inbound records one message a contact sent: the contact and identity
// (found or created), the message row, the 24-hour window and last channel,
// consent keywords and the message.received event, all in the caller's
// transaction. A provider id seen before on this channel is a duplicate
// delivery and changes nothing.
func (a *applier) inbound(ch *channelstore.Channel, in channels.Inbound, delivery string) error {
	in.From = strings.TrimSpace(in.From)
	if in.From == "" {
		return park(errNoSender)
	}
	if in.ProviderID != "" {
		var dup struct {
			ID string `db:"id"`
		}
		found, err := a.one(`SELECT id FROM messages WHERE channel = {:ch} AND provider_id = {:pid}
			AND provider_id != '' AND direction = 'in' LIMIT 1`, dbx.Params{"ch": ch.ID, "pid": in.ProviderID}, &dup)
		if err != nil {
			return wrap("looking for a duplicate message", err)
		}
		if found {
			return nil
		}
	}
	at := a.when(in.Timestamp)
	id, err := a.identity(ch, in)
	if err != nil {
		return err
	}

	col, err := a.tx.FindCachedCollectionByNameOrId("messages")
	if err != nil {
		return err
	}
	msg := core.NewRecord(col)
	msg.Set("direction", "in")
	msg.Set("channel", ch.ID)
	msg.Set("contact", id.Contact)
	msg.Set("identity", id.ID)
	msg.Set("content", in.Content)
	msg.Set("status", outbox.StatusReceived)
	msg.Set("provider_id", in.ProviderID)
	if err := a.tx.Save(msg); err != nil {
		return wrap("saving the inbound message", err)
	}

	atStr := dateString(at)
	if err := a.exec(`UPDATE contact_identities SET last_inbound_at = {:at}, channel = {:ch}, updated = {:now}
		WHERE id = {:id} AND (COALESCE(last_inbound_at, '') = '' OR last_inbound_at <= {:at})`,
		dbx.Params{"id": id.ID, "at": atStr, "ch": ch.ID, "now": a.nowStr}); err != nil {
		return wrap("updating the identity's last inbound time", err)
	}
	if err := a.exec(`UPDATE contacts SET last_inbound_at = {:at}, last_channel = {:ch}, updated = {:now}
		WHERE id = {:id} AND (COALESCE(last_inbound_at, '') = '' OR last_inbound_at <= {:at})`,
		dbx.Params{"id": id.Contact, "at": atStr, "ch": ch.ID, "now": a.nowStr}); err != nil {
		return wrap("updating the contact's last channel", err)
	}

	if word, optIn, ok := Keyword(in.Content.Text); ok {
		if err := a.setConsent(ch.ID, id, optIn, "keyword:"+word, in.Content.Text, at); err != nil {
			return err
		}
	}
	a.emit(events.Event{
		Type: EventMessageReceived, Contact: id.Contact, Subject: msg.Id, Actor: actor(ch.ID),
		Payload: map[string]any{
			"channel": ch.ID, "channel_type": ch.Type, "identity": id.ID, "provider_id": in.ProviderID,
			"content": in.Content, "new_contact": id.NewContact, "at": atStr, "delivery": delivery,
		},
	})
	return nil
}

// identRef is an identity and its contact.
type identRef struct {
	ID         string `db:"id"`
	Contact    string `db:"contact"`
	Consent    string `db:"consent"`
	ConsentAt  string `db:"consent_at"` // "" when no decision was recorded
	NewContact bool   `db:"-"`
}

// identity finds the sender's identity on the channel's family, or creates
// it: on the contact that already has this phone, else on a new contact
// named from the provider's profile. Contacts and identities are saved
// through the contact rules (normalisation, identities that follow the
// phone, identity.added events).
func (a *applier) identity(ch *channelstore.Channel, in channels.Inbound) (identRef, error) {
	kind := string(ch.Caps.IdentityKind)
	from, err := a.identifier(kind, in.From)
	if err != nil {
		return identRef{}, err
	}
	ref, found, err := a.findIdentity(kind, from)
	if err != nil || found {
		if found && in.Name != "" {
			err = a.fillName(ref.Contact, in.Name)
		}
		return ref, err
	}
	phone := a.phoneOf(ch.Caps.IdentityKind, from, in.Phone)
	if phone != "" && phone != from {
		// A WhatsApp user who now writes with a user id, known by phone.
		if ref, found, err = a.findIdentity(kind, phone); err != nil || found {
			return ref, err
		}
	}

	var contact struct {
		ID string `db:"id"`
	}
	if phone != "" {
		if _, err := a.one(`SELECT id FROM contacts WHERE phone = {:p} AND phone != '' ORDER BY created LIMIT 1`,
			dbx.Params{"p": phone}, &contact); err != nil {
			return ref, wrap("looking up the contact by phone", err)
		}
	}
	newContact := contact.ID == ""
	if newContact {
		col, err := a.tx.FindCachedCollectionByNameOrId("contacts")
		if err != nil {
			return ref, err
		}
		c := core.NewRecord(col)
		first, last := splitName(in.Name)
		c.Set("first_name", first)
		c.Set("last_name", last)
		c.Set("phone", phone)
		if err := a.tx.Save(events.WithActor(c, actor(ch.ID))); err != nil {
			return ref, wrap("creating the contact", err)
		}
		contact.ID = c.Id
	}
	// The contact rules create the sms and whatsapp identities of a phone.
	if ref, found, err = a.findIdentity(kind, from); err != nil || found {
		ref.NewContact = newContact
		return ref, err
	}
	col, err := a.tx.FindCachedCollectionByNameOrId("contact_identities")
	if err != nil {
		return ref, err
	}
	idr := core.NewRecord(col)
	idr.Set("contact", contact.ID)
	idr.Set("kind", kind)
	idr.Set("identifier", from)
	idr.Set("channel", ch.ID)
	if err := a.tx.Save(events.WithActor(idr, actor(ch.ID))); err != nil {
		return ref, wrap("creating the "+kind+" identity", err)
	}
	return identRef{ID: idr.Id, Contact: contact.ID, NewContact: newContact}, nil
}

// mexicanMobile is a Mexican mobile as WhatsApp still writes it, with the
// "1" that Mexico dropped from mobile numbers in 2019 (52 1 55 1234 5678).
var mexicanMobile = regexp.MustCompile(`^\+?521([0-9]{10})$`)

// identifier normalises a sender's identifier the way the contact rules
// store it (E.164 for phones, against the workspace's region), so that the
// lookup finds what was saved. A WhatsApp sender id of a Mexican mobile
// with the old "1" is read as the number it is. An identifier the rules
// cannot read is a fact about the delivery: the row is parked.
func (a *applier) identifier(kind, raw string) (string, error) {
	region, err := a.region()
	if err != nil {
		return "", err
	}
	id, err := contacts.NormalizeIdentifier(kind, raw, region)
	if err == nil {
		return id, nil
	}
	if m := mexicanMobile.FindStringSubmatch(raw); m != nil && (kind == contacts.KindWhatsApp || kind == contacts.KindSMS) {
		if id, err2 := contacts.NormalizeIdentifier(kind, "+52"+m[1], region); err2 == nil {
			return id, nil
		}
	}
	return "", park(fmt.Errorf("the sender cannot be stored: %w", err))
}

// region is the workspace's default phone region, read once per batch.
func (a *applier) region() (string, error) {
	if a.defaultRegion == "" {
		ws, err := workspace.Load(a.tx)
		if err != nil {
			return "", wrap("reading the workspace settings", err)
		}
		a.defaultRegion = ws.DefaultRegion
	}
	return a.defaultRegion, nil
}

func (a *applier) findIdentity(kind, identifier string) (identRef, bool, error) {
	var ref identRef
	found, err := a.one(`SELECT id, contact, COALESCE(consent, '') AS consent, COALESCE(consent_at, '') AS consent_at FROM contact_identities
		WHERE kind = {:kind} AND identifier = {:identifier} LIMIT 1`,
		dbx.Params{"kind": kind, "identifier": identifier}, &ref)
	return ref, found, wrap("looking up the identity", err)
}

// fillName names a contact that has no name yet from the provider profile.
func (a *applier) fillName(contact, name string) error {
	first, last := splitName(name)
	return wrap("naming the contact", a.exec(`UPDATE contacts SET first_name = {:f}, last_name = {:l}, updated = {:now}
		WHERE id = {:id} AND first_name = '' AND last_name = ''`,
		dbx.Params{"id": contact, "f": first, "l": last, "now": a.nowStr}))
}

// phoneOf returns the sender's E.164 phone for phone-based families: the
// identifier itself, or the phone the provider gave beside a user id.
func (a *applier) phoneOf(kind channels.Kind, from, phone string) string {
	if kind != channels.KindWhatsApp && kind != channels.KindSMS {
		return ""
	}
	if strings.HasPrefix(from, "+") {
		return from
	}
	if phone != "" {
		if p, err := a.identifier(contacts.KindSMS, phone); err == nil {
			return p
		}
	}
	return ""
}

// splitName puts the first word of a profile name in first_name and the
// rest in last_name, which is how most people write their profile name.
func splitName(name string) (first, last string) {
	name = strings.Join(strings.Fields(name), " ")
	first, last, _ = strings.Cut(name, " ")
	return clip(first, 200), clip(last, 200)
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n])
	}
	return s
}
