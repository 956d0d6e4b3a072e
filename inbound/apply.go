package inbound

import (
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"

	"pregon/channels"
	"pregon/channelstore"
	"pregon/events"
)

// applier applies parsed webhook batches through one transaction. It keeps
// its prepared statements for the life of the transaction (the status path
// runs thousands of times per second) and buffers events so that they are
// written with one prepared insert before commit.
type applier struct {
	tx            core.App
	defaultRegion string
	now           time.Time
	nowStr        string
	stmts         map[string]*dbx.Query
	events        []events.Event
}

func newApplier(tx core.App, now time.Time) *applier {
	return &applier{tx: tx, now: now, nowStr: dateString(now), stmts: map[string]*dbx.Query{}}
}

func (a *applier) close() {
	for _, q := range a.stmts {
		q.Close()
	}
}

func (a *applier) query(sqlText string, p dbx.Params) *dbx.Query {
	q, ok := a.stmts[sqlText]
	if !ok {
		q = a.tx.DB().NewQuery(sqlText).Prepare()
		a.stmts[sqlText] = q
	}
	return q.Bind(p)
}

func (a *applier) exec(sqlText string, p dbx.Params) error {
	_, err := a.query(sqlText, p).Execute()
	return err
}

// one reads a single row into dst; found is false when there is none.
func (a *applier) one(sqlText string, p dbx.Params, dst any) (found bool, err error) {
	err = a.query(sqlText, p).One(dst)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

func (a *applier) emit(e events.Event) { a.events = append(a.events, e) }

// flush writes the buffered events; call it last inside the transaction.
func (a *applier) flush() error {
	err := events.AppendMany(a.tx, a.events)
	a.events = a.events[:0]
	return err
}

// apply applies one delivery's batch: messages first, so that a STOP in the
// same delivery as its sender's first message finds the identity.
func (a *applier) apply(ch *channelstore.Channel, batch channels.WebhookBatch, delivery string) error {
	for _, in := range batch.Messages {
		if err := a.inbound(ch, in, delivery); err != nil {
			return err
		}
	}
	for _, su := range batch.Statuses {
		if err := a.status(ch.ID, su); err != nil {
			return err
		}
	}
	for _, cs := range batch.Consents {
		if err := a.consentSignal(ch, cs); err != nil {
			return err
		}
	}
	for _, e := range batch.AccountErrors {
		if err := a.accountError(ch, e); err != nil {
			return err
		}
	}
	for _, why := range batch.Skipped {
		a.tx.Logger().Debug("inbound: part of a delivery was ignored", "channel", ch.ID, "delivery", delivery, "why", why)
	}
	return nil
}

// when returns the provider's timestamp, or now when it is missing or in
// the future (a skewed clock must not open a 24-hour window early).
func (a *applier) when(t time.Time) time.Time {
	if t.IsZero() || t.After(a.now.Add(5*time.Minute)) {
		return a.now
	}
	return t.UTC()
}

func dateString(t time.Time) string {
	d, err := types.ParseDateTime(t.UTC())
	if err != nil {
		return types.NowDateTime().String()
	}
	return d.String()
}

func actor(channelID string) string { return "webhook:" + channelID }

var errNoSender = errors.New("the message has no sender identifier")

// parkError marks a failure that is a fact about the delivery (retrying
// cannot help): its row is parked at once instead of after MaxAttempts.
type parkError struct{ error }

func (e parkError) Unwrap() error { return e.error }

func park(err error) error { return parkError{err} }

func wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}
