package outbox

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"

	"pregon/channels"
)

// Sources of outbound messages (messages.source).
const (
	SourceAgent     = "agent"
	SourceAPI       = "api"
	SourceJourney   = "journey"
	SourceBroadcast = "broadcast"
	SourceTest      = "test"
	SourceSystem    = "system"
)

// PriorityFor is the default priority of a source: a person waiting in the
// inbox first, then an integrator's transactional call, then automations,
// then bulk. Higher is claimed first.
func PriorityFor(source string) int {
	switch source {
	case SourceAgent, SourceTest:
		return 30
	case SourceAPI:
		return 25
	case SourceJourney, SourceSystem:
		return 20
	case SourceBroadcast:
		return 10
	}
	return 0
}

// Item is one message to queue.
type Item struct {
	Channel  string
	Contact  string
	Identity string
	Content  channels.Content
	// OutsideWindow, a template, replaces Content when the channel's
	// customer-service window is closed at send time (see StoredContent).
	OutsideWindow *channels.Content
	Source        string // agent, api, journey, broadcast, test, system
	SourceID      string // the broadcast, journey run, user... that made it
	// DedupeKey makes enqueueing idempotent: a second item with the same key
	// is a no-op that returns the first one's id (b:<broadcast>:<contact>,
	// api:<Idempotency-Key>...). Empty: no dedupe.
	DedupeKey string
	// Priority overrides PriorityFor(Source) when non-zero.
	Priority int
	// NotBefore delays the first attempt (a broadcast's own pacing, a
	// schedule); zero means now.
	NotBefore time.Time
}

// Queued is the outcome of one Item, in the order given.
type Queued struct {
	ID string
	// Duplicate: an earlier item with the same DedupeKey exists; ID is its id.
	Duplicate bool
}

// enqueueChunk bounds one transaction so that a million-row broadcast plan
// does not hold SQLite's single writer for seconds at a time.
const enqueueChunk = 5000

// Enqueue writes items as queued outbound messages with prepared statements,
// enqueueChunk rows per transaction. now is the app clock's time (the
// dispatcher compares next_attempt_at with the same clock). The caller
// validates content (ValidateContent) and notifies the dispatchers
// (Manager.Enqueue does both of the latter for you).
func Enqueue(app core.App, now time.Time, items []Item) ([]Queued, error) {
	for i, it := range items {
		if err := it.check(); err != nil {
			return nil, fmt.Errorf("item %d: %w", i, err)
		}
	}
	out := make([]Queued, 0, len(items))
	for start := 0; start < len(items); start += enqueueChunk {
		chunk := items[start:min(start+enqueueChunk, len(items))]
		var res []Queued
		err := app.RunInTransaction(func(tx core.App) error {
			var err error
			res, err = enqueueTx(tx, now, chunk)
			return err
		})
		if err != nil {
			return nil, err
		}
		out = append(out, res...)
	}
	return out, nil
}

func (it Item) check() error {
	switch {
	case it.Channel == "":
		return errors.New("channel is required")
	case it.Identity == "":
		return errors.New("identity is required")
	case it.Content.Type() == "":
		return errors.New("content is empty")
	case it.OutsideWindow != nil && it.OutsideWindow.Type() != channels.ContentTemplate:
		return errors.New("the outside-the-window content must be a template")
	case PriorityFor(it.Source) == 0:
		return fmt.Errorf("source %q is not one of agent, api, journey, broadcast, test, system", it.Source)
	}
	return nil
}

func enqueueTx(tx core.App, now time.Time, items []Item) ([]Queued, error) {
	ins := tx.DB().NewQuery(`INSERT INTO messages (id, direction, channel, contact, identity, content, status,
		attempts, priority, next_attempt_at, dedupe_key, source, source_id, queued_at, created, updated)
		VALUES ({:id}, 'out', {:channel}, {:contact}, {:identity}, {:content}, 'queued',
		0, {:priority}, {:next}, {:dedupe}, {:source}, {:source_id}, {:now}, {:now}, {:now})
		ON CONFLICT DO NOTHING`).Prepare()
	defer ins.Close()
	var existing *dbx.Query
	defer func() {
		if existing != nil {
			existing.Close()
		}
	}()
	nowS := fmtTime(now)
	out := make([]Queued, len(items))
	for i, it := range items {
		content, err := json.Marshal(StoredContent{Content: it.Content, OutsideWindow: it.OutsideWindow})
		if err != nil {
			return nil, fmt.Errorf("encoding content: %w", err)
		}
		prio := it.Priority
		if prio == 0 {
			prio = PriorityFor(it.Source)
		}
		next := nowS
		if it.NotBefore.After(now) {
			next = fmtTime(it.NotBefore)
		}
		id := core.GenerateDefaultRandomId()
		res, err := ins.Bind(dbx.Params{
			"id": id, "channel": it.Channel, "contact": it.Contact, "identity": it.Identity,
			"content": string(content), "priority": prio, "next": next, "dedupe": it.DedupeKey,
			"source": it.Source, "source_id": it.SourceID, "now": nowS,
		}).Execute()
		if err != nil {
			return nil, fmt.Errorf("queueing message for identity %s: %w", it.Identity, err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			out[i] = Queued{ID: id}
			continue
		}
		if it.DedupeKey == "" {
			return nil, fmt.Errorf("queueing message for identity %s: id collision", it.Identity)
		}
		if existing == nil {
			existing = tx.DB().NewQuery("SELECT id FROM messages WHERE dedupe_key = {:k} AND dedupe_key != ''").Prepare()
		}
		var prev string
		if err := existing.Bind(dbx.Params{"k": it.DedupeKey}).Row(&prev); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return nil, fmt.Errorf("queueing message for identity %s: insert ignored but no message has dedupe key %q", it.Identity, it.DedupeKey)
			}
			return nil, err
		}
		out[i] = Queued{ID: prev, Duplicate: true}
	}
	return out, nil
}

// fmtTime writes t the way PocketBase stores dates, so that text comparison
// in SQL is time order.
func fmtTime(t time.Time) string { return t.UTC().Format(types.DefaultDateLayout) }

func parseTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := types.ParseDateTime(s)
	if err != nil {
		return time.Time{}
	}
	return t.Time()
}
