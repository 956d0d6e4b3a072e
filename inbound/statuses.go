package inbound

import (
	"fmt"
	"strings"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"

	"pregon/channels"
	"pregon/events"
	"pregon/outbox"
)

// EventMessageStatus is appended when a status report moves a message
// forward. It is the outbox's type: consumers filter one type for every
// status change, whoever observed it; payload.status says which.
const EventMessageStatus = outbox.EventStatus

type msgState struct {
	ID          string `db:"id"`
	Contact     string `db:"contact"`
	Identity    string `db:"identity"`
	Status      string `db:"status"`
	ProviderID  string `db:"provider_id"`
	SentAt      string `db:"sent_at"`
	DeliveredAt string `db:"delivered_at"`
	ReadAt      string `db:"read_at"`
	FailedAt    string `db:"failed_at"`
}

const msgStateCols = `id, COALESCE(contact, '') AS contact, COALESCE(identity, '') AS identity, status,
	COALESCE(provider_id, '') AS provider_id, COALESCE(sent_at, '') AS sent_at, COALESCE(delivered_at, '') AS delivered_at,
	COALESCE(read_at, '') AS read_at, COALESCE(failed_at, '') AS failed_at`

// status applies one provider status report to the message it is about:
// by our own id when the provider echoes it, else by (channel, provider id).
// A report for a provider id the outbox has not recorded yet is kept in
// pending_statuses and applied when the id appears.
func (a *applier) status(channelID string, su channels.StatusUpdate) error {
	if outbox.Rank(string(su.Status)) == 0 {
		return nil // a status we do not track (WhatsApp "deleted")
	}
	var m msgState
	found := false
	var err error
	if su.MessageID != "" {
		found, err = a.one(`SELECT `+msgStateCols+` FROM messages WHERE id = {:id} AND channel = {:ch} AND direction = 'out'`,
			dbx.Params{"id": su.MessageID, "ch": channelID}, &m)
		if err != nil {
			return wrap("looking up the message of a status", err)
		}
	}
	if !found && su.ProviderID != "" {
		found, err = a.one(`SELECT `+msgStateCols+` FROM messages WHERE channel = {:ch} AND provider_id = {:pid}
			AND provider_id != '' AND direction = 'out' LIMIT 1`, dbx.Params{"ch": channelID, "pid": su.ProviderID}, &m)
		if err != nil {
			return wrap("looking up the message of a status", err)
		}
	}
	if !found {
		if su.ProviderID == "" {
			return nil // names no message we could ever match
		}
		return a.keepPending(channelID, su)
	}
	return a.applyStatus(channelID, m, su)
}

// applyStatus moves m forward to su.Status (never back: failed is final),
// records the time of each status once, and fills the earlier ones a later
// status implies (read implies delivered implies sent).
func (a *applier) applyStatus(channelID string, m msgState, su channels.StatusUpdate) error {
	to := string(su.Status)
	at := dateString(a.when(su.Timestamp))
	set := map[string]bool{}
	switch su.Status {
	case channels.StatusRead:
		set["read_at"], set["delivered_at"], set["sent_at"] = m.ReadAt == "", m.DeliveredAt == "", m.SentAt == ""
	case channels.StatusDelivered:
		set["delivered_at"], set["sent_at"] = m.DeliveredAt == "", m.SentAt == ""
	case channels.StatusSent:
		set["sent_at"] = m.SentAt == ""
	case channels.StatusFailed:
		set["failed_at"] = m.FailedAt == ""
	}
	advances := outbox.Advances(m.Status, to)
	var cols []string
	for _, c := range []string{"sent_at", "delivered_at", "read_at", "failed_at"} {
		if set[c] {
			cols = append(cols, c)
		}
	}
	needPID := m.ProviderID == "" && su.ProviderID != ""
	if !advances && len(cols) == 0 && !needPID {
		return nil // a duplicate or a late report: nothing to change
	}
	var code, class, detail string
	if su.Status == channels.StatusFailed && su.Err != nil {
		code, class, detail = su.Err.Code, string(su.Err.Class), truncate(su.Err.Detail, 2000)
	}
	if err := a.exec(statusUpdateSQL(advances, su.Status == channels.StatusFailed, needPID, cols), dbx.Params{
		"id": m.ID, "rank": outbox.Rank(to), "status": to, "code": code, "class": class, "detail": detail,
		"at": at, "pid": su.ProviderID, "now": a.nowStr,
	}); err != nil {
		return wrap("updating the message status", err)
	}
	if !advances {
		return nil
	}
	payload := map[string]any{"channel": channelID, "status": to, "previous": m.Status, "provider_id": su.ProviderID, "at": at}
	if code != "" || class != "" {
		payload["error_code"], payload["error_class"], payload["error_detail"] = code, class, detail
	}
	a.emit(events.Event{Type: EventMessageStatus, Contact: m.Contact, Subject: m.ID, Actor: actor(channelID), Payload: payload})
	if su.Status == channels.StatusFailed && su.Err != nil && su.Err.OptOut && m.Identity != "" {
		ref := identRef{ID: m.Identity, Contact: m.Contact}
		if _, err := a.one(`SELECT COALESCE(consent, '') AS consent FROM contact_identities WHERE id = {:id}`,
			dbx.Params{"id": m.Identity}, &ref); err != nil {
			return wrap("reading the identity's consent", err)
		}
		source := "provider_error"
		if code != "" {
			source += ":" + code
		}
		return a.setConsent(channelID, ref, false, source, detail, a.when(su.Timestamp))
	}
	return nil
}

// statusUpdateSQL builds the UPDATE for one status report: only the
// columns that change, so that SQLite parses and writes no more than needed
// (a few shapes, each prepared once per transaction). A status change is
// guarded by outbox.RankSQL, whatever the caller read.
func statusUpdateSQL(advances, failed, pid bool, times []string) string {
	var b strings.Builder
	b.WriteString("UPDATE messages SET updated = {:now}")
	if advances {
		b.WriteString(", status = {:status}")
		if failed {
			b.WriteString(", error_code = {:code}, error_class = {:class}, error_detail = {:detail}")
		}
	}
	for _, c := range times {
		b.WriteString(", " + c + " = CASE WHEN COALESCE(" + c + ", '') = '' THEN {:at} ELSE " + c + " END")
	}
	if pid {
		b.WriteString(", provider_id = CASE WHEN COALESCE(provider_id, '') = '' THEN {:pid} ELSE provider_id END")
	}
	b.WriteString(" WHERE id = {:id}")
	if advances {
		b.WriteString(" AND " + outbox.RankSQL + " < {:rank}")
	}
	return b.String()
}

// keepPending stores a status whose provider id is not recorded yet.
func (a *applier) keepPending(channelID string, su channels.StatusUpdate) error {
	var code, class, detail string
	optOut := false
	if su.Err != nil {
		code, class, detail, optOut = su.Err.Code, string(su.Err.Class), truncate(su.Err.Detail, 2000), su.Err.OptOut
	}
	ts := ""
	if !su.Timestamp.IsZero() {
		ts = dateString(su.Timestamp)
	}
	return wrap("keeping a status for later", a.exec(`INSERT INTO pending_statuses
		(channel, provider_id, status, ts, error_code, error_class, error_detail, opt_out, received)
		VALUES ({:ch}, {:pid}, {:status}, {:ts}, {:code}, {:class}, {:detail}, {:opt_out}, {:now})`, dbx.Params{
		"ch": channelID, "pid": su.ProviderID, "status": string(su.Status), "ts": ts,
		"code": code, "class": class, "detail": detail, "opt_out": optOut, "now": a.nowStr,
	}))
}

type pendingRow struct {
	Seq         int64  `db:"seq"`
	Channel     string `db:"channel"`
	ProviderID  string `db:"provider_id"`
	Status      string `db:"status"`
	TS          string `db:"ts"`
	ErrorCode   string `db:"error_code"`
	ErrorClass  string `db:"error_class"`
	ErrorDetail string `db:"error_detail"`
	OptOut      bool   `db:"opt_out"`
}

func (p pendingRow) update() channels.StatusUpdate {
	su := channels.StatusUpdate{ProviderID: p.ProviderID, Status: channels.Status(p.Status)}
	if t, err := time.Parse("2006-01-02 15:04:05.000Z", p.TS); err == nil {
		su.Timestamp = t
	}
	if p.ErrorCode != "" || p.ErrorClass != "" || p.OptOut {
		su.Err = &channels.Error{Code: p.ErrorCode, Class: channels.Class(p.ErrorClass), Detail: p.ErrorDetail, OptOut: p.OptOut}
	}
	return su
}

// applyPendingStatuses applies, in arrival order, the kept statuses whose
// provider id the outbox has recorded since, and forgets the ones that
// waited longer than PendingTTL (messages never sent through Pregón).
func (b *Inbox) applyPendingStatuses() (int, error) {
	total := 0
	for {
		var rows []pendingRow
		err := b.app.DB().NewQuery(`SELECT p.seq, p.channel, p.provider_id, p.status, p.ts, p.error_code, p.error_class,
			p.error_detail, p.opt_out FROM pending_statuses p
			WHERE EXISTS (SELECT 1 FROM messages m WHERE m.channel = p.channel AND m.provider_id = p.provider_id
				AND m.provider_id != '' AND m.direction = 'out')
			ORDER BY p.seq LIMIT 500`).All(&rows)
		if err != nil {
			return total, fmt.Errorf("reading pending statuses: %w", err)
		}
		if len(rows) > 0 {
			err = b.app.RunInTransaction(func(tx core.App) error {
				a := newApplier(tx, b.opts.Now())
				defer a.close()
				for _, p := range rows {
					if err := a.status(p.Channel, p.update()); err != nil {
						return err
					}
					if err := a.exec(`DELETE FROM pending_statuses WHERE seq = {:seq}`, dbx.Params{"seq": p.Seq}); err != nil {
						return err
					}
				}
				return a.flush()
			})
			if err != nil {
				return total, fmt.Errorf("applying pending statuses: %w", err)
			}
			total += len(rows)
		}
		if len(rows) < 500 {
			break
		}
	}
	cutoff := dateString(b.opts.Now().Add(-b.opts.PendingTTL))
	if _, err := b.app.DB().NewQuery(`DELETE FROM pending_statuses WHERE received < {:cutoff}`).
		Bind(dbx.Params{"cutoff": cutoff}).Execute(); err != nil {
		return total, fmt.Errorf("expiring pending statuses: %w", err)
	}
	return total, nil
}
