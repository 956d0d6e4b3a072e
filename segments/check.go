package segments

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"pregon/contacts"
)

// Operators.
const (
	OpIs              = "is"
	OpIsNot           = "is_not"
	OpHasAny          = "has_any"
	OpHasAll          = "has_all"
	OpHasNone         = "has_none"
	OpContains        = "contains"
	OpStartsWith      = "starts_with"
	OpExists          = "exists"
	OpNotExists       = "not_exists"
	OpGt              = "gt"
	OpGte             = "gte"
	OpLt              = "lt"
	OpLte             = "lte"
	OpBefore          = "before"
	OpAfter           = "after"
	OpWithinLastDays  = "within_last_days"
	OpMoreThanDaysAgo = "more_than_days_ago"
)

// Categories.
const (
	CatTag               = "tag"
	CatField             = "field"
	CatIdentity          = "identity"
	CatLastChannel       = "last_channel"
	CatConsent           = "consent"
	CatLanguage          = "language"
	CatCountry           = "country"
	CatCreated           = "created"
	CatUpdated           = "updated"
	CatLastInbound       = "last_inbound"
	CatLastOutbound      = "last_outbound"
	CatBroadcastReceived = "broadcast_received"
	CatBroadcastFailed   = "broadcast_failed"
	CatBroadcastReplied  = "broadcast_replied"
)

// notYet are categories of the product whose data does not exist yet; they
// are refused by name rather than faked.
var notYet = map[string]string{
	"conversation_status":   "conversation conditions are not available yet",
	"conversation_assignee": "conversation conditions are not available yet",
	"journey_entered":       "journey conditions are not available yet",
	"journey_completed":     "journey conditions are not available yet",
}

var (
	setOps    = []string{OpIs, OpIsNot, OpHasAny, OpHasAll, OpHasNone, OpExists, OpNotExists}
	choiceOps = []string{OpIs, OpIsNot, OpHasAny, OpHasNone, OpExists, OpNotExists}
	timeOps   = []string{OpBefore, OpAfter, OpWithinLastDays, OpMoreThanDaysAgo}
	activity  = append(append([]string{}, timeOps...), OpExists, OpNotExists)
	bcastOps  = []string{OpIs, OpIsNot, OpHasAny, OpHasAll, OpHasNone}
)

// categoryOps lists the operators of every category except "field", whose
// operators depend on the field's type (fieldOps).
var categoryOps = map[string][]string{
	CatTag:               setOps,
	CatIdentity:          setOps,
	CatLastChannel:       choiceOps,
	CatConsent:           {OpIs, OpIsNot, OpHasAny, OpHasNone},
	CatLanguage:          append(append([]string{}, choiceOps...), OpStartsWith),
	CatCountry:           choiceOps,
	CatCreated:           timeOps,
	CatUpdated:           timeOps,
	CatLastInbound:       activity,
	CatLastOutbound:      activity,
	CatBroadcastReceived: bcastOps,
	CatBroadcastFailed:   bcastOps,
	CatBroadcastReplied:  bcastOps,
}

var fieldOps = map[contacts.FieldType][]string{
	contacts.FieldText:    {OpIs, OpIsNot, OpHasAny, OpHasNone, OpContains, OpStartsWith, OpExists, OpNotExists},
	contacts.FieldEmail:   {OpIs, OpIsNot, OpHasAny, OpHasNone, OpContains, OpStartsWith, OpExists, OpNotExists},
	contacts.FieldURL:     {OpIs, OpIsNot, OpHasAny, OpHasNone, OpContains, OpStartsWith, OpExists, OpNotExists},
	contacts.FieldPhone:   {OpIs, OpIsNot, OpHasAny, OpHasNone, OpContains, OpStartsWith, OpExists, OpNotExists},
	contacts.FieldList:    {OpIs, OpIsNot, OpHasAny, OpHasNone, OpExists, OpNotExists},
	contacts.FieldNumber:  {OpIs, OpIsNot, OpGt, OpGte, OpLt, OpLte, OpExists, OpNotExists},
	contacts.FieldDate:    {OpIs, OpIsNot, OpBefore, OpAfter, OpWithinLastDays, OpMoreThanDaysAgo, OpExists, OpNotExists},
	contacts.FieldBoolean: {OpIs, OpIsNot, OpExists, OpNotExists},
}

// Kinds are the identity kinds (channel families) a condition may name.
var Kinds = []string{"whatsapp", "sms", "telegram", "messenger", "email", "webchat", "sandbox"}

// ChannelTypes are the channel types last_channel may name.
var ChannelTypes = []string{"whatsapp_cloud", "telegram", "twilio_sms", "twilio_whatsapp", "webchat", "sandbox",
	"messenger", "vonage_sms", "messagebird_sms", "email"}

// ConsentStates are the values of consent conditions; "unset" is an
// identity with neither an opt-in nor an opt-out recorded.
var ConsentStates = []string{"opted_in", "opted_out", "unset"}

var recordID = regexp.MustCompile(`^[a-z0-9]{15}$`)

// fieldKey is contact_fields.key's pattern. Keys are the only text ever
// written into SQL rather than bound (JSON paths and index expressions must
// be literal for SQLite to match an expression index), so they are checked
// against it again here, not only at definition time.
var fieldKey = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)

// Categories returns every category name a condition may use, sorted.
func Categories() []string {
	out := []string{CatField}
	for c := range categoryOps {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

func isBroadcastCategory(c string) bool {
	return c == CatBroadcastReceived || c == CatBroadcastFailed || c == CatBroadcastReplied
}

// Check validates t against s and returns its plan. The error is an *Error
// naming the first bad condition.
func Check(s *Schema, t Tree) (*Plan, error) {
	if len(t.Groups) > MaxGroups {
		return nil, &Error{Group: -1, Msg: fmt.Sprintf("a segment has at most %d groups, got %d", MaxGroups, len(t.Groups))}
	}
	p := &Plan{loc: s.Location}
	for gi, g := range t.Groups {
		if len(g.Conditions) == 0 {
			return nil, &Error{Group: gi, Condition: -1, Msg: "the group has no conditions; add one or remove the group"}
		}
		if len(g.Conditions) > MaxConditionsPerGroup {
			return nil, &Error{Group: gi, Condition: -1, Msg: fmt.Sprintf("a group has at most %d conditions, got %d", MaxConditionsPerGroup, len(g.Conditions))}
		}
		var preds []pred
		for ci, c := range g.Conditions {
			pr, err := checkCondition(s, c)
			if err != nil {
				return nil, &Error{Group: gi, Condition: ci, Category: c.Category, Field: c.Field, Msg: err.Error()}
			}
			preds = append(preds, pr)
		}
		p.groups = append(p.groups, orderByCost(preds))
	}
	return p, nil
}

// orderByCost puts cheap predicates first: SQLite evaluates a group's terms
// in the order written, so a failed column comparison spares the JSON and
// sub-query work of the terms after it. The evaluator is order-independent.
func orderByCost(ps []pred) []pred {
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].cost() < ps[j].cost() })
	return ps
}

// Costs, cheapest first.
const (
	costColumn   = iota // a comparison on a contacts column
	costTags            // a substring prefilter, then JSON for the few rows that pass
	costJSON            // JSON parsed for every row
	costSubquery        // a sub-query over identities, messages or events
)

func (p pred) cost() int {
	switch p.subj {
	case subjCreated, subjUpdated, subjLastInbound, subjLastOutbound, subjLastChannel, subjLanguage, subjCountry:
		return costColumn
	case subjTags:
		return costTags
	case subjField:
		return costJSON
	}
	return costSubquery
}

func checkCondition(s *Schema, c Condition) (pred, error) {
	if msg, ok := notYet[c.Category]; ok {
		return pred{}, fmt.Errorf("%s", msg)
	}
	if c.Category == "" {
		return pred{}, fmt.Errorf("category is missing; use one of: %s", strings.Join(Categories(), ", "))
	}
	if c.Field != "" && c.Category != CatField {
		return pred{}, fmt.Errorf(`"field" applies only to category "field"`)
	}
	if c.Kind != "" && c.Category != CatConsent {
		return pred{}, fmt.Errorf(`"kind" applies only to category "consent"`)
	}
	var ops []string
	var def contacts.FieldDef
	if c.Category == CatField {
		if c.Field == "" {
			return pred{}, fmt.Errorf(`name the custom field in "field"`)
		}
		d, ok := s.Fields[c.Field]
		if !ok {
			return pred{}, fmt.Errorf("there is no custom field %q; known fields: %s", c.Field, listOrNone(s.Fields.Keys()))
		}
		if !fieldKey.MatchString(d.Key) {
			return pred{}, fmt.Errorf("custom field key %q is not a valid key", d.Key)
		}
		def = d
		ops = fieldOps[d.Type]
		if ops == nil {
			return pred{}, fmt.Errorf("custom field %q has type %q, which segments cannot filter on", d.Key, d.Type)
		}
	} else {
		var ok bool
		if ops, ok = categoryOps[c.Category]; !ok {
			return pred{}, fmt.Errorf("unknown category %q; use one of: %s", c.Category, strings.Join(Categories(), ", "))
		}
	}
	if !contains(ops, c.Operator) {
		what := "category " + c.Category
		if c.Category == CatField {
			what = "a " + string(def.Type) + " field"
		}
		if c.Operator == "" {
			return pred{}, fmt.Errorf("operator is missing; for %s use one of: %s", what, strings.Join(ops, ", "))
		}
		return pred{}, fmt.Errorf("operator %q is not valid for %s; use one of: %s", c.Operator, what, strings.Join(ops, ", "))
	}
	v := value{raw: c.Value, op: c.Operator}

	// Existence operators take no value.
	if c.Operator == OpExists || c.Operator == OpNotExists {
		if !v.absent() {
			return pred{}, fmt.Errorf("operator %s takes no value; remove \"value\"", c.Operator)
		}
		p := pred{test: testExists, neg: c.Operator == OpNotExists, field: def}
		p.subj = subjectOf(c.Category)
		return p, nil
	}

	switch c.Category {
	case CatTag:
		return checkTag(v)
	case CatField:
		return checkField(s, def, v)
	case CatIdentity:
		return checkIdentity(s, v)
	case CatLastChannel:
		return checkLastChannel(s, v)
	case CatConsent:
		return checkConsent(c.Kind, v)
	case CatLanguage:
		return checkChoice(subjLanguage, v, contacts.NormalizeLanguage)
	case CatCountry:
		return checkChoice(subjCountry, v, contacts.NormalizeCountry)
	case CatCreated, CatUpdated, CatLastInbound, CatLastOutbound:
		return checkTime(s, subjectOf(c.Category), v)
	case CatBroadcastReceived, CatBroadcastFailed, CatBroadcastReplied:
		return checkBroadcast(s, subjectOf(c.Category), v)
	}
	return pred{}, fmt.Errorf("unknown category %q", c.Category)
}

func subjectOf(cat string) subject {
	return map[string]subject{
		CatTag: subjTags, CatField: subjField, CatIdentity: subjIdentity, CatConsent: subjConsent,
		CatLastChannel: subjLastChannel, CatLanguage: subjLanguage, CatCountry: subjCountry,
		CatCreated: subjCreated, CatUpdated: subjUpdated, CatLastInbound: subjLastInbound,
		CatLastOutbound: subjLastOutbound, CatBroadcastReceived: subjBroadcastReceived,
		CatBroadcastFailed: subjBroadcastFailed, CatBroadcastReplied: subjBroadcastReplied,
	}[cat]
}

// setPred builds the predicate of a set operator over canonical values:
// is/has_any match any, has_all every, is_not/has_none none.
func setPred(subj subject, op string, vals []string) pred {
	p := pred{subj: subj, test: testAny, strs: vals}
	switch op {
	case OpHasAll:
		p.test = testAll
	case OpIsNot, OpHasNone:
		p.neg = true
	}
	return p
}

func checkTag(v value) (pred, error) {
	raw, err := v.strings()
	if err != nil {
		return pred{}, err
	}
	tags := make([]string, 0, len(raw))
	for _, r := range raw {
		t, err := contacts.NormalizeTag(r)
		if err != nil {
			return pred{}, err
		}
		tags = append(tags, t)
	}
	return setPred(subjTags, v.op, dedupe(tags)), nil
}

func checkChoice(subj subject, v value, normalize func(string) (string, error)) (pred, error) {
	if v.op == OpStartsWith {
		s, err := v.text()
		if err != nil {
			return pred{}, err
		}
		return pred{subj: subj, test: testStartsWith, strs: []string{foldASCII(s)}}, nil
	}
	raw, err := v.strings()
	if err != nil {
		return pred{}, err
	}
	out := make([]string, 0, len(raw))
	for _, r := range raw {
		n, err := normalize(r)
		if err != nil {
			return pred{}, err
		}
		out = append(out, foldASCII(n))
	}
	return setPred(subj, v.op, dedupe(out)), nil
}

func checkIdentity(s *Schema, v value) (pred, error) {
	raw, err := v.strings()
	if err != nil {
		return pred{}, err
	}
	// has_all keeps testAll: every value must be present, each on its own.
	p := setPred(subjIdentity, v.op, nil)
	for _, r := range dedupe(raw) {
		if contains(Kinds, r) {
			p.strs = append(p.strs, r)
		} else if _, ok := s.Channels[r]; ok {
			p.chans = append(p.chans, r)
		} else {
			return pred{}, identityValueErr(r)
		}
	}
	return p, nil
}

func identityValueErr(r string) error {
	return fmt.Errorf("%s is neither a channel family (%s) nor the id of a channel", quoteVal(r), strings.Join(Kinds, ", "))
}

func checkLastChannel(s *Schema, v value) (pred, error) {
	raw, err := v.strings()
	if err != nil {
		return pred{}, err
	}
	var ids []string
	for _, r := range raw {
		switch {
		case contains(ChannelTypes, r):
			// A channel type stands for every channel of that type.
			for id, typ := range s.Channels {
				if typ == r {
					ids = append(ids, id)
				}
			}
		case s.Channels[r] != "":
			ids = append(ids, r)
		default:
			return pred{}, fmt.Errorf("%s is neither a channel type (%s) nor the id of a channel", quoteVal(r), strings.Join(ChannelTypes, ", "))
		}
	}
	sort.Strings(ids)
	return setPred(subjLastChannel, v.op, dedupe(ids)), nil
}

func checkConsent(kind string, v value) (pred, error) {
	if kind != "" && !contains(Kinds, kind) {
		return pred{}, fmt.Errorf("kind %s is not a channel family; use one of: %s", quoteVal(kind), strings.Join(Kinds, ", "))
	}
	raw, err := v.strings()
	if err != nil {
		return pred{}, err
	}
	var states []string
	for _, r := range raw {
		if !contains(ConsentStates, r) {
			return pred{}, fmt.Errorf("consent %s is not a consent state; use one of: %s", quoteVal(r), strings.Join(ConsentStates, ", "))
		}
		if r == "unset" {
			r = "" // stored as an empty select
		}
		states = append(states, r)
	}
	p := setPred(subjConsent, v.op, dedupe(states))
	p.kind = kind
	return p, nil
}

func checkBroadcast(s *Schema, subj subject, v value) (pred, error) {
	raw, err := v.strings()
	if err != nil {
		return pred{}, err
	}
	for _, r := range raw {
		if !recordID.MatchString(r) || !s.Broadcasts[r] {
			return pred{}, fmt.Errorf("there is no broadcast %s", quoteVal(r))
		}
	}
	return setPred(subj, v.op, dedupe(raw)), nil
}

func checkTime(s *Schema, subj subject, v value) (pred, error) {
	switch v.op {
	case OpWithinLastDays, OpMoreThanDaysAgo:
		n, err := v.days()
		if err != nil {
			return pred{}, err
		}
		p := pred{subj: subj, test: testWithin, days: n}
		if v.op == OpMoreThanDaysAgo {
			p.test = testOlder
		}
		return p, nil
	}
	str, err := v.text()
	if err != nil {
		return pred{}, err
	}
	at, day, err := parseWhen(str, s.Location)
	if err != nil {
		return pred{}, err
	}
	p := pred{subj: subj, test: testCmp}
	switch {
	case v.op == OpBefore:
		p.cmp, p.str = "<", storedTime(at)
	case day: // after a day: from the start of the next one
		p.cmp, p.str = ">=", storedTime(at.AddDate(0, 0, 1))
	default:
		p.cmp, p.str = ">", storedTime(at)
	}
	return p, nil
}

func checkField(s *Schema, d contacts.FieldDef, v value) (pred, error) {
	p := pred{subj: subjField, field: d}
	switch d.Type {
	case contacts.FieldNumber:
		x, err := v.scalar()
		if err != nil {
			return pred{}, err
		}
		n, err := d.Coerce(x, s.Region)
		if err != nil {
			return pred{}, err
		}
		if n == nil {
			return pred{}, fmt.Errorf("value is empty; write a number")
		}
		p.test, p.isNum, p.num = testCmp, true, n.(float64)
		p.cmp = map[string]string{OpIs: "=", OpIsNot: "=", OpGt: ">", OpGte: ">=", OpLt: "<", OpLte: "<="}[v.op]
		p.neg = v.op == OpIsNot
		return p, nil
	case contacts.FieldBoolean:
		x, err := v.scalar()
		if err != nil {
			return pred{}, err
		}
		b, err := d.Coerce(x, s.Region)
		if err != nil {
			return pred{}, err
		}
		if b == nil {
			return pred{}, fmt.Errorf("value is empty; write true or false")
		}
		p.test, p.isBool, p.boolv, p.neg = testAny, true, b.(bool), v.op == OpIsNot
		return p, nil
	case contacts.FieldDate:
		switch v.op {
		case OpWithinLastDays, OpMoreThanDaysAgo:
			n, err := v.days()
			if err != nil {
				return pred{}, err
			}
			p.test, p.days = testWithin, n
			if v.op == OpMoreThanDaysAgo {
				p.test = testOlder
			}
			return p, nil
		case OpBefore, OpAfter:
			x, err := v.text()
			if err != nil {
				return pred{}, err
			}
			dv, err := d.Coerce(x, s.Region)
			if err != nil {
				return pred{}, err
			}
			p.test, p.str, p.cmp = testCmp, dv.(string), "<"
			if v.op == OpAfter {
				p.cmp = ">"
			}
			return p, nil
		}
	}
	// String-valued types (text, email, url, phone, list, date).
	if v.op == OpContains || v.op == OpStartsWith {
		x, err := v.text()
		if err != nil {
			return pred{}, err
		}
		p.test, p.strs = testContains, []string{foldASCII(x)}
		if v.op == OpStartsWith {
			p.test = testStartsWith
		}
		return p, nil
	}
	raw, err := v.scalars()
	if err != nil {
		return pred{}, err
	}
	vals := make([]string, 0, len(raw))
	for _, x := range raw {
		c, err := d.Coerce(x, s.Region)
		if err != nil {
			return pred{}, err
		}
		str, ok := c.(string)
		if !ok || str == "" {
			return pred{}, fmt.Errorf("value is empty; to match contacts without %q use not_exists", d.Key)
		}
		vals = append(vals, foldASCII(str))
	}
	q := setPred(subjField, v.op, dedupe(vals))
	q.field = d
	return q, nil
}

// value reads a condition's JSON value in the shape its operator expects.
type value struct {
	raw json.RawMessage
	op  string
}

func (v value) absent() bool {
	t := bytes.TrimSpace(v.raw)
	return len(t) == 0 || string(t) == "null"
}

// strings reads a list for has_any/has_all/has_none and a single string for
// is/is_not (as a one-item list).
func (v value) strings() ([]string, error) {
	if v.op == OpIs || v.op == OpIsNot {
		s, err := v.text()
		if err != nil {
			return nil, err
		}
		return []string{s}, nil
	}
	list, err := v.list()
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(list))
	for _, x := range list {
		s, ok := x.(string)
		if !ok {
			return nil, fmt.Errorf("value %s in the list is not text", quoteVal(x))
		}
		if err := checkText(s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// scalars is strings() for field values, which may be numbers or booleans
// in JSON as well as text.
func (v value) scalars() ([]any, error) {
	if v.op == OpIs || v.op == OpIsNot {
		x, err := v.scalar()
		if err != nil {
			return nil, err
		}
		return []any{x}, nil
	}
	list, err := v.list()
	if err != nil {
		return nil, err
	}
	for _, x := range list {
		if err := checkScalar(x); err != nil {
			return nil, err
		}
	}
	return list, nil
}

// list reads the JSON list of a set operator.
func (v value) list() ([]any, error) {
	if v.absent() {
		return nil, v.missing()
	}
	var list []any
	if err := json.Unmarshal(v.raw, &list); err != nil {
		return nil, fmt.Errorf(`operator %s takes a list of values, e.g. ["a","b"]`, v.op)
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("operator %s needs at least one value in the list", v.op)
	}
	if len(list) > MaxValues {
		return nil, fmt.Errorf("a list has at most %d values, got %d", MaxValues, len(list))
	}
	return list, nil
}

func (v value) scalar() (any, error) {
	if v.absent() {
		return nil, v.missing()
	}
	var x any
	if err := json.Unmarshal(v.raw, &x); err != nil {
		return nil, fmt.Errorf("operator %s takes one value", v.op)
	}
	if err := checkScalar(x); err != nil {
		return nil, err
	}
	return x, nil
}

func checkScalar(x any) error {
	switch t := x.(type) {
	case string:
		return checkText(t)
	case float64, bool:
		return nil
	}
	return fmt.Errorf("value %s must be text, a number or true/false", quoteVal(x))
}

func (v value) text() (string, error) {
	if v.absent() {
		return "", v.missing()
	}
	var s string
	if err := json.Unmarshal(v.raw, &s); err != nil {
		return "", fmt.Errorf("operator %s takes one text value, e.g. \"vip\"", v.op)
	}
	if err := checkText(s); err != nil {
		return "", err
	}
	if strings.TrimSpace(s) == "" {
		return "", fmt.Errorf("value is empty")
	}
	return strings.TrimSpace(s), nil
}

func (v value) days() (int, error) {
	if v.absent() {
		return 0, v.missing()
	}
	var f float64
	if err := json.Unmarshal(v.raw, &f); err != nil || f != math.Trunc(f) || f < 1 || f > MaxDays {
		return 0, fmt.Errorf("operator %s takes a whole number of days from 1 to %d, e.g. 30", v.op, MaxDays)
	}
	return int(f), nil
}

func (v value) missing() error {
	return fmt.Errorf("operator %s needs a value", v.op)
}

// checkText refuses what no stored value can hold and what SQLite text
// functions treat differently from Go (NUL ends a C string).
func checkText(s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("value %s is not valid UTF-8 text", quoteVal(s))
	}
	if strings.ContainsRune(s, 0) {
		return fmt.Errorf("value %s contains a NUL character", quoteVal(s))
	}
	if n := utf8.RuneCountInString(s); n > MaxValueLen {
		return fmt.Errorf("a value is at most %d characters, got %d", MaxValueLen, n)
	}
	return nil
}

// parseWhen reads a before/after value: a day (2026-03-31, 31/03/2026),
// taken in loc, or an instant (RFC 3339, or PocketBase's stored form).
func parseWhen(s string, loc *time.Location) (t time.Time, day bool, err error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.000Z", "2006-01-02 15:04:05Z"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, false, nil
		}
	}
	for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02T15:04:05", "2006-01-02T15:04"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, false, nil
		}
	}
	d, err := contacts.ParseDate(s)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("%s is not a date; write YYYY-MM-DD, DD/MM/YYYY or an RFC 3339 time", quoteVal(s))
	}
	return time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, loc), true, nil
}

// storedTime formats t the way PocketBase stores dates, so that timestamps
// compare as text.
func storedTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05.000Z") }

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func dedupe(in []string) []string {
	seen := make(map[string]bool, len(in))
	out := in[:0:0]
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func listOrNone(keys []string) string {
	if len(keys) == 0 {
		return "none yet (define them in contact_fields)"
	}
	return strings.Join(keys, ", ")
}

func quoteVal(v any) string {
	if s, ok := v.(string); ok {
		if utf8.RuneCountInString(s) > 60 {
			s = string([]rune(s)[:57]) + "..."
		}
		return fmt.Sprintf("%q", s)
	}
	b, _ := json.Marshal(v)
	if len(b) > 60 {
		b = append(b[:57], "..."...)
	}
	return string(b)
}
