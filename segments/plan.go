package segments

import (
	"time"

	"pregon/contacts"
)

// Plan is a checked tree: every value is parsed into the canonical form
// contacts are stored in, so the SQL compiler and the evaluator compare like
// with like. groups[i] holds the predicates AND-ed in group i; groups are
// OR-ed. An empty plan matches every contact.
type Plan struct {
	groups [][]pred
	loc    *time.Location // the workspace time zone: "today" for date fields
}

func (p *Plan) location() *time.Location {
	if p.loc == nil {
		return time.UTC
	}
	return p.loc
}

// Empty reports whether the plan matches every contact.
func (p *Plan) Empty() bool { return len(p.groups) == 0 }

// subject is what a predicate looks at.
type subject int

const (
	subjTags subject = iota
	subjField
	subjIdentity
	subjConsent
	subjLastChannel
	subjLanguage
	subjCountry
	subjCreated
	subjUpdated
	subjLastInbound
	subjLastOutbound
	subjBroadcastReceived
	subjBroadcastFailed
	subjBroadcastReplied
)

// test is how a predicate looks at its subject. Every test is positive; a
// negative operator (is_not, has_none, not_exists) sets pred.neg.
type test int

const (
	testAny        test = iota // one of strs (for collections: any element is)
	testAll                    // collections: every one of strs is present
	testExists                 // has a value (collections: at least one element)
	testContains               // string contains strs[0] (ASCII case folded)
	testStartsWith             // string starts with strs[0] (ASCII case folded)
	testCmp                    // ordered comparison cmp against num / str
	testWithin                 // timestamp or date within the last days
	testOlder                  // timestamp or date more than days ago
)

// pred is one checked condition.
type pred struct {
	subj subject
	test test
	neg  bool

	field contacts.FieldDef // subjField
	kind  string            // subjConsent: narrow to identities of this kind ("" = any)

	// strs are the values: canonical tags, ASCII-lower-cased strings, ids,
	// kinds. For subjIdentity, chans holds the channel ids and strs the kinds.
	strs  []string
	chans []string

	cmp    string  // testCmp: "<", "<=", ">", ">=" ("=" is testAny)
	num    float64 // testCmp on a number field
	str    string  // testCmp on a timestamp (stored form) or a date field (YYYY-MM-DD)
	isNum  bool    // testCmp compares num rather than str
	days   int     // testWithin / testOlder
	boolv  bool    // boolean field, testAny
	isBool bool
}
