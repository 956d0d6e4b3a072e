package outbox

import (
	"pregon/contacts"
	"pregon/events"
)

// EventStatus is the type of the event written when the outbox moves a
// message to sent, failed or unknown (status webhooks add delivered, read and
// late failures with the same type). One type for every status keeps
// consumers (outgoing webhooks, journeys' failure branches, broadcast
// counters) to one filter; payload.status says which.
const EventStatus = "message.status"

// EventChannelPaused is written when a configuration error pauses a channel.
const EventChannelPaused = "channel.paused"

// EventConsentChanged is the contacts' consent event, which a provider's
// opt-out answer produces too.
const EventConsentChanged = contacts.EventConsentChanged

// StatusPayload is the payload of a message.status event.
type StatusPayload struct {
	Status      string `json:"status"`
	Channel     string `json:"channel"`
	Source      string `json:"source,omitempty"`
	SourceID    string `json:"source_id,omitempty"`
	ProviderID  string `json:"provider_id,omitempty"`
	ErrorCode   string `json:"error_code,omitempty"`
	ErrorClass  string `json:"error_class,omitempty"`
	ErrorDetail string `json:"error_detail,omitempty"`
}

func statusEvent(msgID, contact string, p StatusPayload) events.Event {
	return events.Event{Type: EventStatus, Contact: contact, Subject: msgID, Payload: p, Actor: "outbox"}
}
