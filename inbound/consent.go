package inbound

import (
	"strings"
	"time"

	"github.com/pocketbase/pocketbase/tools/types"

	"pregon/channels"
	"pregon/channelstore"
	"pregon/contacts"
	"pregon/events"
)

// setConsent records an opt-in or opt-out on an identity with its evidence
// (time, source, wording), through the contact rules, which append the
// consent.changed event. Repeating the current state changes nothing, so a
// second STOP keeps the first one's evidence.
func (a *applier) setConsent(channelID string, id identRef, optIn bool, source, wording string, at time.Time) error {
	want := contacts.ConsentOptedOut
	if optIn {
		want = contacts.ConsentOptedIn
	}
	if id.Consent == want {
		return nil
	}
	rec, err := a.tx.FindRecordById("contact_identities", id.ID)
	if err != nil {
		return wrap("reading the identity for its consent", err)
	}
	if at.After(a.now) {
		at = a.now // the rules refuse a decision dated in the future
	}
	rec.Set("consent", want)
	rec.Set("consent_at", at)
	rec.Set("consent_source", clip(strings.TrimSpace(source), contacts.MaxConsentSource))
	rec.Set("consent_wording", clip(strings.TrimSpace(wording), contacts.MaxConsentWording))
	return wrap("recording consent", a.tx.Save(events.WithActor(rec, actor(channelID))))
}

// consentSignal applies a provider's own opt-out or opt-in (Telegram's
// "blocked", a carrier STOP, WhatsApp's user_preferences). The signal is
// evidence worth keeping even for a sender we have never heard from, so the
// identity is created if needed: a later import of that number then finds
// it opted out. A signal dated by the provider keeps its date, and never
// replaces a decision recorded after it (webhooks arrive out of order, and
// a STOP typed after a resume in WhatsApp's settings must stand).
func (a *applier) consentSignal(ch *channelstore.Channel, cs channels.ConsentSignal) error {
	if strings.TrimSpace(cs.From) == "" {
		return park(errNoSender)
	}
	id, err := a.identity(ch, channels.Inbound{From: strings.TrimSpace(cs.From), Name: cs.Name})
	if err != nil {
		return err
	}
	source := cs.Source
	if source == "" {
		source = "provider:" + string(ch.Type)
	}
	wording := cs.Wording
	if strings.TrimSpace(wording) == "" {
		wording = cs.Source
	}
	at := a.now
	if !cs.At.IsZero() {
		at = a.when(cs.At)
		if recorded, err := types.ParseDateTime(id.ConsentAt); err == nil && recorded.Time().After(at) {
			a.tx.Logger().Debug("inbound: a consent signal older than the identity's recorded decision is ignored",
				"channel", ch.ID, "identity", id.ID, "source", source, "signal_at", at, "recorded_at", recorded.Time())
			return nil
		}
	}
	return a.setConsent(ch.ID, id, cs.OptIn, source, wording, at)
}
