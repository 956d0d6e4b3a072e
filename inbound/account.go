package inbound

import (
	"fmt"
	"strings"

	"pregon/channels"
	"pregon/channelstore"
	"pregon/events"
)

// EventChannelAccountError is appended when a provider reports a problem
// with the account or number itself in a webhook (WhatsApp's value.errors).
const EventChannelAccountError = "channel.account_error"

// maxLastError is the channels.last_error column's limit.
const maxLastError = 2000

// accountError shows an account-level problem to the admin: the channel's
// last_error says what the provider reported, and one channel.account_error
// event records it. The channel is not paused: the report comes without a
// message to judge it by, and a send that fails for that reason already
// pauses the channel (outbox, configuration errors). Meta repeats these
// reports; one that matches last_error already changes nothing, so the
// event log gets one event per problem, not one per delivery.
func (a *applier) accountError(ch *channelstore.Channel, e channels.Error) error {
	reason := clip(accountErrorText(ch.Type, e), maxLastError)
	rec, err := a.tx.FindRecordById("channels", ch.ID)
	if err != nil {
		return wrap("reading the channel for its last error", err)
	}
	if rec.GetString("last_error") == reason {
		return nil
	}
	rec.Set("last_error", reason)
	if err := a.tx.Save(rec); err != nil {
		return wrap("recording the channel's account error", err)
	}
	a.emit(events.Event{Type: EventChannelAccountError, Subject: ch.ID, Actor: actor(ch.ID),
		Payload: map[string]any{"channel": ch.ID, "name": ch.Name, "code": e.Code, "class": string(e.Class), "reason": reason}})
	return nil
}

// accountErrorText is the human wording of an account error: the
// provider's code and its own words (already redacted by the adapter).
func accountErrorText(typ channels.Type, e channels.Error) string {
	code := "no code"
	if e.Code != "" {
		code = "code " + e.Code
	}
	detail := strings.TrimSpace(e.Detail)
	if detail == "" {
		detail = "no description"
	}
	return fmt.Sprintf("%s reported a problem with the account (%s): %s", typ, code, detail)
}
