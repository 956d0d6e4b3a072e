package segments

import (
	"strings"
	"time"

	"pregon/contacts"
)

// Contact is what the evaluator needs to know about one contact, in the
// forms they are stored in (timestamps as PocketBase's date text).
type Contact struct {
	ID string
	// Tags are the string elements of contacts.tags (nil when it is not a
	// JSON array).
	Tags []string
	// Fields are contacts.fields decoded with FieldValues.
	Fields                                          map[string]any
	Language, Country, LastChannel                  string
	Created, Updated, LastInboundAt, LastOutboundAt string
	Identities                                      []Identity
	// Broadcast ids by outcome: messages received (sent, delivered, read),
	// failed, and broadcast.replied events.
	Received, Failed, Replied map[string]bool
}

// Identity is one contact_identities row, as far as conditions go.
type Identity struct {
	Kind, Channel, Consent string
}

// Match reports whether c is a member, taking relative dates from now.
func (p *Plan) Match(c *Contact, now time.Time) bool {
	if len(p.groups) == 0 {
		return true
	}
	for _, g := range p.groups {
		all := true
		for _, pr := range g {
			if !p.eval(pr, c, now) {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

func (p *Plan) eval(pr pred, c *Contact, now time.Time) bool {
	return p.positive(pr, c, now) != pr.neg
}

func (p *Plan) positive(pr pred, c *Contact, now time.Time) bool {
	switch pr.subj {
	case subjTags:
		switch pr.test {
		case testExists:
			return len(c.Tags) > 0
		case testAll:
			return everyIn(pr.strs, c.Tags)
		}
		return anyIn(pr.strs, c.Tags)
	case subjField:
		return p.field(pr, c.Fields[pr.field.Key], now)
	case subjIdentity:
		has := func(kinds, chans []string) bool {
			for _, id := range c.Identities {
				if contains(kinds, id.Kind) || contains(chans, id.Channel) {
					return true
				}
			}
			return false
		}
		switch pr.test {
		case testExists:
			return len(c.Identities) > 0
		case testAll:
			for _, k := range pr.strs {
				if !has([]string{k}, nil) {
					return false
				}
			}
			for _, ch := range pr.chans {
				if !has(nil, []string{ch}) {
					return false
				}
			}
			return true
		}
		return has(pr.strs, pr.chans)
	case subjConsent:
		for _, id := range c.Identities {
			if (pr.kind == "" || id.Kind == pr.kind) && contains(pr.strs, id.Consent) {
				return true
			}
		}
		return false
	case subjLastChannel:
		if pr.test == testExists {
			return c.LastChannel != ""
		}
		return contains(pr.strs, c.LastChannel)
	case subjLanguage, subjCountry:
		v := c.Language
		if pr.subj == subjCountry {
			v = c.Country
		}
		switch pr.test {
		case testExists:
			return v != ""
		case testStartsWith:
			return strings.HasPrefix(foldASCII(v), pr.strs[0])
		}
		return contains(pr.strs, foldASCII(v))
	case subjCreated, subjUpdated, subjLastInbound, subjLastOutbound:
		v := map[subject]string{subjCreated: c.Created, subjUpdated: c.Updated,
			subjLastInbound: c.LastInboundAt, subjLastOutbound: c.LastOutboundAt}[pr.subj]
		if v == "" {
			return false
		}
		switch pr.test {
		case testExists:
			return true
		case testWithin:
			return v >= storedTime(cutoff(now, pr.days))
		case testOlder:
			return v < storedTime(cutoff(now, pr.days))
		}
		return compare(v, pr.cmp, pr.str)
	case subjBroadcastReceived, subjBroadcastFailed, subjBroadcastReplied:
		set := map[subject]map[string]bool{subjBroadcastReceived: c.Received,
			subjBroadcastFailed: c.Failed, subjBroadcastReplied: c.Replied}[pr.subj]
		n := 0
		for _, id := range pr.strs {
			if set[id] {
				n++
			}
		}
		if pr.test == testAll {
			return n == len(pr.strs)
		}
		return n > 0
	}
	return false
}

// field mirrors FieldExpr: a value of another type than the field's counts
// as no value.
func (p *Plan) field(pr pred, v any, now time.Time) bool {
	switch pr.field.Type {
	case contacts.FieldNumber:
		n, ok := v.(float64)
		if !ok {
			return false
		}
		if pr.test == testExists {
			return true
		}
		switch pr.cmp {
		case "=":
			return n == pr.num
		case ">":
			return n > pr.num
		case ">=":
			return n >= pr.num
		case "<":
			return n < pr.num
		case "<=":
			return n <= pr.num
		}
		return false
	case contacts.FieldBoolean:
		b, ok := v.(bool)
		if !ok {
			return false
		}
		return pr.test == testExists || b == pr.boolv
	}
	s, ok := v.(string)
	if !ok {
		return false
	}
	f := foldASCII(s)
	switch pr.test {
	case testExists:
		return s != ""
	case testContains:
		return strings.Contains(f, pr.strs[0])
	case testStartsWith:
		return strings.HasPrefix(f, pr.strs[0])
	case testCmp:
		return compare(f, pr.cmp, pr.str)
	case testWithin:
		from, today := dayCutoff(now, p.location(), pr.days)
		return f >= from && f <= today
	case testOlder:
		from, _ := dayCutoff(now, p.location(), pr.days)
		return f < from
	}
	return contains(pr.strs, f)
}

func compare(a, op, b string) bool {
	switch op {
	case "<":
		return a < b
	case "<=":
		return a <= b
	case ">":
		return a > b
	case ">=":
		return a >= b
	}
	return a == b
}

func anyIn(want, have []string) bool {
	for _, w := range want {
		if contains(have, w) {
			return true
		}
	}
	return false
}

func everyIn(want, have []string) bool {
	for _, w := range want {
		if !contains(have, w) {
			return false
		}
	}
	return true
}
