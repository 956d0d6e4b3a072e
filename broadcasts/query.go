package broadcasts

import (
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/tools/types"

	"pregon/contacts"
	"pregon/reasons"
	"pregon/workspace"
)

// audience is one broadcast's recipients as SQL: for every contact of its
// audience (a segment, or a resend's failed recipients) the channel it
// would get its message on, the identity, the reason it is left out (” for
// none) and, when asked, its rendered content. The planner, the audience
// breakdown, the preview and the test send all read this one query, so what
// the preview shows is what the planner writes.
type audience struct {
	b        *Broadcast
	ts       []target
	now      time.Time
	settings workspace.Settings
	defs     contacts.FieldDefs

	// members is the audience as a boolean SQL expression over contacts c
	// (with its params); "" means every contact.
	members       string
	membersParams dbx.Params
	// dups are contacts left out as duplicates of another audience member
	// (see duplicates.go).
	dups []string
}

// Columns of the audience query.
type row struct {
	Crow     int64  `db:"crow"`
	Contact  string `db:"contact"`
	Channel  string `db:"channel"`
	Identity string `db:"identity"`
	Reason   string `db:"reason"`
	Content  string `db:"content"`
}

// queryOpts choose what the query returns and which contacts it reads.
type queryOpts struct {
	content bool // add the rendered content column
	tier    bool // add bi (business-initiated) and tiered (already counted by the tier)
	// where narrows the contacts read (a rowid range, one contact), over c.
	where       string
	whereParams dbx.Params
	// ignoreMembers reads contacts outside the audience too (the preview of
	// a contact who is not in the segment).
	ignoreMembers bool
}

// Identifier formats as SQL over the identity i, per kind: the stored forms
// contacts.NormalizeIdentifier writes. Rows written around the contact rules
// (raw imports) may differ; those are left out as invalid_identifier.
const (
	sqlPhone   = `(i.identifier GLOB '+[1-9]*' AND length(i.identifier) BETWEEN 8 AND 16 AND substr(i.identifier, 2) NOT GLOB '*[^0-9]*')`
	sqlWAUser  = `(i.identifier GLOB '[A-Z][A-Z].?*' AND length(i.identifier) <= 131 AND substr(i.identifier, 4) NOT GLOB '*[^A-Za-z0-9]*')`
	sqlChatID  = `(ltrim(i.identifier, '-') != '' AND ltrim(i.identifier, '-') NOT GLOB '*[^0-9]*' AND length(i.identifier) - length(ltrim(i.identifier, '-')) <= 1 AND i.identifier GLOB '*[1-9]*')`
	sqlIDValid = `(CASE i.kind WHEN 'sms' THEN ` + sqlPhone + ` WHEN 'whatsapp' THEN (` + sqlPhone + ` OR ` + sqlWAUser + `)
		WHEN 'telegram' THEN ` + sqlChatID + ` ELSE COALESCE(i.identifier, '') != '' END)`
)

// qb accumulates a query's parameters, each bound once and named in order
// (never spliced into the SQL text).
type qb struct {
	p dbx.Params
	n int
}

func (q *qb) bind(v any) string {
	q.n++
	k := fmt.Sprintf("bp%d", q.n)
	q.p[k] = v
	return "{:" + k + "}"
}

func (q *qb) list(vs []string) string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = q.bind(v)
	}
	return "(" + strings.Join(out, ", ") + ")"
}

func dbTime(t time.Time) string { return t.UTC().Format(types.DefaultDateLayout) }

// sql builds the audience query.
func (a *audience) sql(o queryOpts) (string, dbx.Params, error) {
	q := &qb{p: dbx.Params{}}
	var ch, kind string
	var ids []string
	for _, t := range a.ts {
		ids = append(ids, t.ID)
	}
	last := a.b.Mode == ModeLastInteracted
	if last {
		ch = "COALESCE(c.last_channel, '')"
		var sb strings.Builder
		sb.WriteString("(CASE c.last_channel")
		for _, t := range a.ts {
			sb.WriteString(" WHEN " + q.bind(t.ID) + " THEN " + q.bind(string(t.Caps.IdentityKind)))
		}
		sb.WriteString(" ELSE '' END)")
		kind = sb.String()
	} else {
		if len(a.ts) != 1 {
			return "", nil, fmt.Errorf("a broadcast to a specific channel needs exactly one channel, has %d", len(a.ts))
		}
		ch, kind = q.bind(a.ts[0].ID), q.bind(string(a.ts[0].Caps.IdentityKind))
	}

	// The reason a contact is left out; the first that applies wins, in the
	// order a person would check them.
	var why strings.Builder
	why.WriteString("(CASE")
	if last {
		why.WriteString(" WHEN " + ch + " = '' THEN '" + reasons.NoLastChannel + "'")
		if len(ids) == 0 {
			why.WriteString(" WHEN 1 THEN '" + reasons.ChannelNotSelected + "'")
		} else {
			why.WriteString(" WHEN " + ch + " NOT IN " + q.list(ids) + " THEN '" + reasons.ChannelNotSelected + "'")
		}
	}
	why.WriteString(" WHEN i.id IS NULL THEN '" + reasons.NoIdentity + "'")
	why.WriteString(" WHEN NOT " + sqlIDValid + " THEN '" + reasons.InvalidID + "'")
	why.WriteString(" WHEN COALESCE(i.consent, '') = 'opted_out' THEN '" + reasons.OptedOut + "'")
	if a.settings.RequireOptIn {
		why.WriteString(" WHEN COALESCE(i.consent, '') != 'opted_in' THEN '" + reasons.NotOptedIn + "'")
	}
	if a.b.OnlyPrevious {
		why.WriteString(" WHEN NOT (COALESCE(i.channel, '') = " + ch + " OR EXISTS (SELECT 1 FROM messages m WHERE m.contact = c.id AND m.channel = " +
			ch + " AND m.direction = 'in')) THEN '" + reasons.NotInteracted + "'")
	}
	var closed []string
	for _, t := range a.ts {
		if t.windowed() && !t.Content.HasTemplate() {
			closed = append(closed, "("+ch+" = "+q.bind(t.ID)+" AND (COALESCE(i.last_inbound_at, '') = '' OR i.last_inbound_at <= "+
				q.bind(dbTime(a.now.Add(-t.Caps.Window)))+"))")
		}
	}
	if len(closed) > 0 {
		why.WriteString(" WHEN " + strings.Join(closed, " OR ") + " THEN '" + reasons.WindowClosed + "'")
	}
	if len(a.dups) > 0 {
		raw, err := json.Marshal(a.dups)
		if err != nil {
			return "", nil, err
		}
		why.WriteString(" WHEN c.id IN (SELECT value FROM json_each(" + q.bind(string(raw)) + ")) THEN '" + reasons.DuplicateID + "'")
	}
	why.WriteString(" ELSE '' END)")

	cols := []string{"c.rowid AS crow", "c.id AS contact", ch + " AS channel", "COALESCE(i.id, '') AS identity", why.String() + " AS reason"}
	if o.content {
		expr, err := a.contentSQL(ch, q)
		if err != nil {
			return "", nil, err
		}
		cols = append(cols, expr+" AS content")
	}
	if o.tier {
		bi, tiered := a.tierSQL(ch, q)
		cols = append(cols, bi+" AS bi", tiered+" AS tiered")
	}

	var where []string
	if o.where != "" {
		where = append(where, o.where)
		maps.Copy(q.p, o.whereParams)
	}
	if !o.ignoreMembers && a.members != "" {
		where = append(where, "("+a.members+")")
		maps.Copy(q.p, a.membersParams)
	}
	if len(where) == 0 {
		where = []string{"1"}
	}
	// The contact's identity of the channel's kind: the one that last wrote
	// through the channel, else the oldest. An aggregate picks it in one pass
	// over the contact's identities (ORDER BY … LIMIT 1 would start a sorter
	// per contact, which doubled the cost of a million-contact plan):
	// MAX(match·2⁴⁰ + 2⁴⁰ − rowid) is the matching identity with the lowest
	// rowid, and the rowid is read back from the remainder.
	sql := "SELECT " + strings.Join(cols, ", ") + ` FROM contacts c LEFT JOIN contact_identities i ON i.rowid = (
		SELECT 1099511627776 - (MAX((COALESCE(x.channel, '') = ` + ch + `) * 1099511627776 + 1099511627776 - x.rowid) % 1099511627776)
		FROM contact_identities x WHERE x.contact = c.id AND x.kind = ` + kind + `)
		WHERE ` + strings.Join(where, " AND ")
	return sql, q.p, nil
}

// contentSQL renders each target's content, chosen by the contact's channel.
func (a *audience) contentSQL(ch string, q *qb) (string, error) {
	w := newSQLWriter(q, a.defs, a.language())
	var sb strings.Builder
	sb.WriteString("(CASE " + ch)
	for _, t := range a.ts {
		if _, given := a.b.Content[t.Type]; !given {
			continue
		}
		expr, err := t.Content.sql(w)
		if err != nil {
			return "", err
		}
		sb.WriteString(" WHEN " + q.bind(t.ID) + " THEN " + expr)
	}
	sb.WriteString(" ELSE '' END)")
	return sb.String(), nil
}

func (a *audience) language() string { return a.settings.Language }

// tierSQL returns two columns for the channels with a messaging tier: bi,
// whether the message would be business-initiated (the window closed, or
// the channel has none), which is what the tier counts; and tiered, whether
// the recipient already counted in the last 24 hours (counting again costs
// nothing).
func (a *audience) tierSQL(ch string, q *qb) (bi, tiered string) {
	var windowed, tierIDs []string
	for _, t := range a.ts {
		if t.DailyLimit <= 0 {
			continue
		}
		tierIDs = append(tierIDs, t.ID)
		if t.Caps.Window > 0 {
			windowed = append(windowed, "("+ch+" = "+q.bind(t.ID)+" AND COALESCE(i.last_inbound_at, '') != '' AND i.last_inbound_at > "+
				q.bind(dbTime(a.now.Add(-t.Caps.Window)))+")")
		}
	}
	if len(tierIDs) == 0 {
		return "0", "0"
	}
	bi = "1"
	if len(windowed) > 0 {
		bi = "(NOT (" + strings.Join(windowed, " OR ") + "))"
	}
	tiered = "((" + ch + ", COALESCE(i.id, '')) IN (SELECT channel, identity FROM messages WHERE tier_at != '' AND tier_at > " +
		q.bind(dbTime(a.now.Add(-24*time.Hour))) + " AND channel IN " + q.list(tierIDs) + "))"
	return bi, tiered
}
