package segments_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"

	"pregon/segments"
)

// TestSQLAndEvaluatorAgree is the property that holds the engine together:
// for thousands of random contacts (written raw, with wrong types and
// hostile strings) and random condition trees, the compiled SQL selects
// exactly the contacts the in-memory evaluator accepts. It also checks that
// every category and operator was exercised with both outcomes, so the
// property cannot pass vacuously.
func TestSQLAndEvaluatorAgree(t *testing.T) {
	contacts, trees := 2000, 1500
	if testing.Short() {
		contacts, trees = 300, 200
	}
	fx := newFixture(t, contacts, 42)
	r := rand.New(rand.NewPCG(7, 8))

	type outcome struct{ some, notAll bool }
	seen := map[string]*outcome{}
	valid, refused := 0, 0
	for i := 0; i < trees; i++ {
		var tree segments.Tree
		for g := 1 + r.IntN(3); g > 0; g-- {
			var grp segments.Group
			for c := 1 + r.IntN(3); c > 0; c-- {
				grp.Conditions = append(grp.Conditions, randomCondition(r))
			}
			tree.Groups = append(tree.Groups, grp)
		}
		p, err := segments.Check(fx.schema, tree)
		if err != nil {
			var ce *segments.Error
			if !errors.As(err, &ce) {
				t.Fatalf("tree %d: Check returned %T, want *segments.Error: %v", i, err, err)
			}
			refused++
			continue
		}
		valid++
		fx.agree(t, p, fmt.Sprintf("tree %d", i))

		// Each condition alone, to see every operator's own outcome.
		for _, g := range tree.Groups {
			for _, c := range g.Conditions {
				one, err := segments.Check(fx.schema, segments.Tree{Groups: []segments.Group{{Conditions: []segments.Condition{c}}}})
				if err != nil {
					t.Fatalf("condition %+v passed in a tree but fails alone: %v", c, err)
				}
				n := fx.agree(t, one, fmt.Sprintf("tree %d condition %s %s", i, c.Category, c.Operator))
				key := c.Category + " " + c.Operator
				if c.Category == segments.CatField {
					key = "field:" + string(fx.schema.Fields[c.Field].Type) + " " + c.Operator
				}
				o := seen[key]
				if o == nil {
					o = &outcome{}
					seen[key] = o
				}
				o.some = o.some || n > 0
				o.notAll = o.notAll || n < contacts
			}
		}
	}
	if valid < trees/2 {
		t.Fatalf("only %d of %d random trees were valid (%d refused): the generator is off", valid, trees, refused)
	}
	var weak []string
	for _, cat := range segments.Categories() {
		ops := opsFor(cat)
		if cat == segments.CatField {
			continue
		}
		for _, op := range ops {
			if o := seen[cat+" "+op]; o == nil || !o.some || !o.notAll {
				weak = append(weak, cat+" "+op)
			}
		}
	}
	for _, d := range fixtureFields {
		for _, op := range fieldOpsFor(d.Type) {
			if o := seen["field:"+string(d.Type)+" "+op]; o == nil || !o.some || !o.notAll {
				weak = append(weak, "field:"+string(d.Type)+" "+op)
			}
		}
	}
	sort.Strings(weak)
	if len(weak) > 0 && !testing.Short() {
		t.Fatalf("never seen both matching and non-matching contacts for: %v", weak)
	}
	t.Logf("%d trees agreed (%d refused), %d category/operator pairs exercised", valid, refused, len(seen))
}
