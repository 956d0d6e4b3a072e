package segments

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"

	"pregon/clock"
)

// The seed's rules and their messages.
const (
	MaxSegments  = 500
	LimitMessage = "limit reached: the maximum number of segments in a workspace is 500; delete a segment before creating a new one"
	NameTaken    = "segment name must be unique"
	PreviewSize  = 20
)

// ErrNotFound is returned for an unknown segment id. It matches
// sql.ErrNoRows too, so PocketBase answers 404 if it is returned as is.
var ErrNotFound error = notFound{}

type notFound struct{}

func (notFound) Error() string        { return "segment not found" }
func (notFound) Is(target error) bool { return target == sql.ErrNoRows }

// Segment is a saved segment.
type Segment struct {
	ID   string
	Name string
	Tree Tree
}

// Load reads a saved segment.
func Load(app core.App, id string) (Segment, error) {
	var row struct {
		ID         string `db:"id"`
		Name       string `db:"name"`
		Conditions string `db:"conditions"`
	}
	err := app.DB().NewQuery("SELECT id, name, COALESCE(conditions, '') AS conditions FROM segments WHERE id = {:id}").
		Bind(dbx.Params{"id": id}).One(&row)
	if errors.Is(err, sql.ErrNoRows) {
		return Segment{}, ErrNotFound
	}
	if err != nil {
		return Segment{}, fmt.Errorf("reading segment %s: %w", id, err)
	}
	t, err := Parse([]byte(row.Conditions))
	if err != nil {
		return Segment{}, fmt.Errorf("segment %q: %w", row.Name, err)
	}
	return Segment{ID: row.ID, Name: row.Name, Tree: t}, nil
}

// Prepare parses raw conditions and checks them against the workspace's
// current schema: what saving and previewing a segment run.
func Prepare(app core.App, raw []byte) (Tree, *Plan, error) {
	t, err := Parse(raw)
	if err != nil {
		return t, nil, err
	}
	s, err := LoadSchema(app, t)
	if err != nil {
		return t, nil, err
	}
	p, err := Check(s, t)
	return t, p, err
}

// ForID loads a saved segment and checks it against the current schema
// (a custom field or channel it names may have gone since it was saved).
func ForID(app core.App, id string) (Segment, *Plan, error) {
	seg, err := Load(app, id)
	if err != nil {
		return seg, nil, err
	}
	s, err := LoadSchema(app, seg.Tree)
	if err != nil {
		return seg, nil, err
	}
	p, err := Check(s, seg.Tree)
	if err != nil {
		return seg, nil, fmt.Errorf("segment %q no longer applies: %w", seg.Name, err)
	}
	return seg, p, nil
}

// Resolver turns segment ids into SQL, reading "now" from its clock.
type Resolver struct {
	Clock clock.Clock
}

// Where returns the members of segment id as a boolean SQL expression over
// the contacts table aliased c, with its dbx parameters (named sg1, sg2...):
// `SELECT ... FROM contacts c WHERE ` + where. An unknown id is ErrNotFound;
// a segment that no longer checks is an *Error wrapped with its name.
func (r Resolver) Where(app core.App, segmentID string) (string, dbx.Params, error) {
	_, p, err := ForID(app, segmentID)
	if err != nil {
		return "", nil, err
	}
	where, params := p.SQL(r.now())
	return where, params, nil
}

func (r Resolver) now() time.Time {
	if r.Clock == nil {
		return time.Now().UTC()
	}
	return r.Clock.Now()
}

// Count returns how many contacts match p.
func Count(app core.App, p *Plan, now time.Time) (int, error) {
	where, params := p.SQL(now)
	var n int
	if err := app.DB().NewQuery("SELECT COUNT(*) FROM contacts c WHERE " + where).Bind(params).Row(&n); err != nil {
		return 0, fmt.Errorf("counting segment members: %w", err)
	}
	return n, nil
}

// PreviewContact is one row of a preview.
type PreviewContact struct {
	ID        string   `db:"id" json:"id"`
	FirstName string   `db:"first_name" json:"first_name"`
	LastName  string   `db:"last_name" json:"last_name"`
	Phone     string   `db:"phone" json:"phone"`
	Email     string   `db:"email" json:"email"`
	TagsRaw   string   `db:"tags" json:"-"`
	Tags      []string `db:"-" json:"tags"`
	Created   string   `db:"created" json:"created"`
}

// First returns up to limit members, most recently added first (rowid
// order: a reverse table walk stops after `limit` matches, where ordering by
// `created` would sort every member).
func First(app core.App, p *Plan, now time.Time, limit int) ([]PreviewContact, error) {
	where, params := p.SQL(now)
	params["sglimit"] = limit
	out := []PreviewContact{}
	err := app.DB().NewQuery(`SELECT c.id, c.first_name, c.last_name, c.phone, c.email, COALESCE(c.tags, '') AS tags, c.created
		FROM contacts c WHERE ` + where + ` ORDER BY c.rowid DESC LIMIT {:sglimit}`).Bind(params).All(&out)
	if err != nil {
		return nil, fmt.Errorf("listing segment members: %w", err)
	}
	for i := range out {
		out[i].Tags = TagValues([]byte(out[i].TagsRaw))
		if out[i].Tags == nil {
			out[i].Tags = []string{}
		}
	}
	return out, nil
}

// Preview returns the member count and the first PreviewSize members. The
// two queries run side by side on the read pool; do not call it inside a
// transaction.
func Preview(app core.App, p *Plan, now time.Time) (int, []PreviewContact, error) {
	type counted struct {
		n   int
		err error
	}
	ch := make(chan counted, 1)
	go func() {
		n, err := Count(app, p, now)
		ch <- counted{n, err}
	}()
	first, ferr := First(app, p, now, PreviewSize)
	c := <-ch
	if c.err != nil {
		return 0, nil, c.err
	}
	if ferr != nil {
		return 0, nil, ferr
	}
	return c.n, first, nil
}

// ScheduledUser returns the name of a scheduled broadcast that uses segment
// id ("" when none does): such a segment cannot be deleted.
func ScheduledUser(app core.App, id string) (string, error) {
	var name string
	err := app.DB().NewQuery("SELECT name FROM broadcasts WHERE segment = {:id} AND status = 'scheduled' ORDER BY scheduled_at LIMIT 1").
		Bind(dbx.Params{"id": id}).Row(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("checking broadcasts that use segment %s: %w", id, err)
	}
	return name, nil
}

// MarshalJSON writes a tree in its contract form.
func (t Tree) MarshalJSON() ([]byte, error) {
	type plain Tree
	if t.Groups == nil {
		t.Groups = []Group{}
	}
	return json.Marshal(plain(t))
}
