package segments

import (
	"fmt"
	"strings"
	"time"

	"github.com/pocketbase/dbx"

	"pregon/contacts"
)

// ParamPrefix starts the name of every parameter the compiler binds, so a
// caller can embed the expression next to its own {:params} without clashes.
const ParamPrefix = "sg"

// Received are the message statuses that count as "received" for a
// broadcast condition: the provider accepted the message and, where it
// reports receipts, delivered or read it.
var Received = []string{"sent", "delivered", "read"}

// SQL compiles the plan into a boolean expression over the contacts table
// aliased c, with every value bound as a dbx parameter ({:sg1}, {:sg2}...).
// Relative dates count back from now. The expression is true for members;
// for other contacts it is false or NULL, so negate it with
// NOT COALESCE((expr), 0), never with a bare NOT.
func (p *Plan) SQL(now time.Time) (string, dbx.Params) {
	b := &sqlBuilder{params: dbx.Params{}, now: now, loc: p.location()}
	if len(p.groups) == 0 {
		return "1", b.params
	}
	groups := make([]string, len(p.groups))
	for i, g := range p.groups {
		// Terms with a sub-query go last. SQLite evaluates them after the
		// others whatever the written order (as WHERE terms, and inside an
		// AND whose left side holds one), so a cheap tag prefilter bundled
		// with its json_each check would run after the group's JSON field
		// tests instead of sparing them (measured: 1,100 against 390 ms of
		// CPU at a million contacts).
		var cheap, costly []string
		for _, pr := range g {
			c, s := b.pred(pr)
			cheap, costly = append(cheap, c...), append(costly, s...)
		}
		groups[i] = "(" + strings.Join(append(cheap, costly...), " AND ") + ")"
	}
	return strings.Join(groups, " OR "), b.params
}

// Compile checks t against s and compiles it: the one call the broadcast
// planner, the exporter and the HTTP handlers need.
func Compile(s *Schema, t Tree, now time.Time) (string, dbx.Params, error) {
	p, err := Check(s, t)
	if err != nil {
		return "", nil, err
	}
	where, params := p.SQL(now)
	return where, params, nil
}

type sqlBuilder struct {
	params dbx.Params
	n      int
	now    time.Time
	loc    *time.Location
}

func (b *sqlBuilder) bind(v any) string {
	b.n++
	name := fmt.Sprintf("%s%d", ParamPrefix, b.n)
	b.params[name] = v
	return "{:" + name + "}"
}

func (b *sqlBuilder) list(vals []string) string {
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = b.bind(v)
	}
	return "(" + strings.Join(out, ", ") + ")"
}

// pred returns p's SQL as AND-ed terms: those without a sub-query and
// those with one. Only a positive tag test has both: its substring
// prefilter and its exact json_each check.
func (b *sqlBuilder) pred(p pred) (cheap, costly []string) {
	if p.subj == subjTags && !p.neg {
		return b.tagTerms(p)
	}
	pos := b.positive(p)
	if p.neg {
		pos = "NOT COALESCE((" + pos + "), 0)"
	}
	if p.neg || p.cost() >= costSubquery {
		return nil, []string{pos}
	}
	return []string{pos}, nil
}

func (b *sqlBuilder) positive(p pred) string {
	switch p.subj {
	case subjTags:
		return b.tags(p)
	case subjField:
		return b.field(p)
	case subjIdentity:
		return b.identity(p)
	case subjConsent:
		q := "SELECT contact FROM contact_identities WHERE consent IN " + b.list(p.strs)
		if p.kind != "" {
			q += " AND kind = " + b.bind(p.kind)
		}
		return "c.id IN (" + q + ")"
	case subjLastChannel:
		if p.test == testExists {
			return "c.last_channel != ''"
		}
		if len(p.strs) == 0 {
			return "0" // a channel type with no channel of it
		}
		return "c.last_channel IN " + b.list(p.strs)
	case subjLanguage, subjCountry:
		col := "c.language"
		if p.subj == subjCountry {
			col = "c.country"
		}
		switch p.test {
		case testExists:
			return col + " != ''"
		case testStartsWith:
			return "instr(lower(" + col + "), " + b.bind(p.strs[0]) + ") = 1"
		}
		return col + " COLLATE NOCASE IN " + b.list(p.strs)
	case subjCreated, subjUpdated, subjLastInbound, subjLastOutbound:
		return b.timestamp(p)
	case subjBroadcastReceived, subjBroadcastFailed, subjBroadcastReplied:
		if p.test == testAll {
			terms := make([]string, len(p.strs))
			for i, id := range p.strs {
				terms[i] = b.broadcast(p.subj, []string{id})
			}
			return "(" + strings.Join(terms, " AND ") + ")"
		}
		return b.broadcast(p.subj, p.strs)
	}
	panic(fmt.Sprintf("segments: no SQL for subject %d", p.subj))
}

// timestampColumn names the contacts column of a timestamp subject.
func timestampColumn(s subject) string {
	return map[subject]string{
		subjCreated: "c.created", subjUpdated: "c.updated",
		subjLastInbound: "c.last_inbound_at", subjLastOutbound: "c.last_outbound_at",
	}[s]
}

// timestamp compares PocketBase's stored date text, which orders like the
// time it writes. Every term repeats `col != ”`: it is what lets SQLite use
// the partial indexes on last_inbound_at and last_outbound_at.
func (b *sqlBuilder) timestamp(p pred) string {
	col := timestampColumn(p.subj)
	switch p.test {
	case testExists:
		return col + " != ''"
	case testWithin:
		return "(" + col + " != '' AND " + col + " >= " + b.bind(storedTime(cutoff(b.now, p.days))) + ")"
	case testOlder:
		return "(" + col + " != '' AND " + col + " < " + b.bind(storedTime(cutoff(b.now, p.days))) + ")"
	}
	return "(" + col + " != '' AND " + col + " " + p.cmp + " " + b.bind(p.str) + ")"
}

// cutoff is the instant `days` whole days before now.
func cutoff(now time.Time, days int) time.Time {
	return now.Add(-time.Duration(days) * 24 * time.Hour)
}

// dayCutoff returns, for a date field, the first day inside "the last days"
// and today, both as YYYY-MM-DD in the workspace time zone.
func dayCutoff(now time.Time, loc *time.Location, days int) (from, today string) {
	t := now.In(loc)
	return t.AddDate(0, 0, -days).Format(time.DateOnly), t.Format(time.DateOnly)
}

// tags matches the JSON array in contacts.tags. A substring search for the
// tag's JSON form rules most rows out before the JSON is parsed; it is only
// used when every encoder writes the tag literally (literalInJSON), and the
// exact json_each check always follows.
// tags is a tag predicate as one expression (for negation).
func (b *sqlBuilder) tags(p pred) string {
	cheap, costly := b.tagTerms(p)
	return "(" + strings.Join(append(cheap, costly...), " AND ") + ")"
}

// tagTerms matches the JSON array in contacts.tags. A substring search for
// each tag's JSON form rules most rows out before any JSON is parsed; it is
// only used when every encoder writes the tag literally (literalInJSON), and
// the exact json_each check always follows.
func (b *sqlBuilder) tagTerms(p pred) (cheap, costly []string) {
	if p.test == testExists {
		return []string{`instr(c.tags, '"') > 0`}, []string{tagsExact("1")}
	}
	sets := [][]string{p.strs} // any of the tags
	if p.test == testAll {
		sets = nil
		for _, t := range p.strs {
			sets = append(sets, []string{t})
		}
	}
	for _, tags := range sets {
		var pre []string
		for _, t := range tags {
			if !literalInJSON(t) {
				pre = nil
				break
			}
			pre = append(pre, "instr(c.tags, "+b.bind(`"`+t+`"`)+") > 0")
		}
		if len(pre) > 0 {
			cheap = append(cheap, "("+strings.Join(pre, " OR ")+")")
		}
		costly = append(costly, tagsExact("value IN "+b.list(tags)))
	}
	return cheap, costly
}

// tagsExact is true when c.tags is a JSON array with a string element
// matching cond, and NULL or false otherwise. CASE fixes the order of
// evaluation: the JSON functions raise an error on malformed text, and
// SQLite may evaluate both sides of an AND outside a WHERE clause.
func tagsExact(cond string) string {
	return "(CASE WHEN json_valid(c.tags) THEN json_type(c.tags) = 'array' AND " +
		"EXISTS (SELECT 1 FROM json_each(c.tags) WHERE type = 'text' AND " + cond + ") END)"
}

// FieldExpr is the typed value of custom field d in contacts c: the JSON
// value when it has d's type, NULL otherwise (missing, null, another type,
// or fields not valid JSON). String types compare with NOCASE. The same
// expression, without the alias, is the field's index (see FieldIndexSQL):
// SQLite uses an expression index only for the identical expression.
func FieldExpr(d contacts.FieldDef, table string) string {
	col := "fields"
	if table != "" {
		col = table + ".fields"
	}
	path := "'$." + d.Key + "'"
	typ := "json_type(" + col + ", " + path + ")"
	val := "json_extract(" + col + ", " + path + ")"
	var cond string
	switch d.Type {
	case contacts.FieldNumber:
		cond = typ + " IN ('integer', 'real')"
	case contacts.FieldBoolean:
		cond, val = typ+" IN ('true', 'false')", typ
	default:
		cond = typ + " = 'text'"
	}
	// Nested CASE: json_type raises an error on malformed JSON, so it must
	// not run before json_valid has said yes.
	return "(CASE WHEN json_valid(" + col + ") THEN (CASE WHEN " + cond + " THEN " + val + " END) END)"
}

// stringTyped reports whether a field type's values are stored as text.
func stringTyped(t contacts.FieldType) bool {
	return t != contacts.FieldNumber && t != contacts.FieldBoolean
}

func (b *sqlBuilder) field(p pred) string {
	fx := FieldExpr(p.field, "c")
	nc := fx + " COLLATE NOCASE"
	switch p.test {
	case testExists:
		if stringTyped(p.field.Type) {
			return fx + " != ''"
		}
		return fx + " IS NOT NULL"
	case testContains:
		return "instr(lower(" + fx + "), " + b.bind(p.strs[0]) + ") > 0"
	case testStartsWith:
		return "instr(lower(" + fx + "), " + b.bind(p.strs[0]) + ") = 1"
	case testCmp:
		if p.isNum {
			return fx + " " + p.cmp + " " + b.bind(p.num)
		}
		return nc + " " + p.cmp + " " + b.bind(p.str)
	case testWithin:
		from, today := dayCutoff(b.now, b.loc, p.days)
		return "(" + nc + " >= " + b.bind(from) + " AND " + nc + " <= " + b.bind(today) + ")"
	case testOlder:
		from, _ := dayCutoff(b.now, b.loc, p.days)
		return nc + " < " + b.bind(from)
	}
	if p.isBool {
		return fx + " = " + b.bind(fmt.Sprint(p.boolv))
	}
	if len(p.strs) == 1 {
		return nc + " = " + b.bind(p.strs[0])
	}
	return nc + " IN " + b.list(p.strs)
}

func (b *sqlBuilder) identity(p pred) string {
	switch p.test {
	case testExists:
		return "c.id IN (SELECT contact FROM contact_identities)"
	case testAll:
		var terms []string
		for _, k := range p.strs {
			terms = append(terms, b.identityAny([]string{k}, nil))
		}
		for _, ch := range p.chans {
			terms = append(terms, b.identityAny(nil, []string{ch}))
		}
		return "(" + strings.Join(terms, " AND ") + ")"
	}
	return b.identityAny(p.strs, p.chans)
}

func (b *sqlBuilder) identityAny(kinds, chans []string) string {
	var or []string
	if len(kinds) > 0 {
		or = append(or, "kind IN "+b.list(kinds))
	}
	if len(chans) > 0 {
		or = append(or, "channel IN "+b.list(chans))
	}
	return "c.id IN (SELECT contact FROM contact_identities WHERE " + strings.Join(or, " OR ") + ")"
}

func (b *sqlBuilder) broadcast(s subject, ids []string) string {
	switch s {
	case subjBroadcastReplied:
		return "c.id IN (SELECT contact FROM events WHERE type = 'broadcast.replied' AND subject IN " + b.list(ids) + ")"
	case subjBroadcastFailed:
		return "c.id IN (SELECT contact FROM messages WHERE source = 'broadcast' AND source_id IN " + b.list(ids) +
			" AND status = 'failed')"
	}
	return "c.id IN (SELECT contact FROM messages WHERE source = 'broadcast' AND source_id IN " + b.list(ids) +
		" AND status IN " + b.list(Received) + ")"
}
