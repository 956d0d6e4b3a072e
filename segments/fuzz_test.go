package segments_test

import (
	"encoding/json"
	"errors"
	"testing"

	"pregon/segments"
)

// FuzzCompile throws arbitrary JSON at the parser, the checker and the
// compiler: nothing may panic, every refusal is a *segments.Error, and every
// accepted tree compiles to SQL that runs and agrees with the evaluator on
// the fixture's hostile contacts.
func FuzzCompile(f *testing.F) {
	fx := newFixture(f, 150, 3)
	s := testSchema()
	for _, seed := range []string{
		`{"groups":[{"conditions":[{"category":"tag","operator":"has_any","value":["vip"]},{"category":"field","field":"city","operator":"is","value":"Lima"}]},{"conditions":[{"category":"last_inbound","operator":"within_last_days","value":30}]}]}`,
		`{"groups":[{"conditions":[{"category":"field","field":"city","operator":"contains","value":"%_'\"); DROP TABLE contacts; --"}]}]}`,
		`{"groups":[{"conditions":[{"category":"tag","operator":"has_all","value":["o'brien","50%","a_b","日本","\"q\""]}]}]}`,
		`{"groups":[{"conditions":[{"category":"field","field":"points","operator":"lte","value":"12,5"}]}]}`,
		`{"groups":[{"conditions":[{"category":"consent","kind":"whatsapp","operator":"has_none","value":["opted_out","unset"]}]}]}`,
		`{"groups":[{"conditions":[{"category":"identity","operator":"has_all","value":["sms","chanwhatsapp001"]}]}]}`,
		`{"groups":[{"conditions":[{"category":"broadcast_received","operator":"has_any","value":["bcastblackfri01"]}]}]}`,
		`{"groups":[{"conditions":[{"category":"language","operator":"starts_with","value":"ES"}]}]}`,
		`{"groups":[]}`, `null`, `{}`, `{"groups":[{}]}`, `{"groups":[{"conditions":[{}]}]}`, `"x"`, `{"groups":1}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tree, err := segments.Parse(data)
		if err == nil {
			var p *segments.Plan
			if p, err = segments.Check(s, tree); err == nil {
				fx.agree(t, p, string(data))
				return
			}
		}
		var ce *segments.Error
		if !errors.As(err, &ce) {
			t.Fatalf("%q: error %T is not a *segments.Error: %v", data, err, err)
		}
	})
}

// FuzzConditionValue drives hostile strings straight into condition values
// of every category and operator, where random JSON rarely reaches.
func FuzzConditionValue(f *testing.F) {
	fx := newFixture(f, 150, 4)
	s := testSchema()
	for _, h := range hostile {
		f.Add("field", "city", "contains", h)
		f.Add("tag", "", "has_any", h)
	}
	f.Add("field", "points", "gt", "1e308")
	f.Add("field", "birthday", "within_last_days", "30")
	f.Add("language", "", "starts_with", "%")
	f.Add("created", "", "before", "2026-02-30")
	f.Fuzz(func(t *testing.T, category, field, operator, v string) {
		for _, value := range []any{v, []string{v, "vip"}, json.RawMessage(v)} {
			raw, err := json.Marshal(value)
			if err != nil {
				continue // v is not JSON: the raw variant only
			}
			tree := segments.Tree{Groups: []segments.Group{{Conditions: []segments.Condition{
				{Category: category, Field: field, Operator: operator, Value: raw},
			}}}}
			p, err := segments.Check(s, tree)
			if err != nil {
				var ce *segments.Error
				if !errors.As(err, &ce) {
					t.Fatalf("error %T is not a *segments.Error: %v", err, err)
				}
				continue
			}
			fx.agree(t, p, category+" "+operator+" "+string(raw))
		}
	})
}
