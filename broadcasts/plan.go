package broadcasts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"

	"pregon/events"
	"pregon/outbox"
)

// Planning turns a sending broadcast's audience into outbox rows. It walks
// the contacts table in rowid chunks; each chunk
//
//  1. evaluates the audience query for the chunk into a connection-local
//     temporary table (contact, channel, identity, reason),
//  2. inserts the chunk's messages with one INSERT … SELECT of its own,
//     outside a transaction (content rendered by SQL, dedupe key
//     b:<broadcast>:<contact>, next_attempt_at paced at the broadcast's
//     own rate), then in one transaction
//  3. inserts the chunk's exclusions (broadcast_exclusions) and
//  4. adds the chunk's counts to the broadcast with the new cursor,
//
// so a crash loses no chunk half-way (step 2 is atomic and idempotent; a
// chunk is counted only with its cursor) and a restart resumes at the cursor.
// Nothing crosses into Go per recipient (a million recipients plan in about
// half a minute on a 2-core machine, all of it SQLite: BENCHMARKS.md), and the
// writer is released between chunks so the dispatchers record their results
// meanwhile. A chunk's statements re-read the broadcast's status (the
// messages insert in its WHERE), so a pause or a cancel committed before them
// is never overtaken by rows planned after it.

// errStopped: the broadcast is no longer sending (paused, cancelled).
var errStopped = errors.New("broadcast is no longer sending")

// PlanPending plans every sending broadcast whose planning is not done.
func (e *Engine) PlanPending(ctx context.Context) error {
	var ids []string
	if err := e.app.DB().NewQuery(`SELECT id FROM broadcasts WHERE status = 'sending' AND plan_done = FALSE ORDER BY started_at, id`).
		Column(&ids); err != nil {
		return err
	}
	var errs []error
	for _, id := range ids {
		if ctx.Err() != nil {
			return nil
		}
		if err := e.Plan(ctx, id); err != nil {
			errs = append(errs, fmt.Errorf("broadcast %s: %w", id, err))
		}
	}
	return errors.Join(errs...)
}

// Plan plans broadcast id to the end, or until it stops sending or ctx ends
// (after at least one chunk: a chunk is short, and a stop between chunks
// loses nothing).
func (e *Engine) Plan(ctx context.Context, id string) error {
	b, err := Load(e.app, id)
	if err != nil || b.Status != StatusSending || b.PlanDone {
		return err
	}
	now := b.StartedAt
	if now.IsZero() {
		now = e.now()
	}
	// What a person must fix (a segment or channel gone) ends the broadcast
	// with the reason; anything else (the database busy) is retried on the
	// next step.
	var fe *FieldError
	ts, err := ready(e.app, e.reg, b)
	if errors.As(err, &fe) {
		return e.fail(b, fe.Msg)
	}
	if err != nil {
		return err
	}
	a, err := e.newAudience(e.app, b, ts, now, true)
	if errors.As(err, &fe) {
		return e.fail(b, fe.Msg)
	}
	if err != nil {
		return err
	}
	if b.PlanCursor == 0 && b.Targeted == 0 {
		if msg, err := e.tooLongToSend(b, ts, now); err != nil {
			return err
		} else if msg != "" {
			return e.fail(b, msg)
		}
	}
	if a.dups, err = findDuplicates(e.app, a); err != nil {
		return err
	}
	e.out.SetSourceRate(b.ID, b.Rate())
	p := &planner{e: e, b: b, a: a}
	for {
		var maxRow int64
		if err := e.app.DB().NewQuery("SELECT COALESCE(MAX(rowid), 0) FROM contacts").Row(&maxRow); err != nil {
			return err
		}
		if b.PlanCursor >= maxRow {
			return p.finish()
		}
		hi := min(b.PlanCursor+e.opts.ChunkRows, maxRow)
		err := p.chunk(hi)
		if errors.Is(err, errStopped) || ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// tooLongToSend checks the seven-day rule before planning: a cheap upper
// bound first (every member on the slowest channel), the full count only
// when the bound is over.
func (e *Engine) tooLongToSend(b *Broadcast, ts []target, now time.Time) (string, error) {
	if err := e.checkDuration(b, ts, now); err != nil {
		var fe *FieldError
		if errors.As(err, &fe) {
			return fe.Msg, nil
		}
		return "", err
	}
	return "", nil
}

// checkDuration returns a FieldError when sending b's audience would take
// longer than MaxDuration.
func (e *Engine) checkDuration(b *Broadcast, ts []target, now time.Time) error {
	slowest := b.Rate()
	for _, t := range ts {
		if t.Rate > 0 && (slowest == 0 || t.Rate < slowest) {
			slowest = t.Rate
		}
	}
	if slowest <= 0 {
		return nil
	}
	a, err := e.newAudience(e.app, b, ts, now, true)
	if err != nil {
		return err
	}
	where := a.members
	if where == "" {
		where = "1"
	}
	var n int
	if err := scan(e.app, func(q dbx.Builder) error {
		return q.NewQuery("SELECT COUNT(*) FROM contacts c WHERE " + where).Bind(a.membersParams).Row(&n)
	}); err != nil {
		return fmt.Errorf("counting the audience: %w", err)
	}
	if time.Duration(float64(n)/slowest*float64(time.Second)) <= MaxDuration {
		return nil
	}
	br, err := e.forecast(b, ts, now)
	if err != nil {
		return err
	}
	return br.Estimate.tooLong(br.Messages, b)
}

// idPrefix starts the ids of one planning chunk's messages: "b", then the
// time in milliseconds in base 36 (8 digits), strictly increasing within
// the process; each message adds 6 hex digits of its place in the chunk.
// Ids that grow with time are appended to the primary key index instead of
// landing on random pages of it, which made a million-row plan a third
// cheaper. A clash with an existing id (a clock set back) fails the chunk's
// transaction, which the next step retries with a new prefix.
func (e *Engine) idPrefix() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	ms := time.Now().UnixMilli()
	if ms <= e.lastPrefix {
		ms = e.lastPrefix + 1
	}
	e.lastPrefix = ms
	s := strconv.FormatInt(ms, 36)
	for len(s) < 8 {
		s = "0" + s
	}
	return "b" + s[len(s)-8:]
}

// planner plans one broadcast.
type planner struct {
	e *Engine
	b *Broadcast
	a *audience
}

type chunkCount struct {
	Reason  string `db:"reason"`
	Channel string `db:"channel"`
	N       int    `db:"n"`
}

// chunk plans the contacts with rowid in (cursor, hi].
func (p *planner) chunk(hi int64) error {
	b, e := p.b, p.e
	sel, params, err := p.a.sql(queryOpts{where: "c.rowid > {:lo} AND c.rowid <= {:hi}",
		whereParams: dbx.Params{"lo": b.PlanCursor, "hi": hi}})
	if err != nil {
		return err
	}
	q := &qb{p: dbx.Params{}, n: 1000}
	content, err := p.a.contentSQL("p.channel", q)
	if err != nil {
		return err
	}
	now := e.now()
	nowS := dbTime(now)
	next := "{:now}"
	nextP := dbx.Params{"now": nowS}
	if r := b.Rate(); r > 0 {
		// The k-th planned message (k from 0) is due at start + k/r; a chunk
		// planned late (after a pause, a restart) starts no earlier than now.
		step := 1 / r
		start := float64(b.StartedAt.UnixNano())/1e9 + float64(b.Queued)*step
		start = max(start, float64(now.UnixNano())/1e9)
		next = `strftime('%Y-%m-%d %H:%M:%f', {:pstart} + (p.seq - 1) * {:pstep}, 'unixepoch') || 'Z'`
		nextP = dbx.Params{"pstart": start, "pstep": step, "now": nowS}
	}
	// 1. The chunk's audience and its numbering, into connection-local temp
	// tables (the writer has one connection).
	err = e.app.RunInTransaction(func(tx core.App) error {
		if err := stillSending(tx, b.ID); err != nil {
			return err
		}
		for _, s := range []string{
			`CREATE TEMP TABLE IF NOT EXISTS bplan (crow INTEGER PRIMARY KEY, contact TEXT, channel TEXT, identity TEXT, reason TEXT)`,
			// The messages are inserted in contact order: this index gives
			// that order without sorting whole rendered rows in memory.
			`CREATE INDEX IF NOT EXISTS temp.bplan_contact ON bplan (contact)`,
			// The chunk's recipients numbered in contact order: seq is the
			// k-th message (from 1) of the chunk, which names its id and its
			// place in the pacing. Copying the narrow rows here in index
			// order is cheaper than numbering them with ROW_NUMBER() in the
			// insert below, whose window stored and re-read every rendered
			// row (5 % of a million-row plan's CPU: BENCHMARKS.md).
			`CREATE TEMP TABLE IF NOT EXISTS bqueue (seq INTEGER PRIMARY KEY, crow INTEGER, contact TEXT, channel TEXT, identity TEXT)`,
			`DELETE FROM temp.bplan`,
			`DELETE FROM temp.bqueue`,
		} {
			if _, err := tx.DB().NewQuery(s).Execute(); err != nil {
				return fmt.Errorf("preparing the plan table: %w", err)
			}
		}
		if _, err := tx.DB().NewQuery(`INSERT INTO temp.bplan (crow, contact, channel, identity, reason)
			SELECT crow, contact, channel, identity, reason FROM (` + sel + `)`).Bind(params).Execute(); err != nil {
			return fmt.Errorf("resolving the audience: %w", err)
		}
		// Into an empty table the rowids are 1, 2, 3, … in insertion order.
		if _, err := tx.DB().NewQuery(`INSERT INTO temp.bqueue (crow, contact, channel, identity)
			SELECT crow, contact, channel, identity FROM temp.bplan WHERE reason = '' ORDER BY contact`).Execute(); err != nil {
			return fmt.Errorf("numbering the recipients: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	// 2. The messages, in one statement of their own, outside any
	// transaction. Inside one, SQLite keeps a statement journal for a
	// multi-row insert into messages (its partial indexes): an in-memory
	// copy (temp_store is MEMORY) of every existing page the statement
	// changes, and a chunk's rows land all over the dedupe and per-contact
	// indexes. That copy grew by ~10 MiB per 50,000 messages already planned
	// and was 3/4 of a 1,000,000-recipient plan's peak RSS (BENCHMARKS.md).
	// The statement is atomic on its own; it re-reads the status so that a
	// pause or cancel committed before it is never overtaken, and its dedupe
	// key makes it idempotent when a chunk is planned again after a crash.
	ins := dbx.Params{"bid": b.ID, "now": nowS, "idp": e.idPrefix()}
	for k, v := range q.p {
		ins[k] = v
	}
	for k, v := range nextP {
		ins[k] = v
	}
	if _, err := e.app.NonconcurrentDB().NewQuery(`INSERT INTO messages (id, direction, channel, contact, identity, content, status,
		attempts, priority, next_attempt_at, dedupe_key, source, source_id, queued_at, created, updated)
		SELECT {:idp} || printf('%06x', p.seq), 'out', p.channel, p.contact, p.identity, ` + content + `, 'queued',
		0, ` + fmt.Sprint(outbox.PriorityFor(outbox.SourceBroadcast)) + `, ` + next + `, 'b:' || {:bid} || ':' || p.contact,
		'broadcast', {:bid}, {:now}, {:now}, {:now}
		FROM temp.bqueue p JOIN contacts c ON c.rowid = p.crow
		WHERE (SELECT status FROM broadcasts WHERE id = {:bid}) = 'sending' ORDER BY p.seq
		ON CONFLICT (dedupe_key) WHERE dedupe_key != '' DO NOTHING`).Bind(ins).Execute(); err != nil {
		return fmt.Errorf("queueing messages: %w", err)
	}
	// 3. Exclusions, counts and the cursor, together. A crash before this
	// plans the chunk again from its audience: the messages already queued
	// are not queued twice, and are counted once, here.
	var counts []chunkCount
	err = e.app.RunInTransaction(func(tx core.App) error {
		if err := stillSending(tx, b.ID); errors.Is(err, errStopped) {
			// Stopped after step 2, whose messages the pause or cancel then
			// held or cancelled: they still count. Stopped before it: the
			// chunk's first recipient has no message (step 2 is all or
			// nothing), and the chunk is planned on resume.
			var queued bool
			if err := tx.DB().NewQuery(`SELECT EXISTS (SELECT 1 FROM temp.bqueue p JOIN messages m
				ON m.dedupe_key = 'b:' || {:bid} || ':' || p.contact AND m.dedupe_key != '' WHERE p.seq = 1)`).
				Bind(dbx.Params{"bid": b.ID}).Row(&queued); err != nil {
				return err
			}
			if !queued {
				return errStopped
			}
		} else if err != nil {
			return err
		}
		if _, err := tx.DB().NewQuery(`INSERT INTO broadcast_exclusions (id, broadcast, contact, channel, reason, created)
			SELECT 'x' || lower(hex(randomblob(7))), {:bid}, contact, channel, reason, {:now} FROM temp.bplan WHERE reason != ''`).
			Bind(dbx.Params{"bid": b.ID, "now": nowS}).Execute(); err != nil {
			return fmt.Errorf("recording exclusions: %w", err)
		}
		counts = counts[:0]
		if err := tx.DB().NewQuery(`SELECT reason, channel, COUNT(*) AS n FROM temp.bplan GROUP BY reason, channel`).All(&counts); err != nil {
			return err
		}
		for _, s := range []string{`DELETE FROM temp.bplan`, `DELETE FROM temp.bqueue`} {
			if _, err := tx.DB().NewQuery(s).Execute(); err != nil {
				return err
			}
		}
		next := *b
		next.Excluded = copyCounts(b.Excluded)
		next.PlannedByChannel = copyCounts(b.PlannedByChannel)
		for _, c := range counts {
			next.Targeted += c.N
			if c.Reason != "" {
				next.Excluded[c.Reason] += c.N
				continue
			}
			next.Queued += c.N
			next.PlannedByChannel[c.Channel] += c.N
		}
		next.PlanCursor = hi
		if err := saveProgress(tx, &next, nowS); err != nil {
			return err
		}
		*b = next
		return nil
	})
	if err != nil {
		return err
	}
	// The chunk's temp rows and sort buffers stay in the writer connection's
	// memory until SQLite is asked to give them back (measured: 20 MB of a
	// sending server's peak).
	if _, err := e.app.NonconcurrentDB().NewQuery("PRAGMA shrink_memory").Execute(); err != nil {
		return err
	}
	for _, c := range counts {
		if c.Reason == "" {
			e.out.Notify(c.Channel)
		}
	}
	return nil
}

// stillSending returns errStopped unless broadcast id is sending.
func stillSending(tx core.App, id string) error {
	var status string
	if err := tx.DB().NewQuery("SELECT status FROM broadcasts WHERE id = {:id}").Bind(dbx.Params{"id": id}).Row(&status); err != nil {
		return err
	}
	if status != StatusSending {
		return errStopped
	}
	return nil
}

func copyCounts(m map[string]int) map[string]int {
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// saveProgress writes the planning counters and cursor.
func saveProgress(tx core.App, b *Broadcast, nowS string) error {
	ex, err := json.Marshal(b.Excluded)
	if err != nil {
		return err
	}
	pc, err := json.Marshal(b.PlannedByChannel)
	if err != nil {
		return err
	}
	_, err = tx.DB().NewQuery(`UPDATE broadcasts SET targeted = {:t}, excluded = {:ex}, queued = {:q}, planned_by_channel = {:pc},
		plan_cursor = {:cur}, pending = pending + ({:q} - queued), updated = {:now} WHERE id = {:id}`).Bind(dbx.Params{
		"t": b.Targeted, "ex": string(ex), "q": b.Queued, "pc": string(pc), "cur": b.PlanCursor, "now": nowS, "id": b.ID,
	}).Execute()
	if err != nil {
		return fmt.Errorf("saving planning progress: %w", err)
	}
	return nil
}

// finish marks planning done, or fails a broadcast that reached nobody:
// the seed's "target segment has no contacts" for an empty segment, and a
// plain account of the reasons when everyone was left out.
func (p *planner) finish() error {
	b, e := p.b, p.e
	switch {
	case b.Targeted == 0:
		return e.fail(b, ErrSegmentEmpty)
	case b.Queued == 0:
		return e.fail(b, fmt.Sprintf("no recipients: all %s contacts of the audience were left out (%s)",
			thousands(b.Targeted), reasonList(b.Excluded)))
	}
	nowS := dbTime(e.now())
	return e.app.RunInTransaction(func(tx core.App) error {
		res, err := tx.DB().NewQuery(`UPDATE broadcasts SET plan_done = TRUE, updated = {:now} WHERE id = {:id} AND status = 'sending'`).
			Bind(dbx.Params{"id": b.ID, "now": nowS}).Execute()
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		b.PlanDone = true
		return events.Append(tx, events.Event{Type: EventPlanned, Subject: b.ID, Actor: "broadcasts", Payload: map[string]any{
			"targeted": b.Targeted, "excluded": b.Excluded, "queued": b.Queued, "by_channel": b.PlannedByChannel}})
	})
}

// reasonList writes counts by reason, largest first: "opted_out 12, no_identity 3".
func reasonList(m map[string]int) string {
	type kv struct {
		k string
		v int
	}
	var l []kv
	for k, v := range m {
		l = append(l, kv{k, v})
	}
	sort.Slice(l, func(i, j int) bool { return l[i].v > l[j].v || (l[i].v == l[j].v && l[i].k < l[j].k) })
	parts := make([]string, len(l))
	for i, x := range l {
		parts[i] = fmt.Sprintf("%s %s", x.k, thousands(x.v))
	}
	return strings.Join(parts, ", ")
}
