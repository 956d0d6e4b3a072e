package inbound

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
)

// Delivery is one verified webhook request as stored in the inbox.
type Delivery struct {
	Channel     string
	Method      string
	URL         string // the public URL the provider called, query included
	ContentType string
	Body        []byte
}

// maxGroup bounds one group commit: large enough to absorb bursts, small
// enough that one transaction never holds SQLite's writer for long.
const maxGroup = 512

// ErrClosed is returned by Store after Close.
var ErrClosed = errors.New("the webhook inbox is shut down")

type storeReq struct {
	d    Delivery
	done chan error
}

// committer batches the inbox inserts of concurrent webhook handlers into
// one transaction each: a handler waits until the transaction that holds its
// row has committed, and only then answers the provider. While one group
// commits, the next one gathers, so batching costs no latency when idle and
// grows with load.
type committer struct {
	app     core.App
	onStore func() // told after each commit (wakes the worker)

	reqs   chan storeReq
	mu     sync.RWMutex // guards closed against sends on a closed reqs
	closed bool
	done   chan struct{}
}

func newCommitter(app core.App, onStore func()) *committer {
	c := &committer{app: app, onStore: onStore, reqs: make(chan storeReq, 4*maxGroup), done: make(chan struct{})}
	go c.loop()
	return c
}

// Store durably appends d to the inbox and returns once it is committed.
func (c *committer) Store(ctx context.Context, d Delivery) error {
	req := storeReq{d: d, done: make(chan error, 1)}
	c.mu.RLock()
	if c.closed {
		c.mu.RUnlock()
		return ErrClosed
	}
	select {
	case c.reqs <- req:
		c.mu.RUnlock()
	case <-ctx.Done():
		c.mu.RUnlock()
		return fmt.Errorf("webhook inbox is busy: %w", ctx.Err())
	}
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		// The row may still commit; the provider's retry is then a
		// duplicate, which processing recognises.
		return fmt.Errorf("waiting for the webhook inbox commit: %w", ctx.Err())
	}
}

// Close stops the committer after the queued rows are written.
func (c *committer) Close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	close(c.reqs)
	c.mu.Unlock()
	<-c.done
}

func (c *committer) loop() {
	defer close(c.done)
	group := make([]storeReq, 0, maxGroup)
	for first := range c.reqs {
		group = append(group[:0], first)
	gather:
		for len(group) < maxGroup {
			select {
			case r, ok := <-c.reqs:
				if !ok {
					break gather
				}
				group = append(group, r)
			default:
				break gather
			}
		}
		err := c.commit(group)
		for _, r := range group {
			r.done <- err
		}
		if err == nil && c.onStore != nil {
			c.onStore()
		}
	}
}

func (c *committer) commit(group []storeReq) error {
	err := c.app.RunInTransaction(func(tx core.App) error {
		q := tx.DB().NewQuery(`INSERT INTO webhook_inbox
			(id, channel, method, url, content_type, body, status, error, attempts, processed_at, created, updated)
			VALUES ({:id}, {:channel}, {:method}, {:url}, {:ct}, {:body}, 'pending', '', 0, '', {:now}, {:now})`).Prepare()
		defer q.Close()
		now := types.NowDateTime().String()
		for _, r := range group {
			if _, err := q.Bind(dbx.Params{
				"id": core.GenerateDefaultRandomId(), "channel": r.d.Channel, "method": r.d.Method,
				"url": r.d.URL, "ct": r.d.ContentType, "body": string(r.d.Body), "now": now,
			}).Execute(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("storing %d webhook deliveries: %w", len(group), err)
	}
	return nil
}
