// Package outbox is the durable send queue: every outbound message is a
// messages row before any provider is called.
package outbox

// Message statuses and their order. A status only moves forward:
// queued, sending and unknown < sent < delivered < read, and failed is final.
// Every UPDATE of messages.status, whoever makes it (the dispatcher recording
// a send, a status webhook, a resend), must go through these so that a late
// or duplicated report never moves a message back.
const (
	StatusQueued    = "queued"
	StatusSending   = "sending"
	StatusSent      = "sent"
	StatusDelivered = "delivered"
	StatusRead      = "read"
	StatusFailed    = "failed"
	StatusUnknown   = "unknown"
	// StatusHeld: queued but held back by its source (a paused broadcast);
	// the dispatcher does not claim it until it is released.
	StatusHeld     = "held"
	StatusReceived = "received" // inbound messages
)

// Rank orders statuses; failed ranks above everything so nothing replaces it.
func Rank(status string) int {
	switch status {
	case StatusQueued, StatusSending, StatusUnknown, StatusHeld:
		return 1
	case StatusSent:
		return 2
	case StatusDelivered:
		return 3
	case StatusRead:
		return 4
	case StatusFailed:
		return 9
	}
	return 0
}

// RankSQL is Rank as an SQL expression over the messages.status column, for
// conditional updates: `... WHERE ` + RankSQL + ` < {:newRank}`.
const RankSQL = `(CASE status WHEN 'queued' THEN 1 WHEN 'sending' THEN 1 WHEN 'unknown' THEN 1
	WHEN 'held' THEN 1 WHEN 'sent' THEN 2 WHEN 'delivered' THEN 3 WHEN 'read' THEN 4 WHEN 'failed' THEN 9 ELSE 0 END)`

// Advances reports whether a message in status from may move to status to.
func Advances(from, to string) bool { return Rank(to) > Rank(from) }
