package inbound

import (
	"strings"
	"time"

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
// "blocked", a carrier STOP). The signal is evidence worth keeping even for
// a sender we have never heard from, so the identity is created if needed:
// a later import of that number then finds it opted out.
func (a *applier) consentSignal(ch *channelstore.Channel, cs channels.ConsentSignal) error {
	if strings.TrimSpace(cs.From) == "" {
		return park(errNoSender)
	}
	id, err := a.identity(ch, channels.Inbound{From: strings.TrimSpace(cs.From)})
	if err != nil {
		return err
	}
	source := cs.Source
	if source == "" {
		source = "provider:" + string(ch.Type)
	}
	return a.setConsent(ch.ID, id, cs.OptIn, source, cs.Source, a.now)
}
