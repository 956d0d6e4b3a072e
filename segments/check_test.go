package segments_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"pregon/contacts"
	"pregon/segments"
)

func testSchema() *segments.Schema {
	s := &segments.Schema{Fields: contacts.FieldDefs{}, Channels: map[string]string{}, Broadcasts: map[string]bool{},
		Region: "MX", Location: time.UTC}
	for _, f := range fixtureFields {
		s.Fields[f.Key] = f
	}
	for i, id := range fixtureChannels {
		s.Channels[id] = fixtureChanTypes[i]
	}
	for _, id := range fixtureBroadcasts {
		s.Broadcasts[id] = true
	}
	return s
}

func TestCheckRefusesBadConditionsNamingThem(t *testing.T) {
	cases := []struct{ json, want string }{
		{`{"groups":[{"conditions":[{"category":"tag","operator":"has_any","value":["vip"]},{"category":"field","field":"ciudad","operator":"is","value":"Lima"}]}]}`,
			`group 1, condition 2 (field "ciudad"): there is no custom field "ciudad"; known fields: birthday, city, mobile, newsletter, plan, points, site, work_email`},
		{`{"groups":[{"conditions":[{"category":"field","field":"city","operator":"gt","value":"Lima"}]}]}`,
			`group 1, condition 1 (field "city"): operator "gt" is not valid for a text field; use one of: is, is_not, has_any, has_none, contains, starts_with, exists, not_exists`},
		{`{"groups":[{"conditions":[{"category":"field","field":"points","operator":"gt","value":"mucho"}]}]}`,
			`custom field "points" (number): "mucho" is not a number`},
		{`{"groups":[{"conditions":[{"category":"field","field":"plan","operator":"is","value":"Platinum"}]}]}`,
			`"Platinum" is not one of the options: Gold, Silver, Bronze`},
		{`{"groups":[{"conditions":[{"category":"field","field":"birthday","operator":"before","value":"ayer"}]}]}`,
			`"ayer" is not a date`},
		{`{"groups":[{"conditions":[{"category":"field","field":"newsletter","operator":"is","value":"maybe"}]}]}`,
			`is not yes/no`},
		{`{"groups":[{"conditions":[{"category":"tag","operator":"has_any","value":"vip"}]}]}`,
			`group 1, condition 1 (tag): operator has_any takes a list of values, e.g. ["a","b"]`},
		{`{"groups":[{"conditions":[{"category":"tag","operator":"has_any","value":[]}]}]}`,
			`needs at least one value`},
		{`{"groups":[{"conditions":[{"category":"tag","operator":"exists","value":"vip"}]}]}`,
			`operator exists takes no value`},
		{`{"groups":[{"conditions":[{"category":"tag","operator":"is","value":"a,b"}]}]}`,
			`contains a comma`},
		{`{"groups":[{"conditions":[{"category":"colour","operator":"is","value":"red"}]}]}`,
			`unknown category "colour"; use one of: broadcast_failed,`},
		{`{"groups":[{"conditions":[{"category":"conversation_status","operator":"is","value":"open"}]}]}`,
			`group 1, condition 1 (conversation_status): conversation conditions are not available yet`},
		{`{"groups":[{"conditions":[{"category":"journey_entered","operator":"is","value":"x"}]}]}`,
			`journey conditions are not available yet`},
		{`{"groups":[{"conditions":[{"category":"created","operator":"within_last_days","value":2.5}]}]}`,
			`takes a whole number of days from 1 to 36500`},
		{`{"groups":[{"conditions":[{"category":"created","operator":"is","value":"2026-01-01"}]}]}`,
			`operator "is" is not valid for category created; use one of: before, after, within_last_days, more_than_days_ago`},
		{`{"groups":[{"conditions":[{"category":"identity","operator":"has_any","value":["carrier-pigeon"]}]}]}`,
			`"carrier-pigeon" is neither a channel family`},
		{`{"groups":[{"conditions":[{"category":"last_channel","operator":"is","value":"nochannel000001"}]}]}`,
			`"nochannel000001" is neither a channel type`},
		{`{"groups":[{"conditions":[{"category":"consent","operator":"is","value":"maybe"}]}]}`,
			`consent "maybe" is not a consent state; use one of: opted_in, opted_out, unset`},
		{`{"groups":[{"conditions":[{"category":"consent","kind":"fax","operator":"is","value":"opted_in"}]}]}`,
			`kind "fax" is not a channel family`},
		{`{"groups":[{"conditions":[{"category":"tag","kind":"sms","operator":"is","value":"vip"}]}]}`,
			`"kind" applies only to category "consent"`},
		{`{"groups":[{"conditions":[{"category":"broadcast_received","operator":"is","value":"bcastmissing001"}]}]}`,
			`there is no broadcast "bcastmissing001"`},
		{`{"groups":[{"conditions":[{"category":"country","operator":"is","value":"Peru"}]}]}`,
			`country "Peru" is not a two-letter country code`},
		{`{"groups":[{"conditions":[{"category":"language","operator":"is","value":"espanol!"}]}]}`,
			`is not a language code`},
		{`{"groups":[{"conditions":[]}]}`, `group 1: the group has no conditions`},
		{`{"groups":[{"conditions":[{"category":"tag","operater":"is","value":"vip"}]}]}`,
			`unknown field "operater"`},
		{`{"groups":[{"conditions":[{"category":"tag","value":"vip"}]}]}`, `operator is missing`},
		{`[1,2]`, `conditions must be JSON like`},
		{`{"groups":[{"conditions":[{"category":"tag","operator":"is","value":"x\u0000y"}]}]}`, `contains a NUL character`},
	}
	s := testSchema()
	for _, c := range cases {
		tree, err := segments.Parse([]byte(c.json))
		if err == nil {
			_, err = segments.Check(s, tree)
		}
		var ce *segments.Error
		if err == nil || !errors.As(err, &ce) {
			t.Errorf("%s: got %v, want a *segments.Error containing %q", c.json, err, c.want)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s:\n got  %s\n want %s", c.json, err, c.want)
		}
	}
}

func TestValuesAreBoundNeverSpliced(t *testing.T) {
	s := testSchema()
	for _, h := range hostile {
		if strings.TrimSpace(h) == "" || strings.ContainsAny(h, ",;|") {
			continue
		}
		tree := segments.Tree{Groups: []segments.Group{{Conditions: []segments.Condition{
			{Category: "field", Field: "city", Operator: "contains", Value: mustJSON(h)},
			{Category: "field", Field: "city", Operator: "has_any", Value: mustJSON([]string{h})},
			{Category: "tag", Operator: "has_any", Value: mustJSON([]string{h})},
		}}}}
		where, params, err := segments.Compile(s, tree, fixtureNow)
		if err != nil {
			t.Fatalf("%q: %v", h, err)
		}
		if len(params) == 0 {
			t.Fatalf("%q: no parameters bound", h)
		}
		for _, frag := range []string{h, strings.ToLower(h)} {
			if len(frag) > 2 && strings.Contains(where, frag) {
				t.Errorf("value %q appears in the SQL text: %s", h, where)
			}
		}
	}
}

func TestConditionValuesUseContactCanonicalForms(t *testing.T) {
	s := testSchema()
	fx := newFixture(t, 0, 1)
	insert := func(id, fields, tags string) {
		if _, err := fx.app.DB().NewQuery(`INSERT INTO contacts (id, fields, tags, created, updated)
			VALUES ({:id}, {:f}, {:t}, '2026-01-01 00:00:00.000Z', '2026-01-01 00:00:00.000Z')`).
			Bind(map[string]any{"id": id, "f": fields, "t": tags}).Execute(); err != nil {
			t.Fatal(err)
		}
	}
	insert("canon000000001a", `{"plan":"Gold","points":12.5,"birthday":"1990-03-31","city":"Lima","mobile":"+525512345678"}`, `["vip","black friday"]`)
	insert("canon000000002a", `{"plan":"Silver","points":3,"city":"Cusco"}`, `["lead"]`)
	count := func(cond string) int {
		tree, err := segments.Parse([]byte(`{"groups":[{"conditions":[` + cond + `]}]}`))
		if err != nil {
			t.Fatal(err)
		}
		p, err := segments.Check(s, tree)
		if err != nil {
			t.Fatalf("%s: %v", cond, err)
		}
		n, err := segments.Count(fx.app, p, fixtureNow)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	for cond, want := range map[string]int{
		`{"category":"field","field":"plan","operator":"is","value":"gold"}`:                   1, // list option casing
		`{"category":"field","field":"points","operator":"is","value":"12,5"}`:                 1, // decimal comma
		`{"category":"field","field":"birthday","operator":"is","value":"31/03/1990"}`:         1, // day-first date
		`{"category":"field","field":"city","operator":"is","value":" LIMA "}`:                 1, // trimmed, ASCII case
		`{"category":"field","field":"mobile","operator":"is","value":"55 1234 5678"}`:         1, // workspace region
		`{"category":"tag","operator":"has_any","value":["  Black   Friday "]}`:                1, // NormalizeTag
		`{"category":"tag","operator":"has_none","value":["vip"]}`:                             1,
		`{"category":"field","field":"points","operator":"gte","value":3}`:                     2,
		`{"category":"field","field":"city","operator":"is_not","value":"lima"}`:               1,
		`{"category":"field","field":"birthday","operator":"not_exists"}`:                      1,
		`{"category":"field","field":"city","operator":"starts_with","value":"cus"}`:           1,
		`{"category":"field","field":"plan","operator":"has_any","value":["SILVER","bronze"]}`: 1,
	} {
		if got := count(cond); got != want {
			t.Errorf("%s: %d contacts, want %d", cond, got, want)
		}
	}
}
