package segments_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"

	"pregon/contacts"
	"pregon/internal/testapp"
	"pregon/segments"
)

// The fixture: a real migrated app holding contacts written with raw SQL
// (as the importer writes them), including values no validated write would
// store: wrong JSON types, invalid JSON, case variants, hostile strings.

var fixtureNow = time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)

var fixtureFields = []contacts.FieldDef{
	{Key: "city", Label: "City", Type: contacts.FieldText},
	{Key: "plan", Label: "Plan", Type: contacts.FieldList, Options: []string{"Gold", "Silver", "Bronze"}},
	{Key: "points", Label: "Points", Type: contacts.FieldNumber},
	{Key: "birthday", Label: "Birthday", Type: contacts.FieldDate},
	{Key: "newsletter", Label: "Newsletter", Type: contacts.FieldBoolean},
	{Key: "work_email", Label: "Work e-mail", Type: contacts.FieldEmail},
	{Key: "site", Label: "Site", Type: contacts.FieldURL},
	{Key: "mobile", Label: "Mobile", Type: contacts.FieldPhone},
}

var (
	fixtureChannels   = []string{"chanwhatsapp001", "chantelegram001", "chansmstwilio01"}
	fixtureChanTypes  = []string{"whatsapp_cloud", "telegram", "twilio_sms"}
	fixtureBroadcasts = []string{"bcastblackfri01", "bcastnewyear001", "bcastwebinar001"}
)

// hostile strings: SQL and LIKE metacharacters, quotes, JSON escapes, case
// variants and non-ASCII text.
var hostile = []string{
	"vip", "VIP", "Vip", "lima", "Lima", "LIMA", "o'brien", "50%", "a_b", `"quoted"`, `back\slash`, "r&d", "<b>",
	"ñandú", "ÑANDÚ", "café", "日本", "emoji😀", "x' OR 1=1 --", "'); DROP TABLE contacts; --", "%_%", "\\%",
	"tab\there", "line\nbreak", "[]", "{}", "null", "true", "0", "12,5", "ı", "İstanbul", "ß", "\u2028sep",
}

var tagPool = append([]string{"vip", "lead", "cliente", "black friday", "campaña-001", "o'brien", "50%", "a_b",
	`say "hi"`, `back\slash`, "r&d", "<b>", "日本", "x' or 1=1 --", "ñandú"}, "Vip", "LEAD")

var textPool = append([]string{"Lima", "lima", "Cusco", "Ciudad de México", "Bogotá", "BOGOTÁ", "lim", "ma"}, hostile...)

type fixture struct {
	app      core.App
	schema   *segments.Schema
	contacts map[string]*segments.Contact
	ids      []string
}

func newFixture(t testing.TB, n int, seed uint64) *fixture {
	t.Helper()
	app, _ := testapp.New(t)
	r := rand.New(rand.NewPCG(seed, seed+1))
	exec := func(q string, p dbx.Params) {
		t.Helper()
		if _, err := app.DB().NewQuery(q).Bind(p).Execute(); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	now := fixtureNow.Format("2006-01-02 15:04:05.000Z")
	for _, f := range fixtureFields {
		opts, _ := json.Marshal(f.Options)
		exec(`INSERT INTO contact_fields (id, key, label, type, options, created, updated)
			VALUES ({:id}, {:key}, {:label}, {:type}, {:opts}, {:now}, {:now})`,
			dbx.Params{"id": fmt.Sprintf("%015s", f.Key), "key": f.Key, "label": f.Label, "type": string(f.Type), "opts": string(opts), "now": now})
	}
	for i, id := range fixtureChannels {
		exec(`INSERT INTO channels (id, name, type, config, secrets, status, created, updated)
			VALUES ({:id}, {:name}, {:type}, '{}', '', 'active', {:now}, {:now})`,
			dbx.Params{"id": id, "name": "Channel " + id, "type": fixtureChanTypes[i], "now": now})
	}
	for _, id := range fixtureBroadcasts {
		exec(`INSERT INTO broadcasts (id, name, status, created, updated) VALUES ({:id}, {:id}, 'completed', {:now}, {:now})`,
			dbx.Params{"id": id, "now": now})
	}

	cq := app.DB().NewQuery(`INSERT INTO contacts (id, first_name, tags, fields, language, country, last_channel,
		last_inbound_at, last_outbound_at, created, updated)
		VALUES ({:id}, {:name}, {:tags}, {:fields}, {:lang}, {:country}, {:lc}, {:li}, {:lo}, {:created}, {:updated})`).Prepare()
	defer cq.Close()
	iq := app.DB().NewQuery(`INSERT INTO contact_identities (id, contact, kind, identifier, channel, consent, created, updated)
		VALUES ({:id}, {:contact}, {:kind}, {:ident}, {:channel}, {:consent}, {:now}, {:now})`).Prepare()
	defer iq.Close()
	mq := app.DB().NewQuery(`INSERT INTO messages (id, direction, contact, status, source, source_id, created, updated)
		VALUES ({:id}, 'out', {:contact}, {:status}, {:source}, {:sid}, {:now}, {:now})`).Prepare()
	defer mq.Close()
	eq := app.DB().NewQuery(`INSERT INTO events (id, type, contact, subject, payload, actor, created)
		VALUES ({:id}, {:type}, {:contact}, {:subject}, 'null', 'system', {:now})`).Prepare()
	defer eq.Close()

	fx := &fixture{app: app}
	seq := 0
	nextID := func(prefix string) string {
		seq++
		return fmt.Sprintf("%s%011d", prefix, seq)
	}
	for i := 0; i < n; i++ {
		id := nextID("ct")
		fx.ids = append(fx.ids, id)
		p := dbx.Params{
			"id": id, "name": pick(r, hostile), "tags": randomTags(r), "fields": randomFields(r),
			"lang":    pick(r, []string{"es", "ES", "es-MX", "es-mx", "en", "pt-BR", "", "hi", "est"}),
			"country": pick(r, []string{"MX", "mx", "PE", "", "IN", "CO"}),
			"lc":      pick(r, append([]string{"", "gonechannel0001"}, fixtureChannels...)),
			"li":      randomTime(r, true), "lo": randomTime(r, true), "created": randomTime(r, false), "updated": randomTime(r, false),
		}
		if _, err := cq.Bind(p).Execute(); err != nil {
			t.Fatal(err)
		}
		kinds := []string{"whatsapp", "sms", "telegram", "email", "webchat"}
		for k := r.IntN(4); k > 0; k-- {
			if _, err := iq.Bind(dbx.Params{
				"id": nextID("id"), "contact": id, "kind": pick(r, kinds), "ident": fmt.Sprintf("%d-%d", i, k),
				"channel": pick(r, append([]string{""}, fixtureChannels...)),
				"consent": pick(r, []string{"", "", "opted_in", "opted_out"}), "now": now,
			}).Execute(); err != nil {
				t.Fatal(err)
			}
		}
		for k := r.IntN(4); k > 0; k-- {
			if _, err := mq.Bind(dbx.Params{
				"id": nextID("ms"), "contact": id, "status": pick(r, []string{"queued", "sent", "delivered", "read", "failed", "unknown"}),
				"source": pick(r, []string{"broadcast", "broadcast", "agent"}), "sid": pick(r, fixtureBroadcasts), "now": now,
			}).Execute(); err != nil {
				t.Fatal(err)
			}
		}
		if r.IntN(4) == 0 {
			if _, err := eq.Bind(dbx.Params{"id": nextID("ev"), "type": pick(r, []string{"broadcast.replied", "message.received"}),
				"contact": id, "subject": pick(r, fixtureBroadcasts), "now": now}).Execute(); err != nil {
				t.Fatal(err)
			}
		}
	}
	loc, _ := time.LoadLocation("America/Mexico_City")
	fx.schema = &segments.Schema{Fields: contacts.FieldDefs{}, Channels: map[string]string{}, Broadcasts: map[string]bool{},
		Region: "MX", Location: loc}
	for _, f := range fixtureFields {
		fx.schema.Fields[f.Key] = f
	}
	for i, id := range fixtureChannels {
		fx.schema.Channels[id] = fixtureChanTypes[i]
	}
	for _, id := range fixtureBroadcasts {
		fx.schema.Broadcasts[id] = true
	}
	var err error
	if fx.contacts, err = segments.LoadContacts(app, fx.ids); err != nil {
		t.Fatal(err)
	}
	return fx
}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

func randomTime(r *rand.Rand, mayBeEmpty bool) string {
	if mayBeEmpty && r.IntN(3) == 0 {
		return ""
	}
	if r.IntN(6) == 0 { // exactly on a boundary the conditions use
		return pick(r, []time.Time{
			fixtureNow.AddDate(0, 0, -1), fixtureNow.AddDate(0, 0, -7), fixtureNow.AddDate(0, 0, -30),
			time.Date(2025, 12, 1, 6, 0, 0, 0, time.UTC), time.Date(2026, 1, 10, 8, 0, 0, 0, time.UTC),
			time.Date(2025, 12, 2, 6, 0, 0, 0, time.UTC), time.Date(2025, 11, 20, 16, 30, 0, 0, time.UTC),
		}).Format("2006-01-02 15:04:05.000Z")
	}
	d := time.Duration(r.Int64N(int64(500*24*time.Hour))) - 50*24*time.Hour
	return fixtureNow.Add(-d).Format("2006-01-02 15:04:05.000Z")
}

// randomTags is a tags column value: mostly JSON arrays of tags (some with
// non-string elements), sometimes not an array or not JSON at all.
func randomTags(r *rand.Rand) any {
	switch r.IntN(12) {
	case 0:
		return nil
	case 1:
		return pick(r, []string{"", "not json", `{"a":"vip"}`, `"vip"`, `[1,"vip",null]`, `["vip"`, `[]`, `{}`})
	}
	var tags []any
	for k := r.IntN(4); k > 0; k-- {
		tags = append(tags, pick(r, tagPool))
	}
	if tags == nil {
		tags = []any{}
	}
	b, _ := json.Marshal(tags)
	return string(b)
}

// randomFields is a fields column value with right- and wrong-typed values.
func randomFields(r *rand.Rand) any {
	switch r.IntN(15) {
	case 0:
		return nil
	case 1:
		return pick(r, []string{"", "garbage", "[]", `{"city":"Lima","city":"Cusco"}`, `{"points":1e400}`, `{"city":`, "null"})
	}
	f := map[string]any{}
	for _, d := range fixtureFields {
		if r.IntN(3) == 0 {
			continue
		}
		var v any
		switch r.IntN(8) {
		case 0:
			v = pick(r, []any{float64(r.IntN(100)), true, false, nil, []any{"Lima"}, map[string]any{"a": 1}, "", pick(r, hostile)})
		default:
			v = typedValue(r, d)
		}
		f[d.Key] = v
	}
	b, _ := json.Marshal(f)
	return string(b)
}

func typedValue(r *rand.Rand, d contacts.FieldDef) any {
	switch d.Type {
	case contacts.FieldNumber:
		return pick(r, []float64{0, 1, 5, 12.5, 99, 100, 101, -3, 1e9})
	case contacts.FieldBoolean:
		return r.IntN(2) == 0
	case contacts.FieldDate:
		if r.IntN(4) == 0 {
			return pick(r, []string{"2025-12-01", "2026-01-15", "2026-01-14", "2026-01-08", "2025-12-16", "2025-12-15", "2025-06-30"})
		}
		return fixtureNow.AddDate(0, 0, -r.IntN(400)+20).Format(time.DateOnly)
	case contacts.FieldList:
		return pick(r, []string{"Gold", "Silver", "Bronze", "gold", "GOLD"})
	case contacts.FieldEmail:
		return pick(r, []string{"ana@tienda.mx", "ANA@tienda.mx", "luis@example.com", "o'brien@example.com"})
	case contacts.FieldURL:
		return pick(r, []string{"https://tienda.mx/a", "https://Tienda.mx/A", "http://example.com/50%"})
	case contacts.FieldPhone:
		return pick(r, []string{"+525512345678", "+51987654321", "+14155550100"})
	}
	return pick(r, textPool)
}

// randomCondition returns a condition built from the pools: most are valid,
// some are not (wrong values), which Check must refuse with an *Error.
func randomCondition(r *rand.Rand) segments.Condition {
	cats := append(segments.Categories(), segments.CatField, segments.CatField, segments.CatTag)
	c := segments.Condition{Category: pick(r, cats)}
	ops := opsFor(c.Category)
	if c.Category == segments.CatField {
		d := pick(r, fixtureFields)
		c.Field = d.Key
		ops = fieldOpsFor(d.Type)
	}
	c.Operator = pick(r, ops)
	if c.Category == segments.CatConsent && r.IntN(2) == 0 {
		c.Kind = pick(r, []string{"whatsapp", "sms", "telegram"})
	}
	c.Value = randomValue(r, c)
	return c
}

func opsFor(cat string) []string {
	switch cat {
	case segments.CatTag, segments.CatIdentity:
		return []string{"is", "is_not", "has_any", "has_all", "has_none", "exists", "not_exists"}
	case segments.CatLastChannel, segments.CatCountry:
		return []string{"is", "is_not", "has_any", "has_none", "exists", "not_exists"}
	case segments.CatLanguage:
		return []string{"is", "is_not", "has_any", "has_none", "starts_with", "exists", "not_exists"}
	case segments.CatConsent:
		return []string{"is", "is_not", "has_any", "has_none"}
	case segments.CatCreated, segments.CatUpdated:
		return []string{"before", "after", "within_last_days", "more_than_days_ago"}
	case segments.CatLastInbound, segments.CatLastOutbound:
		return []string{"before", "after", "within_last_days", "more_than_days_ago", "exists", "not_exists"}
	}
	return []string{"is", "is_not", "has_any", "has_all", "has_none"} // broadcasts
}

func fieldOpsFor(t contacts.FieldType) []string {
	switch t {
	case contacts.FieldNumber:
		return []string{"is", "is_not", "gt", "gte", "lt", "lte", "exists", "not_exists"}
	case contacts.FieldDate:
		return []string{"is", "is_not", "before", "after", "within_last_days", "more_than_days_ago", "exists", "not_exists"}
	case contacts.FieldBoolean:
		return []string{"is", "is_not", "exists", "not_exists"}
	case contacts.FieldList:
		return []string{"is", "is_not", "has_any", "has_none", "exists", "not_exists"}
	}
	return []string{"is", "is_not", "has_any", "has_none", "contains", "starts_with", "exists", "not_exists"}
}

func randomValue(r *rand.Rand, c segments.Condition) json.RawMessage {
	var pool []any
	switch c.Category {
	case segments.CatTag:
		pool = toAny(tagPool)
	case segments.CatIdentity:
		pool = toAny(append([]string{"whatsapp", "sms", "telegram", "email", "webchat"}, fixtureChannels...))
	case segments.CatLastChannel:
		pool = toAny(append(append([]string{}, fixtureChannels...), fixtureChanTypes...))
	case segments.CatConsent:
		pool = toAny([]string{"opted_in", "opted_out", "unset"})
	case segments.CatLanguage:
		pool = toAny([]string{"es", "ES", "es-MX", "en", "pt-BR", "hi", "e"})
	case segments.CatCountry:
		pool = toAny([]string{"MX", "pe", "IN", "CO"})
	case segments.CatField:
		for _, d := range fixtureFields {
			if d.Key == c.Field {
				for k := 0; k < 6; k++ {
					pool = append(pool, typedValue(r, d))
				}
				if d.Type == contacts.FieldNumber {
					pool = append(pool, "12,5", "100")
				}
				if d.Type == contacts.FieldText {
					pool = append(pool, toAny(hostile)...)
				}
			}
		}
	default:
		pool = toAny(fixtureBroadcasts)
	}
	switch c.Operator {
	case "exists", "not_exists":
		return nil
	case "within_last_days", "more_than_days_ago":
		return mustJSON(pick(r, []int{1, 7, 30, 90, 365}))
	case "before", "after":
		if c.Category == segments.CatField {
			return mustJSON(pick(r, []string{"2025-12-01", "15/01/2026", "2025-06-30"}))
		}
		return mustJSON(pick(r, []string{"2025-12-01", "2026-01-10T08:00:00Z", "31/12/2025", "2025-11-20 10:30"}))
	case "has_any", "has_all", "has_none":
		var list []any
		for k := 1 + r.IntN(3); k > 0; k-- {
			list = append(list, pick(r, pool))
		}
		return mustJSON(list)
	case "contains", "starts_with":
		s := fmt.Sprint(pick(r, pool))
		if len(s) > 3 && r.IntN(2) == 0 {
			s = strings.ToUpper(s[:3])
		}
		return mustJSON(s)
	}
	return mustJSON(pick(r, pool))
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// agree runs plan p's SQL over every fixture contact and compares each
// answer with the evaluator's; it returns how many matched.
func (fx *fixture) agree(t testing.TB, p *segments.Plan, label string) int {
	t.Helper()
	where, params := p.SQL(fixtureNow)
	var rows []struct {
		ID string `db:"id"`
		M  int    `db:"m"`
	}
	if err := fx.app.DB().NewQuery("SELECT c.id AS id, COALESCE((" + where + "), 0) AS m FROM contacts c").
		Bind(params).All(&rows); err != nil {
		t.Fatalf("%s: SQL failed: %v\n%s", label, err, where)
	}
	if len(rows) != len(fx.ids) {
		t.Fatalf("%s: %d rows, want %d", label, len(rows), len(fx.ids))
	}
	n := 0
	for _, row := range rows {
		want := p.Match(fx.contacts[row.ID], fixtureNow)
		if want != (row.M == 1) {
			b, _ := json.Marshal(fx.contacts[row.ID])
			t.Fatalf("%s: contact %s: SQL says %v, evaluator %v\ncontact: %s\nwhere: %s\nparams: %v", label, row.ID, row.M == 1, want, b, where, params)
		}
		if want {
			n++
		}
	}
	return n
}
