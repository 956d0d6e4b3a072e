package outbox

import (
	"fmt"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// These functions let the owner of a batch of messages (a broadcast, keyed
// by source_id) steer the ones not yet sent. They work in chunks of
// sourceChunk rows per statement so that a million-row broadcast never holds
// the writer for long. Messages already in flight finish normally; the
// Manager's methods of the same names also stop the dispatchers from
// requeueing those.

const sourceChunk = 5000

// ErrorCancelled is the error_code of messages failed by Cancel.
const ErrorCancelled = "cancelled"

// Hold moves the queued messages of sourceID to "held": out of the claim
// index, so a paused broadcast costs the dispatchers nothing.
func Hold(app core.App, now time.Time, sourceID string) (int, error) {
	return moveSource(app, sourceID, StatusQueued, `status = 'held', updated = {:now}`, dbx.Params{"now": fmtTime(now)})
}

// Release moves held messages of sourceID back to queued.
func Release(app core.App, now time.Time, sourceID string) (int, error) {
	return moveSource(app, sourceID, StatusHeld, `status = 'queued', updated = {:now}`, dbx.Params{"now": fmtTime(now)})
}

// Cancel fails the queued and held messages of sourceID with error_code
// "cancelled" (class permanent). It writes no per-message events: the source
// (a broadcast) records its own cancellation once.
func Cancel(app core.App, now time.Time, sourceID, detail string) (int, error) {
	set := `status = 'failed', failed_at = {:now}, updated = {:now}, error_code = 'cancelled',
		error_class = 'permanent', error_detail = {:detail}`
	p := dbx.Params{"now": fmtTime(now), "detail": detail}
	n1, err := moveSource(app, sourceID, StatusQueued, set, p)
	if err != nil {
		return n1, err
	}
	n2, err := moveSource(app, sourceID, StatusHeld, set, p)
	return n1 + n2, err
}

func moveSource(app core.App, sourceID, from, set string, p dbx.Params) (int, error) {
	if sourceID == "" {
		return 0, fmt.Errorf("source id is required")
	}
	p["src"], p["from"], p["lim"] = sourceID, from, sourceChunk
	q := app.DB().NewQuery(`UPDATE messages SET ` + set + ` WHERE id IN (
		SELECT id FROM messages WHERE source_id = {:src} AND status = {:from} AND direction = 'out' LIMIT {:lim})`).Bind(p)
	total := 0
	for {
		res, err := q.Execute()
		if err != nil {
			return total, fmt.Errorf("updating %s messages of source %s: %w", from, sourceID, err)
		}
		n, _ := res.RowsAffected()
		total += int(n)
		if n < sourceChunk {
			return total, nil
		}
	}
}

// Pace spreads the queued and held messages of sourceID over time: the k-th
// (in queue order) becomes due at start + k/perSecond. The schedule lives in
// next_attempt_at, so it survives restarts and costs the claim nothing: rows
// not yet due are outside its index range. A broadcast calls it when it
// starts or resumes with its own rate; Manager.SetSourceRate adds the
// in-memory guard that keeps the rate when a backlog builds up (a paused
// channel resuming).
func Pace(app core.App, sourceID string, perSecond float64, start time.Time) (int, error) {
	if sourceID == "" || perSecond <= 0 {
		return 0, fmt.Errorf("pace needs a source id and a positive rate")
	}
	step := time.Duration(float64(time.Second) / perSecond)
	var after int64
	k := 0
	for {
		var rows []struct {
			Seq int64  `db:"seq"`
			ID  string `db:"id"`
		}
		err := app.DB().NewQuery(`SELECT rowid AS seq, id FROM messages WHERE source_id = {:src}
			AND status IN ('queued','held') AND direction = 'out' AND rowid > {:after} ORDER BY rowid LIMIT {:lim}`).
			Bind(dbx.Params{"src": sourceID, "after": after, "lim": sourceChunk}).All(&rows)
		if err != nil {
			return k, fmt.Errorf("reading messages of source %s: %w", sourceID, err)
		}
		if len(rows) == 0 {
			return k, nil
		}
		err = app.RunInTransaction(func(tx core.App) error {
			upd := tx.DB().NewQuery(`UPDATE messages SET next_attempt_at = {:at} WHERE id = {:id}
				AND status IN ('queued','held')`).Prepare()
			defer upd.Close()
			for i, r := range rows {
				at := start.Add(time.Duration(k+i) * step)
				if _, err := upd.Bind(dbx.Params{"at": fmtTime(at), "id": r.ID}).Execute(); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return k, fmt.Errorf("pacing messages of source %s: %w", sourceID, err)
		}
		k += len(rows)
		after = rows[len(rows)-1].Seq
	}
}
