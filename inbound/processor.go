package inbound

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"
	"unicode/utf8"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"

	"pregon/channels"
	"pregon/channelstore"
)

// Result counts what one Drain did.
type Result struct {
	Processed int // rows whose effects were applied
	Parked    int // rows set aside with their error
	Retried   int // rows that failed to apply and stay pending for another attempt
	Statuses  int // pending statuses applied because their message id appeared
}

func (r *Result) add(o Result) {
	r.Processed += o.Processed
	r.Parked += o.Parked
	r.Retried += o.Retried
	r.Statuses += o.Statuses
}

type inboxRow struct {
	Seq         int64  `db:"seq"`
	ID          string `db:"id"`
	Channel     string `db:"channel"`
	Method      string `db:"method"`
	URL         string `db:"url"`
	ContentType string `db:"content_type"`
	Body        string `db:"body"`
	Attempts    int    `db:"attempts"`
}

// parsed is one inbox row ready to apply: its batch, or why it cannot be.
type parsed struct {
	row   inboxRow
	ch    *channelstore.Channel
	batch channels.WebhookBatch
	err   error // set: park the row
}

// Drain processes every pending row now, in order, and applies the pending
// statuses whose message has appeared. The worker calls it; tests call it to
// process deterministically.
func (b *Inbox) Drain(ctx context.Context) (Result, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var total Result
	for ctx.Err() == nil {
		var rows []inboxRow
		err := b.app.DB().NewQuery(`SELECT rowid AS seq, id, channel, method, url, content_type, body, attempts
			FROM webhook_inbox WHERE status = 'pending' ORDER BY rowid LIMIT {:n}`).
			Bind(dbx.Params{"n": b.opts.BatchSize}).All(&rows)
		if err != nil {
			return total, fmt.Errorf("reading pending webhook deliveries: %w", err)
		}
		if len(rows) == 0 {
			break
		}
		res, err := b.processRows(rows)
		total.add(res)
		if err != nil {
			return total, err
		}
		if res.Retried > 0 {
			// A row failed and stays pending; leave it for the next round
			// instead of hammering it in a loop.
			break
		}
	}
	n, err := b.applyPendingStatuses()
	total.Statuses += n
	return total, err
}

func (b *Inbox) processRows(rows []inboxRow) (Result, error) {
	items := make([]parsed, len(rows))
	for i, r := range rows {
		items[i] = b.parse(r)
	}
	// The common case: the whole batch applies in one transaction.
	err := b.app.RunInTransaction(func(tx core.App) error {
		a := newApplier(tx, b.opts.Now())
		defer a.close()
		for i := range items {
			if err := b.applyEffects(a, &items[i]); err != nil {
				return err
			}
		}
		// One statement marks the batch; rows parked above are no longer pending.
		if err := a.exec(`UPDATE webhook_inbox SET status = 'processed', processed_at = {:now}, updated = {:now}
			WHERE rowid BETWEEN {:first} AND {:last} AND status = 'pending'`,
			dbx.Params{"first": rows[0].Seq, "last": rows[len(rows)-1].Seq, "now": a.nowStr}); err != nil {
			return err
		}
		return a.flush()
	})
	if err == nil {
		return countParsed(items), nil
	}
	// Some row's effects failed: apply them one by one so that one poison
	// delivery does not hold back the others.
	var res Result
	for i := range items {
		it := &items[i]
		err := b.app.RunInTransaction(func(tx core.App) error {
			a := newApplier(tx, b.opts.Now())
			defer a.close()
			if err := b.applyOne(a, it); err != nil {
				return err
			}
			return a.flush()
		})
		if err == nil {
			res.add(countParsed(items[i : i+1]))
			continue
		}
		parked, ferr := b.recordFailure(it.row, err)
		if ferr != nil {
			return res, ferr
		}
		if parked {
			res.Parked++
		} else {
			res.Retried++
			return res, nil // keep order: later rows wait for this one
		}
	}
	return res, nil
}

func countParsed(items []parsed) Result {
	var r Result
	for _, it := range items {
		if it.err != nil {
			r.Parked++
		} else {
			r.Processed++
		}
	}
	return r
}

// parse turns a stored row back into the request the provider made and lets
// the channel's adapter read it. Errors here are facts about the delivery
// (unknown channel, unreadable body): the row is parked, not retried.
func (b *Inbox) parse(r inboxRow) (p parsed) {
	p.row = r
	defer func() {
		if v := recover(); v != nil {
			p.err = fmt.Errorf("the %s parser failed on this delivery: %v", p.typeName(), v)
		}
	}()
	ch, err := b.chans.Get(r.Channel)
	if err != nil {
		p.err = fmt.Errorf("channel unavailable: %w", err)
		return p
	}
	p.ch = ch
	u, err := url.Parse(r.URL)
	if err != nil {
		p.err = fmt.Errorf("stored URL is malformed: %w", err)
		return p
	}
	req := &channels.WebhookRequest{Method: r.Method, PublicURL: u, Header: http.Header{}, Body: []byte(r.Body)}
	if r.ContentType != "" {
		req.Header.Set("Content-Type", r.ContentType)
	}
	batch, err := ch.Adapter.Parse(req)
	if err != nil {
		p.err = fmt.Errorf("the %s parser refused this delivery: %w", ch.Type, err)
		return p
	}
	p.batch = batch
	return p
}

func (p *parsed) typeName() string {
	if p.ch != nil {
		return string(p.ch.Type)
	}
	return "channel"
}

// applyOne applies one row's effects (or parks it) and marks it done,
// through a's transaction.
func (b *Inbox) applyOne(a *applier, p *parsed) error {
	if err := b.applyEffects(a, p); err != nil {
		return err
	}
	if p.err != nil {
		return nil // parked
	}
	return a.exec(`UPDATE webhook_inbox SET status = 'processed', processed_at = {:now}, updated = {:now} WHERE rowid = {:seq}`,
		dbx.Params{"seq": p.row.Seq, "now": a.nowStr})
}

// applyEffects applies one row's effects, or parks the row when it did not
// parse. A panic in the effects is an error of this row, not the end of the
// worker.
func (b *Inbox) applyEffects(a *applier, p *parsed) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("delivery %s: applying it panicked: %v", p.row.ID, v)
		}
	}()
	if p.err != nil {
		return a.exec(`UPDATE webhook_inbox SET status = 'parked', error = {:err}, processed_at = {:now}, updated = {:now}
			WHERE rowid = {:seq}`, dbx.Params{"seq": p.row.Seq, "err": truncate(p.err.Error(), 2000), "now": a.nowStr})
	}
	if err := a.apply(p.ch, p.batch, p.row.ID); err != nil {
		return fmt.Errorf("delivery %s: %w", p.row.ID, err)
	}
	return nil
}

// recordFailure counts a failed attempt and parks the row after the last.
func (b *Inbox) recordFailure(r inboxRow, cause error) (parked bool, err error) {
	attempts := r.Attempts + 1
	status := "pending"
	var pe parkError
	if attempts >= b.opts.MaxAttempts || errors.As(cause, &pe) {
		status = "parked"
	}
	now := types.NowDateTime().String()
	_, err = b.app.DB().NewQuery(`UPDATE webhook_inbox SET status = {:status}, attempts = {:attempts}, error = {:err}, updated = {:now},
		processed_at = CASE WHEN {:status} = 'parked' THEN {:now} ELSE processed_at END WHERE id = {:id}`).
		Bind(dbx.Params{"id": r.ID, "status": status, "attempts": attempts, "err": truncate(cause.Error(), 2000), "now": now}).Execute()
	if err != nil {
		return false, fmt.Errorf("recording the failure of webhook delivery %s: %w", r.ID, err)
	}
	b.log().Warn("a webhook delivery failed to apply", slog.String("delivery", r.ID), slog.String("channel", r.Channel),
		slog.Int("attempt", attempts), slog.Bool("parked", status == "parked"), slog.String("error", cause.Error()))
	return status == "parked", nil
}

// Purge deletes processed rows created before cutoff, in chunks so that no
// transaction holds the writer for long. Parked rows are kept.
// Ids sort by time (rowID), so the primary-key index finds the old rows.
func (b *Inbox) Purge(cutoff time.Time) (int64, error) {
	var total int64
	for {
		res, err := b.app.DB().NewQuery(`DELETE FROM webhook_inbox WHERE rowid IN (
			SELECT rowid FROM webhook_inbox WHERE id < {:cutoff} AND status = 'processed' LIMIT 5000)`).
			Bind(dbx.Params{"cutoff": idBefore(cutoff)}).Execute()
		if err != nil {
			return total, fmt.Errorf("purging processed webhook deliveries: %w", err)
		}
		n, _ := res.RowsAffected()
		total += n
		if n < 5000 {
			return total, nil
		}
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n-- // cut on a character boundary
	}
	return s[:n]
}
