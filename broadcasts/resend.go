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
)

// A resend sends a finished broadcast again to its failed recipients, as a
// new broadcast linked by resend_of, so that each broadcast's counters keep
// describing one send. By default only failures the reasons catalogue calls
// retryable (daily limit reached, provider trouble, retries exhausted...)
// are retried; include_permanent adds the others. Contacts who opted out
// are never sent to: the planner leaves them out like any broadcast does.
// Messages whose outcome is unknown (in flight at a crash) are not resent:
// they may have arrived.

// failurePair is one (error_code, error_class) among a broadcast's failures.
type failurePair struct {
	Code  string `db:"code"`
	Class string `db:"class"`
	N     int    `db:"n"`
}

func failurePairs(app core.App, id string) ([]failurePair, error) {
	var pairs []failurePair
	err := app.DB().NewQuery(`SELECT error_code AS code, COALESCE(error_class, '') AS class, COUNT(*) AS n FROM messages
		WHERE source_id = {:id} AND source_id != '' AND status = 'failed' GROUP BY error_code, error_class`).
		Bind(dbx.Params{"id": id}).All(&pairs)
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
	pairs, err := failurePairs(app, b.ResendOf)
	if err != nil {
		return "", nil, err
	}
	picked, _ := retrySelection(pairs, b.ResendPermanent)
	if len(picked) == 0 {
		return "0", dbx.Params{}, nil
	}
	p := dbx.Params{"rsorig": b.ResendOf}
	keys := make([]string, len(picked))
	for i, f := range picked {
		k := fmt.Sprintf("rs%d", i)
		keys[i], p[k] = "{:"+k+"}", f.Code+"|"+f.Class
	}
	return `c.id IN (SELECT m.contact FROM messages m WHERE m.source_id = {:rsorig} AND m.source_id != '' AND m.status = 'failed'
		AND (m.error_code || '|' || COALESCE(m.error_class, '')) IN (` + strings.Join(keys, ", ") + `))`, p, nil
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
	pairs, err := failurePairs(e.app, id)
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
	name := orig.GetString("name") + " (resend)"
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
