// Package deliveries answers "why didn't this person get my message?" for
// one contact: for a broadcast (and its resends) or for the contact's recent
// outbound messages, whether the contact was targeted or excluded and why,
// and what became of each message (queued, held, sent, delivered, read,
// replied, failed with the provider's code, or unknown after a crash), in
// plain English and Spanish.
package deliveries

import (
	"errors"
	"time"

	"github.com/pocketbase/pocketbase/core"

	"pregon/channels"
	"pregon/failedlog"
	"pregon/reasons"
	"pregon/segments"
)

// States of an answer: a message's status, or what happened instead of a
// message. Replied is read (or delivered, or sent) plus a reply.
const (
	StateNotStarted  = "not_started"  // the broadcast is a draft or scheduled
	StateNotSent     = "not_sent"     // the broadcast failed, or was cancelled before it started
	StateNotTargeted = "not_targeted" // not in the audience when the broadcast started
	StateExcluded    = "excluded"     // in the audience, left out by a rule (see Code)
	StateQueued      = "queued"
	StateHeld        = "held"
	StateSending     = "sending"
	StateSent        = "sent"
	StateDelivered   = "delivered"
	StateRead        = "read"
	StateReplied     = "replied"
	StateFailed      = "failed"
	StateUnknown     = "unknown"
)

// Codes this package adds to the reasons catalogue's, for waits.
const (
	CodeBroadcastPaused = "broadcast_paused"
	CodeBroadcastFailed = "broadcast_failed"
)

// ErrContactNotFound and ErrBroadcastNotFound name what does not exist.
var (
	ErrContactNotFound   = errors.New("contact not found")
	ErrBroadcastNotFound = errors.New("broadcast not found")
)

// BroadcastRef names the broadcast an answer is about.
type BroadcastRef struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Status   string `json:"status"`
	ResendOf string `json:"resend_of"`
}

// ChannelRef names the channel of a message or exclusion.
type ChannelRef struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Type   string `json:"type"`
	Status string `json:"status"`
}

// Times are the stored times of a message's statuses (UTC; empty when it
// never reached that status).
type Times struct {
	Queued    string `json:"queued,omitempty"`
	Sent      string `json:"sent,omitempty"`
	Delivered string `json:"delivered,omitempty"`
	Read      string `json:"read,omitempty"`
	Failed    string `json:"failed,omitempty"`
	Unknown   string `json:"unknown,omitempty"`
	Replied   string `json:"replied,omitempty"`
}

// Answer is what happened for the contact with one broadcast or message.
type Answer struct {
	Broadcast *BroadcastRef `json:"broadcast"`
	Channel   *ChannelRef   `json:"channel"`
	MessageID string        `json:"message_id"`
	Source    string        `json:"source"`
	SourceID  string        `json:"source_id"`
	State     string        `json:"state"`
	// MessageStatus is the message's own status ("" without a message).
	MessageStatus string `json:"message_status"`
	// Code is the reason's code: the provider's error code, or Pregón's
	// (opted_out, channel_paused, broadcast_paused, unknown_outcome...).
	Code      string `json:"code"`
	Retryable bool   `json:"retryable"`
	// Explanation is in the language asked for; both are always there.
	Explanation   string `json:"explanation"`
	ExplanationEN string `json:"explanation_en"`
	ExplanationES string `json:"explanation_es"`
	// At is when the state began (UTC), AtLocal the same in the workspace's zone.
	At            string `json:"at"`
	AtLocal       string `json:"at_local"`
	ContentType   string `json:"content_type"`
	Content       string `json:"content"`
	Attempts      int    `json:"attempts"`
	NextAttemptAt string `json:"next_attempt_at"`
	Times         Times  `json:"times"`
	Replied       bool   `json:"replied"`
	ErrorDetail   string `json:"error_detail"`
}

// Asker answers for one request: the clock, the workspace's zone and reply
// window, the language of Explanation and the channel types' capabilities.
type Asker struct {
	App  core.App
	Now  time.Time
	Loc  *time.Location
	Lang string
	// ReplyWindow: an inbound message this long after a send counts as a reply.
	ReplyWindow time.Duration
	Caps        func(channels.Type) (channels.Capabilities, bool)
	Segments    segments.Resolver
}

func (a Asker) finish(ans *Answer, w words) {
	ans.ExplanationEN, ans.ExplanationES = w.EN, w.ES
	ans.Explanation = w.in(a.Lang)
	if t := failedlog.ParseStored(ans.At); !t.IsZero() {
		ans.AtLocal = t.In(a.Loc).Format(failedlog.LocalLayout)
	}
}

// when formats a stored time for a sentence: the workspace's wall clock
// and its zone's name.
func (a Asker) when(stored string) any {
	return a.whenIn(stored, a.Loc)
}

func (a Asker) whenIn(stored string, loc *time.Location) any {
	t := failedlog.ParseStored(stored)
	if t.IsZero() {
		return sayNoTime
	}
	return t.In(loc).Format("2006-01-02 15:04") + " (" + loc.String() + ")"
}

// ForBroadcast answers for contactID and broadcastID, followed by the
// broadcasts that resent it (and their resends), oldest first.
func (a Asker) ForBroadcast(contactID, broadcastID string) ([]Answer, error) {
	c, err := loadContact(a.App, contactID)
	if err != nil {
		return nil, err
	}
	chain, err := resendChain(a.App, broadcastID)
	if err != nil {
		return nil, err
	}
	cache := newRefs(a.App)
	out := []Answer{}
	for _, b := range chain {
		msgs, err := broadcastMessages(a.App, contactID, b.ID)
		if err != nil {
			return nil, err
		}
		for _, m := range msgs {
			ans, err := a.message(m, &b, cache)
			if err != nil {
				return nil, err
			}
			out = append(out, ans)
		}
		if len(msgs) > 0 {
			continue
		}
		x, found, err := exclusionOf(a.App, b.ID, contactID)
		if err != nil {
			return nil, err
		}
		if found {
			out = append(out, a.exclusion(x, &b, cache))
			continue
		}
		out = append(out, a.noMessage(c, &b))
	}
	return out, nil
}

// Recent answers for the contact's latest limit outbound messages and
// broadcast exclusions, newest first.
func (a Asker) Recent(contactID string, limit int) ([]Answer, error) {
	if _, err := loadContact(a.App, contactID); err != nil {
		return nil, err
	}
	msgs, err := recentMessages(a.App, contactID, limit)
	if err != nil {
		return nil, err
	}
	xs, err := recentExclusions(a.App, contactID, limit)
	if err != nil {
		return nil, err
	}
	cache := newRefs(a.App)
	out := make([]Answer, 0, min(limit, len(msgs)+len(xs)))
	for len(out) < limit && (len(msgs) > 0 || len(xs) > 0) {
		// Merge the two newest-first lists by time.
		if len(xs) == 0 || (len(msgs) > 0 && msgs[0].Created >= xs[0].Created) {
			m := msgs[0]
			msgs = msgs[1:]
			var b *bcast
			if m.Source == "broadcast" && m.SourceID != "" {
				if b, err = cache.broadcast(m.SourceID); err != nil {
					return nil, err
				}
			}
			ans, err := a.message(m, b, cache)
			if err != nil {
				return nil, err
			}
			out = append(out, ans)
			continue
		}
		x := xs[0]
		xs = xs[1:]
		b, err := cache.broadcast(x.Broadcast)
		if err != nil {
			return nil, err
		}
		out = append(out, a.exclusion(x, b, cache))
	}
	return out, nil
}

// message answers for one outbound message; b is its broadcast, if any.
func (a Asker) message(m msgRow, b *bcast, cache *refs) (Answer, error) {
	ch, err := cache.channel(m.Channel)
	if err != nil {
		return Answer{}, err
	}
	ctype, content := failedlog.RenderContent(m.Content)
	ans := Answer{Broadcast: b.ref(), Channel: ch.ref(), MessageID: m.ID, Source: m.Source, SourceID: m.SourceID,
		State: m.Status, MessageStatus: m.Status, ContentType: ctype, Content: content, Attempts: m.Attempts,
		NextAttemptAt: m.NextAttemptAt, ErrorDetail: m.ErrorDetail,
		Times: Times{Queued: m.QueuedAt, Sent: m.SentAt, Delivered: m.DeliveredAt, Read: m.ReadAt,
			Failed: m.FailedAt, Unknown: m.UnknownAt}}
	if ans.Times.Queued == "" {
		ans.Times.Queued = m.Created
	}
	var w words
	switch m.Status {
	case StateQueued, StateHeld:
		ans.At = ans.Times.Queued
		w = a.waiting(m, b, ch, &ans)
	case StateSending:
		ans.At = m.Updated
		w = saySending
	case StateSent:
		ans.At = m.SentAt
		w = saySent.with(a.when(m.SentAt))
		if caps, ok := a.caps(ch); ok && !caps.Receipts {
			w = saySentNoReceipts.with(a.when(m.SentAt))
		}
	case StateDelivered:
		ans.At = m.DeliveredAt
		w = sayDelivered.with(a.when(m.DeliveredAt))
	case StateRead:
		ans.At = m.ReadAt
		w = sayRead.with(a.when(m.ReadAt))
	case StateFailed:
		r := reasons.For(m.ErrorCode, m.ErrorClass, m.ErrorDetail)
		ans.At, ans.Code, ans.Retryable = m.FailedAt, r.Code, r.Retryable
		w = sayFailed.with(a.when(m.FailedAt), reasonWords(r))
		if r.Retryable {
			w = w.then(sayRetryable)
		} else {
			w = w.then(sayPermanent)
		}
	case StateUnknown:
		r := reasons.For(reasons.Unknown, "", "")
		ans.At, ans.Code = m.UnknownAt, r.Code
		w = sayUnknown.with(a.when(m.UnknownAt), reasonWords(r))
	default:
		ans.At = m.Updated
		w = words{"Status: " + m.Status + ".", "Estado: " + m.Status + "."}
	}
	if m.Status == StateSent || m.Status == StateDelivered || m.Status == StateRead {
		at, replied, err := a.reply(m, b)
		if err != nil {
			return Answer{}, err
		}
		if replied {
			ans.State, ans.Replied, ans.Times.Replied = StateReplied, true, at
			if at != "" {
				ans.At = at
				w = w.then(sayReplied.with(a.when(at)))
			} else {
				w = w.then(sayRepliedNoTime)
			}
		}
	}
	a.finish(&ans, w)
	return ans, nil
}

// waiting explains a message not sent yet, most blocking cause first: its
// channel paused, its broadcast paused, a retry after an error, a later
// due time (pacing, backoff), or simply its turn.
func (a Asker) waiting(m msgRow, b *bcast, ch *chanInfo, ans *Answer) words {
	switch {
	case ch != nil && ch.Status != "" && ch.Status != "active":
		ans.Code, ans.Retryable = reasons.ChannelPaused, true
		var last any = sayNoLastError
		if ch.LastError != "" {
			last = ch.LastError
		}
		return sayChannelPaused.with(ch.Name, last)
	case b != nil && b.Status == "paused":
		ans.Code = CodeBroadcastPaused
		return sayBroadcastPaused.with(b.Name)
	case m.Status == StateHeld:
		return sayHeld
	case m.ErrorCode != "" || m.ErrorClass != "":
		r := reasons.For(m.ErrorCode, m.ErrorClass, m.ErrorDetail)
		ans.Code, ans.Retryable = r.Code, true
		return sayRetrying.with(m.Attempts, reasonWords(r), a.when(m.NextAttemptAt))
	case failedlog.ParseStored(m.NextAttemptAt).After(a.Now):
		return sayDueLater.with(a.when(m.NextAttemptAt))
	}
	return sayQueued
}

// exclusion answers for a contact a broadcast left out.
func (a Asker) exclusion(x exclRow, b *bcast, cache *refs) Answer {
	r := reasons.For(x.Reason, "", "")
	ans := Answer{Broadcast: b.ref(), State: StateExcluded, Code: r.Code, Retryable: r.Retryable, At: x.Created}
	if b != nil {
		ans.Source, ans.SourceID = "broadcast", b.ID
	}
	if ch, err := cache.channel(x.Channel); err == nil {
		ans.Channel = ch.ref()
	}
	a.finish(&ans, sayExcluded.with(reasonWords(r)))
	return ans
}

// noMessage answers for a broadcast that has neither a message nor an
// exclusion for the contact: not started yet, failed or cancelled before
// reaching it, or the contact was not in its audience.
func (a Asker) noMessage(c contactRow, b *bcast) Answer {
	ans := Answer{Broadcast: b.ref(), Source: "broadcast", SourceID: b.ID}
	var w words
	switch b.Status {
	case "draft", "scheduled":
		ans.State, ans.At = StateNotStarted, b.Created
		if b.Status == "draft" {
			w = sayDraft.with(b.Name)
		} else {
			w = sayScheduled.with(b.Name, a.whenIn(b.ScheduledAt, b.location(a.Loc)))
		}
		switch in, known := a.inSegment(c.ID, b.Segment); {
		case b.Segment == "":
			w = w.then(sayNoSegment)
		case !known:
		case in:
			w = w.then(sayWillJoin)
		default:
			w = w.then(sayNotInSegmentYet)
		}
	case "failed":
		ans.State, ans.Code, ans.At = StateNotSent, CodeBroadcastFailed, b.Updated
		w = sayBroadcastFailed.with(b.Error)
	case "cancelled":
		if b.StartedAt == "" {
			ans.State, ans.Code, ans.At = StateNotSent, reasons.Cancelled, b.Updated
			w = sayCancelledEarly
			break
		}
		fallthrough
	default:
		started := b.StartedAt
		if started == "" {
			started = b.Updated
		}
		ans.State, ans.At = StateNotTargeted, started
		if b.ResendOf != "" && b.Segment == "" {
			w = sayNotInResend.with(b.resendOfName)
			break
		}
		w = sayNotTargeted.with(a.when(started))
		if c.Created > started {
			w = w.then(sayCreatedAfter.with(a.when(c.Created)))
		}
		if in, known := a.inSegment(c.ID, b.Segment); known {
			if in {
				w = w.then(sayJoinedLater)
			} else {
				w = w.then(sayNotInSegment)
			}
		}
	}
	a.finish(&ans, w)
	return ans
}

func (a Asker) caps(ch *chanInfo) (channels.Capabilities, bool) {
	if ch == nil || a.Caps == nil {
		return channels.Capabilities{}, false
	}
	return a.Caps(channels.Type(ch.Type))
}
