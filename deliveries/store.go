package deliveries

import (
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"

	"pregon/failedlog"
)

// maxResends bounds how far a resend chain is followed (a resend of a
// resend...): enough for any person, never a loop.
const maxResends = 20

type contactRow struct {
	ID      string `db:"id"`
	Created string `db:"created"`
}

func loadContact(app core.App, id string) (contactRow, error) {
	var c contactRow
	err := app.DB().NewQuery("SELECT id, created FROM contacts WHERE id = {:id}").Bind(dbx.Params{"id": id}).One(&c)
	if errors.Is(err, sql.ErrNoRows) {
		return c, ErrContactNotFound
	}
	if err != nil {
		return c, fmt.Errorf("reading contact %s: %w", id, err)
	}
	return c, nil
}

type bcast struct {
	ID          string `db:"id"`
	Name        string `db:"name"`
	Status      string `db:"status"`
	Segment     string `db:"segment"`
	StartedAt   string `db:"started_at"`
	ScheduledAt string `db:"scheduled_at"`
	Timezone    string `db:"timezone"`
	Error       string `db:"error"`
	ResendOf    string `db:"resend_of"`
	Created     string `db:"created"`
	Updated     string `db:"updated"`
	// resendOfName is the name of the broadcast this one resends.
	resendOfName string
}

const bcastCols = `id, name, status, COALESCE(segment, '') AS segment, COALESCE(started_at, '') AS started_at,
	COALESCE(scheduled_at, '') AS scheduled_at, COALESCE(timezone, '') AS timezone, COALESCE(error, '') AS error,
	COALESCE(resend_of, '') AS resend_of, created, updated`

func (b *bcast) ref() *BroadcastRef {
	if b == nil {
		return nil
	}
	return &BroadcastRef{ID: b.ID, Name: b.Name, Status: b.Status, ResendOf: b.ResendOf}
}

// location is the zone the broadcast was scheduled in, else def.
func (b *bcast) location(def *time.Location) *time.Location {
	if b.Timezone != "" {
		if loc, err := time.LoadLocation(b.Timezone); err == nil {
			return loc
		}
	}
	return def
}

// resendChain returns the broadcast and every broadcast that resent it,
// directly or through another resend, oldest first.
func resendChain(app core.App, id string) ([]bcast, error) {
	var first bcast
	err := app.DB().NewQuery("SELECT " + bcastCols + " FROM broadcasts WHERE id = {:id}").Bind(dbx.Params{"id": id}).One(&first)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrBroadcastNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("reading broadcast %s: %w", id, err)
	}
	chain := []bcast{first}
	seen := map[string]bool{id: true}
	frontier := []string{id}
	for hop := 0; hop < maxResends && len(frontier) > 0 && len(chain) <= maxResends; hop++ {
		var next []bcast
		p := dbx.Params{}
		keys := make([]string, len(frontier))
		for i, f := range frontier {
			keys[i] = "{:f" + strconv.Itoa(i) + "}"
			p["f"+strconv.Itoa(i)] = f
		}
		if err := app.DB().NewQuery("SELECT " + bcastCols + " FROM broadcasts WHERE resend_of IN (" +
			strings.Join(keys, ",") + ") ORDER BY created, id").Bind(p).All(&next); err != nil {
			return nil, fmt.Errorf("reading the resends of broadcast %s: %w", id, err)
		}
		frontier = frontier[:0]
		for _, b := range next {
			if !seen[b.ID] {
				seen[b.ID] = true
				chain = append(chain, b)
				frontier = append(frontier, b.ID)
			}
		}
	}
	names := map[string]string{}
	for _, b := range chain {
		names[b.ID] = b.Name
	}
	for i := range chain {
		chain[i].resendOfName = names[chain[i].ResendOf]
	}
	return chain, nil
}

type msgRow struct {
	ID            string `db:"id"`
	Contact       string `db:"contact"`
	Status        string `db:"status"`
	Source        string `db:"source"`
	SourceID      string `db:"source_id"`
	Channel       string `db:"channel"`
	Content       string `db:"content"`
	ErrorCode     string `db:"error_code"`
	ErrorClass    string `db:"error_class"`
	ErrorDetail   string `db:"error_detail"`
	Attempts      int    `db:"attempts"`
	NextAttemptAt string `db:"next_attempt_at"`
	QueuedAt      string `db:"queued_at"`
	SentAt        string `db:"sent_at"`
	DeliveredAt   string `db:"delivered_at"`
	ReadAt        string `db:"read_at"`
	FailedAt      string `db:"failed_at"`
	UnknownAt     string `db:"unknown_at"`
	Created       string `db:"created"`
	Updated       string `db:"updated"`
}

const msgCols = `SELECT id, COALESCE(contact, '') AS contact, status, COALESCE(source, '') AS source, COALESCE(source_id, '') AS source_id,
	COALESCE(channel, '') AS channel, COALESCE(content, '') AS content, COALESCE(error_code, '') AS error_code,
	COALESCE(error_class, '') AS error_class, COALESCE(error_detail, '') AS error_detail,
	COALESCE(attempts, 0) AS attempts, COALESCE(next_attempt_at, '') AS next_attempt_at,
	COALESCE(queued_at, '') AS queued_at, COALESCE(sent_at, '') AS sent_at, COALESCE(delivered_at, '') AS delivered_at,
	COALESCE(read_at, '') AS read_at, COALESCE(failed_at, '') AS failed_at, COALESCE(unknown_at, '') AS unknown_at,
	created, updated FROM messages`

// broadcastMessages reads the contact's messages of one broadcast: one, by
// the broadcast's dedupe key, unless contacts were merged.
func broadcastMessages(app core.App, contactID, broadcastID string) ([]msgRow, error) {
	var rows []msgRow
	err := app.DB().NewQuery(msgCols + ` WHERE contact = {:c} AND source_id = {:b} AND source_id != ''
		AND direction = 'out' ORDER BY created, rowid`).Bind(dbx.Params{"c": contactID, "b": broadcastID}).All(&rows)
	if err != nil {
		return nil, fmt.Errorf("reading the messages of broadcast %s: %w", broadcastID, err)
	}
	return rows, nil
}

func recentMessages(app core.App, contactID string, limit int) ([]msgRow, error) {
	var rows []msgRow
	err := app.DB().NewQuery(msgCols + ` WHERE contact = {:c} AND direction = 'out' ORDER BY created DESC, rowid DESC
		LIMIT {:lim}`).Bind(dbx.Params{"c": contactID, "lim": limit}).All(&rows)
	if err != nil {
		return nil, fmt.Errorf("reading the contact's messages: %w", err)
	}
	return rows, nil
}

// exclRow is a broadcast_exclusions row, written by the broadcast planner:
// one per contact a broadcast left out, with a reasons code.
type exclRow struct {
	Broadcast string `db:"broadcast"`
	Channel   string `db:"channel"`
	Reason    string `db:"reason"`
	Created   string `db:"created"`
}

const exclCols = `SELECT broadcast, COALESCE(channel, '') AS channel, reason, created FROM broadcast_exclusions`

func exclusionOf(app core.App, broadcastID, contactID string) (exclRow, bool, error) {
	var x exclRow
	err := app.DB().NewQuery(exclCols + " WHERE contact = {:c} AND broadcast = {:b} ORDER BY rowid LIMIT 1").
		Bind(dbx.Params{"b": broadcastID, "c": contactID}).One(&x)
	if errors.Is(err, sql.ErrNoRows) {
		return x, false, nil
	}
	if err != nil {
		return x, false, fmt.Errorf("reading the contact's exclusion from broadcast %s: %w", broadcastID, err)
	}
	return x, true, nil
}

func recentExclusions(app core.App, contactID string, limit int) ([]exclRow, error) {
	var rows []exclRow
	err := app.DB().NewQuery(exclCols + " WHERE contact = {:c} ORDER BY created DESC, rowid DESC LIMIT {:lim}").
		Bind(dbx.Params{"c": contactID, "lim": limit}).All(&rows)
	if err != nil {
		return nil, fmt.Errorf("reading the contact's exclusions: %w", err)
	}
	return rows, nil
}

type chanInfo struct {
	ID        string `db:"id"`
	Name      string `db:"name"`
	Type      string `db:"type"`
	Status    string `db:"status"`
	LastError string `db:"last_error"`
}

func (c *chanInfo) ref() *ChannelRef {
	if c == nil {
		return nil
	}
	return &ChannelRef{ID: c.ID, Name: c.Name, Type: c.Type, Status: c.Status}
}

// refs reads each broadcast and channel once per answer.
type refs struct {
	app        core.App
	broadcasts map[string]*bcast
	channels   map[string]*chanInfo
}

func newRefs(app core.App) *refs {
	return &refs{app: app, broadcasts: map[string]*bcast{}, channels: map[string]*chanInfo{}}
}

// broadcast returns the broadcast, or nil when it was deleted.
func (r *refs) broadcast(id string) (*bcast, error) {
	if b, ok := r.broadcasts[id]; ok {
		return b, nil
	}
	var b bcast
	err := r.app.DB().NewQuery("SELECT " + bcastCols + " FROM broadcasts WHERE id = {:id}").Bind(dbx.Params{"id": id}).One(&b)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		r.broadcasts[id] = nil
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("reading broadcast %s: %w", id, err)
	}
	r.broadcasts[id] = &b
	return &b, nil
}

// channel returns the channel, or nil when there is none or it was deleted.
func (r *refs) channel(id string) (*chanInfo, error) {
	if id == "" {
		return nil, nil
	}
	if c, ok := r.channels[id]; ok {
		return c, nil
	}
	var c chanInfo
	err := r.app.DB().NewQuery(`SELECT id, name, type, COALESCE(status, '') AS status, COALESCE(last_error, '') AS last_error
		FROM channels WHERE id = {:id}`).Bind(dbx.Params{"id": id}).One(&c)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		r.channels[id] = nil
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("reading channel %s: %w", id, err)
	}
	r.channels[id] = &c
	return &c, nil
}

// inSegment reports whether the contact matches the segment now; known is
// false when there is no segment or it cannot be evaluated (deleted, or a
// condition on a field that has gone), and then the answer says nothing
// about it rather than guess.
func (a Asker) inSegment(contactID, segmentID string) (in, known bool) {
	if segmentID == "" {
		return false, false
	}
	where, p, err := a.Segments.Where(a.App, segmentID)
	if err != nil {
		return false, false
	}
	p["deliveries_contact"] = contactID
	var n int
	if err := a.App.DB().NewQuery("SELECT COUNT(*) FROM contacts c WHERE c.id = {:deliveries_contact} AND (" + where + ")").
		Bind(p).Row(&n); err != nil {
		return false, false
	}
	return n > 0, true
}

// reply finds the contact's reply to m: a broadcast.replied event naming
// m's broadcast (the broadcast engine's reply attribution), else the first
// inbound message on m's channel within the workspace's reply window after
// m was sent (the product's definition of a reply).
func (a Asker) reply(m msgRow, b *bcast) (at string, replied bool, err error) {
	contact := m.Contact
	if contact == "" {
		return "", false, nil
	}
	if b != nil {
		var rows []string
		// Through the contact's events (idx_events_contact_seq): the unary +
		// keeps SQLite from walking every reply of every broadcast instead.
		if err := a.App.DB().NewQuery(`SELECT created FROM events WHERE contact = {:c}
			AND +type = 'broadcast.replied' AND subject = {:b} ORDER BY created LIMIT 1`).
			Bind(dbx.Params{"c": contact, "b": b.ID}).Column(&rows); err != nil {
			return "", false, fmt.Errorf("reading the contact's replies: %w", err)
		}
		if len(rows) > 0 {
			return rows[0], true, nil
		}
	}
	sent := failedlog.ParseStored(m.SentAt)
	if sent.IsZero() || m.Channel == "" || a.ReplyWindow <= 0 {
		return "", false, nil
	}
	var rows []string
	if err := a.App.DB().NewQuery(`SELECT created FROM messages WHERE contact = {:c} AND direction = 'in'
		AND channel = {:ch} AND created > {:from} AND created <= {:to} ORDER BY created LIMIT 1`).
		Bind(dbx.Params{"c": contact, "ch": m.Channel, "from": m.SentAt,
			"to": failedlog.FormatTime(sent.Add(a.ReplyWindow))}).Column(&rows); err != nil {
		return "", false, fmt.Errorf("reading the contact's replies: %w", err)
	}
	if len(rows) > 0 {
		return rows[0], true, nil
	}
	return "", false, nil
}
