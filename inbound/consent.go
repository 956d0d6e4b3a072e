package inbound

import (
	"strings"
	"time"

	"github.com/pocketbase/dbx"

	"pregon/channels"
	"pregon/channelstore"
	"pregon/events"
)

// EventConsentChanged is appended when an identity's consent changes.
const EventConsentChanged = "consent.changed"

// setConsent records an opt-in or opt-out on an identity with its evidence
// (time, source, wording). Repeating the current state changes nothing, so
// a second STOP keeps the first one's evidence.
func (a *applier) setConsent(channelID string, id identRef, optIn bool, source, wording string, at time.Time) error {
	want := "opted_out"
	if optIn {
		want = "opted_in"
	}
	if id.Consent == want {
		return nil
	}
	atStr := dateString(at)
	err := a.exec(`UPDATE contact_identities SET consent = {:consent}, consent_at = {:at}, consent_source = {:source},
		consent_wording = {:wording}, updated = {:now} WHERE id = {:id}`, dbx.Params{
		"id": id.ID, "consent": want, "at": atStr, "source": clip(source, 200), "wording": clip(wording, 2000), "now": a.nowStr,
	})
	if err != nil {
		return wrap("recording consent", err)
	}
	a.emit(events.Event{
		Type: EventConsentChanged, Contact: id.Contact, Subject: id.ID, Actor: actor(channelID),
		Payload: map[string]any{"identity": id.ID, "channel": channelID, "consent": want, "previous": id.Consent,
			"source": source, "wording": wording, "at": atStr},
	})
	return nil
}

// consentSignal applies a provider's own opt-out or opt-in (Telegram's
// "blocked", a carrier STOP). The signal is evidence worth keeping even for
// a sender we have never heard from, so the identity is created if needed:
// a later import of that number then finds it opted out.
func (a *applier) consentSignal(ch *channelstore.Channel, cs channels.ConsentSignal) error {
	if strings.TrimSpace(cs.From) == "" {
		return errNoSender
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
