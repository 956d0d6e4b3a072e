package inbound

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
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

// lingerFor is how long a group waits for company under load.
const lingerFor = time.Millisecond

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
	ins    *sql.Stmt    // owned by loop
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
	defer func() {
		if c.ins != nil {
			c.ins.Close()
		}
	}()
	group := make([]storeReq, 0, maxGroup)
	last := 0
	for first := range c.reqs {
		group = append(group[:0], first)
		// Under concurrent load (the last group had company), linger a
		// moment for more rows: every commit writes its dirty pages to the
		// WAL one syscall each, so fewer, larger groups cost less per row.
		// A lone delivery commits at once.
		var linger <-chan time.Time
		if last > 1 {
			linger = time.After(lingerFor)
		}
	gather:
		for len(group) < maxGroup {
			select {
			case r, ok := <-c.reqs:
				if !ok {
					break gather
				}
				group = append(group, r)
			default:
				if linger == nil {
					break gather
				}
				select {
				case r, ok := <-c.reqs:
					if !ok {
						break gather
					}
					group = append(group, r)
				case <-linger:
					break gather
				}
			}
		}
		last = len(group)
		err := c.commit(group)
		for _, r := range group {
			r.done <- err
		}
		if err == nil && c.onStore != nil {
			c.onStore()
		}
	}
}

const insertSQL = `INSERT INTO webhook_inbox
	(id, channel, method, url, content_type, body, status, error, attempts, processed_at, created, updated)
	VALUES (?, ?, ?, ?, ?, ?, 'pending', '', 0, '', ?, ?)`

// commit writes one group in one transaction. It goes straight to the
// writer connection's database/sql handle with one insert statement
// prepared for the committer's life: preparing it again for every group
// cost as much as the inserts themselves.
func (c *committer) commit(group []storeReq) error {
	db, ok := c.app.NonconcurrentDB().(*dbx.DB)
	if !ok {
		return c.commitThroughApp(group)
	}
	if c.ins == nil {
		st, err := db.DB().Prepare(insertSQL)
		if err != nil {
			return fmt.Errorf("preparing the webhook inbox insert: %w", err)
		}
		c.ins = st
	}
	tx, err := db.DB().Begin()
	if err != nil {
		return fmt.Errorf("storing %d webhook deliveries: %w", len(group), err)
	}
	st := tx.Stmt(c.ins) // the same connection: reused, not prepared again
	t := time.Now()
	now := dateString(t)
	for _, r := range group {
		if _, err := st.Exec(rowID(t), r.d.Channel, r.d.Method, r.d.URL, r.d.ContentType, string(r.d.Body), now, now); err != nil {
			tx.Rollback()
			return fmt.Errorf("storing %d webhook deliveries: %w", len(group), err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("storing %d webhook deliveries: %w", len(group), err)
	}
	return nil
}

// commitThroughApp is commit for an app whose writer is not a plain
// *dbx.DB (none today; kept so that a wrapped app still works).
func (c *committer) commitThroughApp(group []storeReq) error {
	err := c.app.RunInTransaction(func(tx core.App) error {
		t := time.Now()
		now := dateString(t)
		for _, r := range group {
			if _, err := tx.DB().NewQuery(`INSERT INTO webhook_inbox
				(id, channel, method, url, content_type, body, status, error, attempts, processed_at, created, updated)
				VALUES ({:id}, {:channel}, {:method}, {:url}, {:ct}, {:body}, 'pending', '', 0, '', {:now}, {:now})`).Bind(dbx.Params{
				"id": rowID(t), "channel": r.d.Channel, "method": r.d.Method,
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
