// Package segments is the segment engine: a segment is a saved filter made
// of groups of conditions (conditions inside a group are AND-ed, groups are
// OR-ed). A tree is checked against the workspace's schema into a Plan,
// which compiles to one parameterised SQL boolean expression over the
// contacts table (aliased c) and evaluates in memory for one contact; a
// property test keeps the two in agreement.
package segments

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// Tree is a segment's `conditions` JSON, the contract shared by the
// dashboard, the API and the tests:
//
//	{"groups":[{"conditions":[{"category":"tag","operator":"has_any","value":["vip"]}]}]}
//
// A tree with no groups matches every contact (see Everyone).
type Tree struct {
	Groups []Group `json:"groups"`
}

// Everyone is the conditions of a segment of every contact: no groups, so
// nothing to fail. A real segment, not a placeholder: "send to all my
// contacts" is the commonest broadcast a shop sends.
const Everyone = `{"groups":[]}`

// Group is a list of conditions that must all hold.
type Group struct {
	Conditions []Condition `json:"conditions"`
}

// Condition is one category + operator + value. Field names the custom
// field (category "field"); Kind optionally narrows a consent condition to
// one channel family (whatsapp, sms...).
type Condition struct {
	Category string          `json:"category"`
	Field    string          `json:"field,omitempty"`
	Kind     string          `json:"kind,omitempty"`
	Operator string          `json:"operator"`
	Value    json.RawMessage `json:"value,omitempty"`
}

// Limits keep one tree small enough to compile into a reasonable query.
const (
	MaxGroups             = 20
	MaxConditionsPerGroup = 30
	MaxValues             = 500
	MaxValueLen           = 2000
	MaxDays               = 36500
)

// Parse reads a tree from JSON. Unknown keys are refused so that a typo
// ("operater") is an error instead of a condition that silently means
// something else. Nothing, null, "" and {} are the empty tree.
func Parse(raw []byte) (Tree, error) {
	var t Tree
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" || string(raw) == `""` {
		return t, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil {
		return t, &Error{Group: -1, Msg: "conditions must be JSON like " + exampleJSON + ": " + jsonProblem(err)}
	}
	if dec.More() {
		return t, &Error{Group: -1, Msg: "conditions must be one JSON object like " + exampleJSON}
	}
	return t, nil
}

const exampleJSON = `{"groups":[{"conditions":[{"category":"tag","operator":"has_any","value":["vip"]}]}]}`

// jsonProblem turns a decoder error into words that say where it is.
func jsonProblem(err error) string {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "json: ")
	msg = strings.ReplaceAll(msg, "Go struct field ", "")
	msg = strings.ReplaceAll(msg, "Go value of type ", "")
	return msg
}

// Error is a problem with one condition (or with the tree, when Group is
// -1): it names the group and condition, counted from 1 as the dashboard
// shows them, and says what to fix.
type Error struct {
	Group     int // 0-based; -1 for the whole tree
	Condition int // 0-based; -1 for the whole group
	Category  string
	Field     string
	Msg       string
}

func (e *Error) Error() string {
	switch {
	case e.Group < 0:
		return e.Msg
	case e.Condition < 0:
		return fmt.Sprintf("group %d: %s", e.Group+1, e.Msg)
	case e.Field != "":
		return fmt.Sprintf("group %d, condition %d (field %q): %s", e.Group+1, e.Condition+1, e.Field, e.Msg)
	case e.Category != "":
		return fmt.Sprintf("group %d, condition %d (%s): %s", e.Group+1, e.Condition+1, e.Category, e.Msg)
	}
	return fmt.Sprintf("group %d, condition %d: %s", e.Group+1, e.Condition+1, e.Msg)
}
