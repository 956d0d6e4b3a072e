package outbox

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"

	"pregon/events"
	"pregon/internal/multirow"
)

type resultKind int

const (
	resultSent    resultKind = iota
	resultRequeue            // back to queued at nextAt
	resultFailed
	resultUnknown // the call was cut off: it may or may not have reached the provider
)

// result is what became of one claimed message.
type result struct {
	msg        *claimed
	kind       resultKind
	providerID string
	nextAt     time.Time
	// refund gives the claim's attempt back: the message was held back by
	// our own limits or a paused channel, not tried and refused.
	refund bool
	code   string
	class  string
	detail string
	optOut bool
	tierAt bool // counted against the messaging tier
	// migrateTo is the recipient's new identifier (a Telegram group that
	// became a supergroup); the identity is updated before the retry.
	migrateTo string
}

// recorder writes a dispatcher's results. Its bulk statements are prepared
// once for the app's write pool and reused by every group commit.
type recorder struct {
	sent   *multirow.Stmt
	touch  *multirow.Stmt
	events *events.Appender
}

func newRecorder(app core.App) *recorder {
	db := multirow.WriterDB(app)
	// OR FAIL: a multi-row statement that may abort makes SQLite copy every
	// page it touches to a statement journal first; an error rolls the
	// whole transaction back anyway.
	sent := multirow.New(db, 5, []int{32, 8, 1}, func(n int) string {
		return `WITH v(seq, pid, tier, at, ow) AS (VALUES ` + multirow.Rows("(?,?,?,?,?)", n) + `)
			UPDATE OR FAIL messages SET provider_id = v.pid, content = ` + chosenSQL("v.ow") + `,
			sent_at = CASE WHEN sent_at = '' THEN v.at ELSE sent_at END,
			status = CASE WHEN ` + RankSQL + ` < 2 THEN 'sent' ELSE status END,
			tier_at = CASE WHEN v.tier THEN v.at ELSE tier_at END,
			error_code = CASE WHEN status = 'failed' THEN error_code ELSE '' END,
			error_class = CASE WHEN status = 'failed' THEN error_class ELSE '' END,
			error_detail = CASE WHEN status = 'failed' THEN error_detail ELSE '' END, updated = v.at
			FROM v WHERE messages.rowid = v.seq`
	})
	touch := multirow.New(db, 2, []int{64, 8, 1}, func(n int) string {
		return `WITH v(id, at) AS (VALUES ` + multirow.Rows("(?,?)", n) + `)
			UPDATE OR FAIL contacts SET last_outbound_at = v.at
			FROM v WHERE contacts.id = v.id AND contacts.last_outbound_at < v.at`
	})
	return &recorder{sent: sent, touch: touch, events: events.NewAppender(app)}
}

func (rc *recorder) close() {
	rc.sent.Close()
	rc.touch.Close()
	rc.events.Close()
}

// write records a batch of results in one transaction (group commit), with
// their message.status events. Sends, the bulk, go through multi-row
// statements; the rarer outcomes one prepared execution each. Every status
// write is monotonic: a status webhook may have moved the message on
// already (Twilio echoes our id and can report before our batch lands), and
// sent never replaces delivered, read or failed, nor clears the error a
// failed callback recorded (a retry's old error is cleared); provider_id and sent are
// one statement, so the webhook handler never sees one without the other.
func (rc *recorder) write(app core.App, channel string, now time.Time, rs []result, withEvents bool) error {
	if len(rs) == 0 {
		return nil
	}
	nowS := fmtTime(now)
	return app.RunInTransaction(func(tx core.App) error {
		var sent, other, optOuts, migrations []result
		var reached []string // contacts with a message sent in this batch
		for _, r := range rs {
			if r.migrateTo != "" {
				migrations = append(migrations, r)
			}
			switch {
			case r.kind == resultSent:
				sent = append(sent, r)
				if r.msg.Contact != "" {
					reached = append(reached, r.msg.Contact)
				}
			case r.kind == resultFailed && r.optOut:
				optOuts = append(optOuts, r)
				other = append(other, r)
			default:
				other = append(other, r)
			}
		}
		var evs []events.Event
		if withEvents {
			evs = make([]events.Event, 0, len(rs))
		}
		written, err := rc.recordSent(tx, nowS, sent)
		if err != nil {
			return err
		}
		for _, r := range sent {
			if withEvents && written(r.msg.Seq) {
				evs = append(evs, resultEvent(channel, r, StatusSent))
			}
		}
		if err := recordOthers(tx, nowS, other, withEvents, channel, &evs); err != nil {
			return err
		}
		if err := recordOptOuts(tx, now, optOuts, &evs); err != nil {
			return err
		}
		if err := recordMigrations(tx, nowS, migrations); err != nil {
			return err
		}
		if err := rc.touchLastOutbound(tx, nowS, reached); err != nil {
			return err
		}
		return rc.events.Append(tx, evs)
	})
}

// recordSent writes sent results and returns the rows it found. Messages
// are not deleted while they are being sent, so the statements' count of
// changed rows normally says they all were; only when it falls short are
// the rows looked up (a message deleted meanwhile gets no event).
func (rc *recorder) recordSent(tx core.App, nowS string, rs []result) (func(seq int64) bool, error) {
	all := func(int64) bool { return true }
	if len(rs) == 0 {
		return all, nil
	}
	args := make([]any, 0, 5*len(rs))
	for _, r := range rs {
		args = append(args, r.msg.Seq, r.providerID, r.tierAt, nowS, r.msg.choseOutsideWindow)
	}
	n, err := rc.sent.Exec(tx, args)
	if err != nil {
		return nil, fmt.Errorf("recording %d sent messages (first %s): %w", len(rs), rs[0].msg.ID, err)
	}
	if n == int64(len(rs)) {
		return all, nil
	}
	seqs := make([]any, len(rs))
	for i, r := range rs {
		seqs[i] = r.msg.Seq
	}
	var found []int64
	if err := tx.DB().NewQuery(`SELECT rowid FROM messages WHERE rowid IN (` + seqList(len(seqs)) + `)`).
		Bind(seqParams(seqs)).Column(&found); err != nil {
		return nil, fmt.Errorf("finding which of %d sent messages still exist: %w", len(rs), err)
	}
	exists := make(map[int64]bool, len(found))
	for _, s := range found {
		exists[s] = true
	}
	return func(seq int64) bool { return exists[seq] }, nil
}

// chosenSQL is the content column after a result: marked with the variant
// that was used when it was the outside-the-window template (flag is a
// bound boolean), unchanged otherwise. A requeue leaves it alone: the next
// attempt chooses again.
func chosenSQL(flag string) string {
	return `CASE WHEN ` + flag + ` THEN json_set(content, '$.chosen', '` + ChosenOutsideWindow + `') ELSE content END`
}

// seqList and seqParams spell n row ids as {:q0},{:q1}… and bind them.
func seqList(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("{:q" + strconv.Itoa(i) + "}")
	}
	return b.String()
}

func seqParams(seqs []any) dbx.Params {
	p := make(dbx.Params, len(seqs))
	for i, s := range seqs {
		p["q"+strconv.Itoa(i)] = s
	}
	return p
}

// touchLastOutbound sets contacts.last_outbound_at (a segment condition)
// for the contacts a batch reached, set-based, without the contact hooks:
// it changes with every message, and the message events already record it.
func (rc *recorder) touchLastOutbound(tx core.App, nowS string, contacts []string) error {
	slices.Sort(contacts)
	contacts = slices.Compact(contacts)
	args := make([]any, 0, 2*len(contacts))
	for _, c := range contacts {
		args = append(args, c, nowS)
	}
	if _, err := rc.touch.Exec(tx, args); err != nil {
		return fmt.Errorf("recording the last outbound time of %d contacts: %w", len(contacts), err)
	}
	return nil
}

// recordOthers writes requeues, failures and unknowns, which only apply to
// rows still sending, one prepared execution each (they are the exception).
func recordOthers(tx core.App, nowS string, rs []result, withEvents bool, channel string, evs *[]events.Event) error {
	stmts := map[resultKind]*dbx.Query{}
	defer func() {
		for _, q := range stmts {
			q.Close()
		}
	}()
	stmt := func(k resultKind) *dbx.Query {
		if q := stmts[k]; q != nil {
			return q
		}
		var sql string
		switch k {
		case resultRequeue:
			sql = `UPDATE messages SET status = 'queued', next_attempt_at = {:next},
				attempts = attempts - {:refund}, error_code = {:code}, error_class = {:class},
				error_detail = {:detail}, updated = {:now} WHERE rowid = {:seq} AND status = 'sending'`
		case resultFailed:
			sql = `UPDATE messages SET status = 'failed', failed_at = {:now}, error_code = {:code},
				error_class = {:class}, error_detail = {:detail}, content = ` + chosenSQL("{:ow}") + `, updated = {:now}
				WHERE rowid = {:seq} AND status = 'sending'`
		case resultUnknown:
			sql = `UPDATE messages SET status = 'unknown', unknown_at = {:now}, tier_at = {:now},
				error_detail = {:detail}, content = ` + chosenSQL("{:ow}") + `, updated = {:now}
				WHERE rowid = {:seq} AND status = 'sending'`
		}
		stmts[k] = tx.DB().NewQuery(sql).Prepare()
		return stmts[k]
	}
	for _, r := range rs {
		p := dbx.Params{"seq": r.msg.Seq, "now": nowS, "ow": r.msg.choseOutsideWindow}
		var status string
		switch r.kind {
		case resultRequeue:
			refund := 0
			if r.refund {
				refund = 1
			}
			p["next"], p["refund"] = fmtTime(r.nextAt), refund
			p["code"], p["class"], p["detail"] = r.code, r.class, clip(r.detail, 2000)
		case resultFailed:
			p["code"], p["class"], p["detail"] = clip(r.code, 50), r.class, clip(r.detail, 2000)
			status = StatusFailed
		case resultUnknown:
			p["detail"] = clip(r.detail, 2000)
			status = StatusUnknown
		}
		res, err := stmt(r.kind).Bind(p).Execute()
		if err != nil {
			return fmt.Errorf("recording the result of message %s: %w", r.msg.ID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 || status == "" || !withEvents {
			continue
		}
		*evs = append(*evs, resultEvent(channel, r, status))
	}
	return nil
}

func resultEvent(channel string, r result, status string) events.Event {
	return statusEvent(r.msg.ID, r.msg.Contact, StatusPayload{
		Status: status, Channel: channel, Source: r.msg.Source, SourceID: r.msg.SourceID,
		ProviderID: r.providerID, ErrorCode: r.code, ErrorClass: r.class, ErrorDetail: clip(r.detail, 2000),
	})
}

// recordOptOuts sets the identities of opt-out failures (Twilio 21610,
// Telegram "blocked", WhatsApp 131050) to opted_out with the provider's
// answer as evidence. The identity is saved through the contacts hooks, so
// the consent rules apply and they append consent.changed as for any other
// decision. An identity the hooks refuse (data written around them) is
// still opted out, with raw SQL and an event of the same shape: an opt-out
// must never be lost.
func recordOptOuts(tx core.App, now time.Time, rs []result, evs *[]events.Event) error {
	for _, r := range rs {
		rec, err := tx.FindRecordById("contact_identities", r.msg.Identity)
		if err != nil || rec.GetString("consent") == "opted_out" {
			continue // deleted meanwhile, or already out
		}
		before := rec.GetString("consent")
		src, wording := clip("provider_error:"+r.code, 200), clip(r.detail, 2000)
		rec.Set("consent", "opted_out")
		rec.Set("consent_source", src)
		rec.Set("consent_wording", wording)
		rec.Set("consent_at", now)
		if err := tx.Save(events.WithActor(rec, "outbox")); err == nil {
			continue
		} else {
			tx.Logger().Warn("outbox: the contacts hooks refused an opt-out; recording it directly",
				"identity", r.msg.Identity, "error", err)
		}
		if _, err := tx.DB().NewQuery(`UPDATE contact_identities SET consent = 'opted_out', consent_at = {:now},
			consent_source = {:src}, consent_wording = {:wording}, updated = {:now} WHERE id = {:id}`).
			Bind(dbx.Params{"now": fmtTime(now), "src": src, "wording": wording, "id": r.msg.Identity}).Execute(); err != nil {
			return fmt.Errorf("recording the opt-out of identity %s: %w", r.msg.Identity, err)
		}
		*evs = append(*evs, events.Event{Type: EventConsentChanged, Contact: r.msg.Contact, Subject: r.msg.Identity,
			Actor: "outbox", Payload: map[string]any{"id": r.msg.Identity, "from": before, "to": "opted_out",
				"at": now.UTC().Format(time.RFC3339), "source": src, "wording": wording, "message": r.msg.ID}})
	}
	return nil
}

// recordMigrations moves identities to the identifier the provider says the
// chat now has. OR IGNORE: if another identity already holds it, the retry
// fails again and the message ends failed, which a person can sort out.
func recordMigrations(tx core.App, nowS string, rs []result) error {
	for _, r := range rs {
		if _, err := tx.DB().NewQuery(`UPDATE OR IGNORE contact_identities SET identifier = {:to}, updated = {:now}
			WHERE id = {:id}`).Bind(dbx.Params{"to": r.migrateTo, "now": nowS, "id": r.msg.Identity}).Execute(); err != nil {
			return fmt.Errorf("moving identity %s to %s: %w", r.msg.Identity, r.migrateTo, err)
		}
	}
	return nil
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// cut on a rune boundary
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
