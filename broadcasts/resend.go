package broadcasts

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"

	"pregon/events"
	"pregon/reasons"
	"pregon/workspace"
)

// A resend sends a finished broadcast again to its failed recipients, as a
// new broadcast linked by resend_of, so that each broadcast's counters keep
// describing one send. By default only failures the reasons catalogue calls
// retryable (daily limit reached, provider trouble, retries exhausted...)
// are retried; include_permanent adds the others. Contacts who opted out
// are never sent to: the planner leaves them out like any broadcast does.
// Messages whose outcome is unknown (in flight at a crash) are not resent:
// they may have arrived. A contact an earlier resend of the same broadcast
// already planned a message for is not resent to again (a second click, or
// a later include_permanent, must not send the promotion twice); if that
// message failed too, resending the resend retries it.

// failurePair is one (error_code, error_class) among a broadcast's failures.
type failurePair struct {
	Code  string `db:"code"`
	Class string `db:"class"`
	N     int    `db:"n"`
}

// notResentYet is the SQL condition "message m's contact has no message in
// another resend of the broadcast {:rsorig}" (self, the resend being
// planned, is {:rsself}).
const notResentYet = `m.contact NOT IN (SELECT r.contact FROM messages r JOIN broadcasts rb ON rb.id = r.source_id
		WHERE rb.resend_of = {:rsorig} AND rb.id != {:rsself})`

// failurePairs counts the failures of broadcast id that no resend other
// than self has already sent to again.
func failurePairs(app core.App, id, self string) ([]failurePair, error) {
	var pairs []failurePair
	err := app.DB().NewQuery(`SELECT m.error_code AS code, COALESCE(m.error_class, '') AS class, COUNT(*) AS n FROM messages m
		WHERE m.source_id = {:rsorig} AND m.source_id != '' AND m.status = 'failed' AND ` + notResentYet + `
		GROUP BY m.error_code, m.error_class`).
		Bind(dbx.Params{"rsorig": id, "rsself": self}).All(&pairs)
	if err != nil {
		return nil, fmt.Errorf("reading the failures of broadcast %s: %w", id, err)
	}
	return pairs, nil
}

// retrySelection returns the failure pairs a resend retries.
func retrySelection(pairs []failurePair, permanent bool) (picked []failurePair, left int) {
	for _, p := range pairs {
		if permanent || reasons.For(p.Code, p.Class, "").Retryable {
			picked = append(picked, p)
		} else {
			left += p.N
		}
	}
	return picked, left
}

// resendMembers is a resend's audience: the original's failed recipients
// whose failure it retries.
func resendMembers(app core.App, b *Broadcast) (string, dbx.Params, error) {
	pairs, err := failurePairs(app, b.ResendOf, b.ID)
	if err != nil {
		return "", nil, err
	}
	picked, _ := retrySelection(pairs, b.ResendPermanent)
	if len(picked) == 0 {
		return "0", dbx.Params{}, nil
	}
	p := dbx.Params{"rsorig": b.ResendOf, "rsself": b.ID}
	keys := make([]string, len(picked))
	for i, f := range picked {
		k := fmt.Sprintf("rs%d", i)
		keys[i], p[k] = "{:"+k+"}", f.Code+"|"+f.Class
	}
	return `c.id IN (SELECT m.contact FROM messages m WHERE m.source_id = {:rsorig} AND m.source_id != '' AND m.status = 'failed'
		AND (m.error_code || '|' || COALESCE(m.error_class, '')) IN (` + strings.Join(keys, ", ") + `) AND ` + notResentYet + `)`, p, nil
}

// Resend creates and starts the resend of broadcast id and returns the new
// broadcast's id.
func (e *Engine) Resend(id string, permanent bool, actor, userID string) (string, error) {
	orig, err := e.app.FindRecordById("broadcasts", id)
	if err != nil {
		return "", ErrNotFound
	}
	status := orig.GetString("status")
	if !Final(status) {
		return "", stateErr("broadcast %q is %s; resend it once it has finished", orig.GetString("name"), status)
	}
	if name, busy, err := resendInProgress(e.app, id); err != nil {
		return "", err
	} else if busy {
		return "", stateErr("broadcast %q is already being resent as %q; resend again once that has finished", orig.GetString("name"), name)
	}
	pairs, err := failurePairs(e.app, id, "")
	if err != nil {
		return "", err
	}
	picked, left := retrySelection(pairs, permanent)
	n := 0
	for _, p := range picked {
		n += p.N
	}
	if n == 0 {
		msg := fmt.Sprintf("broadcast %q has no failed messages to resend", orig.GetString("name"))
		if resent, err := resentFailures(e.app, id); err != nil {
			return "", err
		} else if resent > 0 && left == 0 {
			msg = fmt.Sprintf("every failed recipient of broadcast %q (%s) was already sent to again by an earlier resend; to retry those that failed again, resend that resend",
				orig.GetString("name"), thousands(resent))
		}
		if left > 0 {
			msg = fmt.Sprintf("none of the %s failed messages of broadcast %q failed for a reason that may pass on a second try; send {\"include_permanent\":true} to resend them anyway",
				thousands(left), orig.GetString("name"))
		}
		return "", fieldErr("include_permanent", "nothing_to_resend", "%s", msg)
	}
	col, err := e.app.FindCollectionByNameOrId("broadcasts")
	if err != nil {
		return "", err
	}
	r := core.NewRecord(col)
	for _, f := range []string{"tags", "segment", "channel_mode", "channel", "channel_types", "content",
		"only_previously_interacted", "timezone", "rate_count", "rate_unit"} {
		r.Set(f, orig.Get(f))
	}
	// The name shows in reports and the failed log next to the original's,
	// so it reads in the workspace's language: "Promo Buen Fin (reenvío)".
	st, err := workspace.Load(e.app)
	if err != nil {
		return "", err
	}
	suffix := " (resend)"
	if strings.HasPrefix(strings.ToLower(st.Language), "es") {
		suffix = " (reenvío)"
	}
	name := orig.GetString("name") + suffix
	if rs := []rune(name); len(rs) > 200 {
		name = string(rs[:200])
	}
	r.Set("name", name)
	r.Set("status", StatusDraft)
	r.Set("resend_of", id)
	r.Set("resend_permanent", permanent)
	if userID != "" {
		r.Set("created_by", userID)
	}
	b, err := FromRecord(r)
	if err != nil {
		return "", err
	}
	if _, err := ready(e.app, e.reg, b); err != nil {
		return "", err
	}
	err = e.app.RunInTransaction(func(tx core.App) error {
		if err := tx.Save(r); err != nil {
			return err
		}
		payload, _ := json.Marshal(map[string]any{"resend_of": id, "include_permanent": permanent, "failed": n})
		return events.Append(tx, events.Event{Type: "broadcast.resend_created", Subject: r.Id, Actor: actor, Payload: json.RawMessage(payload)})
	})
	if err != nil {
		return "", err
	}
	if err := e.Send(r.Id, time.Time{}, "", actor); err != nil {
		return r.Id, err
	}
	return r.Id, nil
}

// resendInProgress reports a resend of broadcast id that is still sending
// (its messages may not all be planned yet, so a second resend could not
// tell whom it already covers).
func resendInProgress(app core.App, id string) (string, bool, error) {
	var rows []struct {
		Name   string `db:"name"`
		Status string `db:"status"`
	}
	if err := app.DB().NewQuery(`SELECT name, status FROM broadcasts WHERE resend_of = {:id}`).
		Bind(dbx.Params{"id": id}).All(&rows); err != nil {
		return "", false, fmt.Errorf("reading the resends of broadcast %s: %w", id, err)
	}
	for _, r := range rows {
		// A draft resend is one whose start was refused: it holds no one.
		if r.Status == StatusSending || r.Status == StatusPaused || r.Status == StatusScheduled {
			return r.Name, true, nil
		}
	}
	return "", false, nil
}

// resentFailures counts broadcast id's failed messages whose contact an
// earlier resend already sent to again.
func resentFailures(app core.App, id string) (int, error) {
	var n int
	err := app.DB().NewQuery(`SELECT COUNT(*) FROM messages m WHERE m.source_id = {:rsorig} AND m.source_id != ''
		AND m.status = 'failed' AND NOT (` + notResentYet + `)`).
		Bind(dbx.Params{"rsorig": id, "rsself": ""}).Row(&n)
	if err != nil {
		return 0, fmt.Errorf("counting the resent failures of broadcast %s: %w", id, err)
	}
	return n, nil
}
