// Package contactgen writes large, realistic, deterministic contact sets
// straight into SQLite with raw prepared inserts, for benchmarks: the same
// seed and count always give the same rows, so figures from different runs
// and machines compare like for like.
package contactgen

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// Now is the reference time the data is generated around: dates spread over
// the three years before it. Benchmarks fix their clock to it.
var Now = time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)

// Options describe one generated set.
type Options struct {
	Contacts int
	Seed     uint64
	// Batch is how many contacts go in one transaction (default 5,000).
	Batch int
	// ContactsOnly skips identities, to time contact inserts alone.
	ContactsOnly bool
}

// Channel ids the generator creates (fixed so conditions can name them).
const (
	ChannelWhatsApp = "chwhatsapp00001"
	ChannelTelegram = "chtelegram00001"
	ChannelSMS      = "chsmstwilio0001"
)

// Fields are the custom field definitions the generated contacts use.
var Fields = []struct {
	Key, Label, Type string
	Options          []string
}{
	{"city", "City", "text", nil},
	{"plan", "Plan", "list", []string{"Gold", "Silver", "Bronze"}},
	{"points", "Points", "number", nil},
	{"birthday", "Birthday", "date", nil},
	{"newsletter", "Newsletter", "boolean", nil},
	{"company", "Company", "text", nil},
}

// weighted tags: name and the share of contacts that carry it.
var commonTags = []struct {
	name  string
	share float64
}{
	{"cliente", 0.40}, {"lead", 0.30}, {"newsletter", 0.25}, {"app", 0.20},
	{"black-friday-2025", 0.15}, {"cdmx", 0.15}, {"webinar", 0.12}, {"lima", 0.10},
	{"inactivo", 0.10}, {"mayorista", 0.08}, {"bogotá", 0.08}, {"evento-2025", 0.07},
	{"vip", 0.05}, {"referido", 0.04}, {"reclamo", 0.03},
}

var cities = []string{
	"Lima", "Ciudad de México", "Bogotá", "Guadalajara", "Monterrey", "Medellín", "Arequipa", "Cali",
	"Puebla", "Buenos Aires", "Córdoba", "Rosario", "Trujillo", "Cusco", "Quito", "Guayaquil",
	"Santiago", "Valparaíso", "Mumbai", "Delhi", "Bengaluru", "Chennai", "Pune", "Hyderabad",
	"Tijuana", "León", "Querétaro", "Mérida", "Cancún", "Barranquilla", "Cartagena", "Piura",
	"Chiclayo", "Mendoza", "La Plata", "São Paulo", "Rio de Janeiro", "Miami", "Houston", "Madrid",
}

var firstNames = []string{
	"María", "José", "Juan", "Ana", "Luis", "Carmen", "Carlos", "Rosa", "Jorge", "Lucía",
	"Miguel", "Sofía", "Pedro", "Valentina", "Diego", "Camila", "Andrés", "Isabella", "Fernando", "Daniela",
	"Rahul", "Priya", "Amit", "Anjali", "Vikram", "Sneha", "Ravi", "Pooja", "John", "Emily",
}

var lastNames = []string{
	"García", "Rodríguez", "Martínez", "López", "González", "Pérez", "Sánchez", "Ramírez", "Torres", "Flores",
	"Rivera", "Gómez", "Díaz", "Reyes", "Morales", "Cruz", "Ortiz", "Gutiérrez", "Chávez", "Rojas",
	"Sharma", "Patel", "Singh", "Kumar", "Gupta", "Smith", "Quispe", "Mamani", "Huamán", "Vargas",
}

var countries = []struct {
	code, lang, tz, prefix string
	share                  float64
}{
	{"MX", "es", "America/Mexico_City", "+5255", 0.40},
	{"PE", "es", "America/Lima", "+519", 0.15},
	{"CO", "es", "America/Bogota", "+573", 0.15},
	{"AR", "es", "America/Argentina/Buenos_Aires", "+54911", 0.10},
	{"IN", "hi", "Asia/Kolkata", "+919", 0.10},
	{"US", "en", "America/New_York", "+1212", 0.10},
}

// Generate creates the fields, channels and opts.Contacts contacts with
// their identities in app's database, in batches of raw prepared inserts.
func Generate(app core.App, opts Options) error {
	if err := Setup(app); err != nil {
		return err
	}
	src := NewSource(opts.Seed)
	batch := opts.Batch
	if batch <= 0 {
		batch = 5000
	}
	for start := 0; start < opts.Contacts; start += batch {
		rows := src.Rows(start, min(batch, opts.Contacts-start))
		if err := Insert(app, rows, !opts.ContactsOnly); err != nil {
			return fmt.Errorf("generating contacts %d-%d: %w", start, start+len(rows), err)
		}
	}
	return nil
}

// Source makes contacts deterministically from a seed.
type Source struct {
	g *gen
}

// NewSource returns a Source for seed.
func NewSource(seed uint64) *Source {
	return &Source{g: &gen{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}}
}

// Rows makes contacts start..start+n-1 (call with increasing starts: the
// index is part of each phone number, the randomness comes in sequence).
func (s *Source) Rows(start, n int) []Row {
	out := make([]Row, n)
	for i := range out {
		out[i] = s.g.contact(start + i)
	}
	return out
}

// Insert writes rows in one transaction with prepared statements, the way
// the CSV importer writes contacts.
func Insert(app core.App, rows []Row, identities bool) error {
	return app.RunInTransaction(func(tx core.App) error {
		cq := tx.DB().NewQuery(`INSERT INTO contacts (id, first_name, last_name, email, phone, language, country,
			timezone, tags, fields, assignee, last_channel, last_inbound_at, last_outbound_at, created, updated)
			VALUES ({:id}, {:first}, {:last}, {:email}, {:phone}, {:lang}, {:country}, {:tz}, {:tags}, {:fields},
			'', {:last_channel}, {:last_in}, {:last_out}, {:created}, {:updated})`).Prepare()
		defer cq.Close()
		iq := tx.DB().NewQuery(`INSERT INTO contact_identities (id, contact, kind, identifier, from_phone, channel,
			last_inbound_at, consent, consent_at, consent_source, consent_wording, created, updated)
			VALUES ({:id}, {:contact}, {:kind}, {:identifier}, {:from_phone}, {:channel}, {:last_in}, {:consent},
			{:consent_at}, {:source}, '', {:created}, {:created})`).Prepare()
		defer iq.Close()
		// dbx's Query.Bind keeps the first map it is given and copies every
		// later one into it: hand it maps of its own, or the first row's map
		// would end up holding the last row's values.
		cq.Bind(dbx.Params{"id": nil})
		iq.Bind(dbx.Params{"id": nil})
		for _, r := range rows {
			if _, err := cq.Bind(r.Contact).Execute(); err != nil {
				return fmt.Errorf("contact %s: %w", r.Contact["id"], err)
			}
			if !identities {
				continue
			}
			for _, p := range r.Identities {
				if _, err := iq.Bind(p).Execute(); err != nil {
					return fmt.Errorf("identity of contact %s: %w", r.Contact["id"], err)
				}
			}
		}
		return nil
	})
}

// Setup creates the custom fields and channels the contacts refer to.
func Setup(app core.App) error {
	now := Now.Format("2006-01-02 15:04:05.000Z")
	for _, f := range Fields {
		opts, _ := json.Marshal(f.Options)
		if _, err := app.DB().NewQuery(`INSERT OR IGNORE INTO contact_fields (id, key, label, type, options, created, updated)
			VALUES ({:id}, {:key}, {:label}, {:type}, {:options}, {:now}, {:now})`).Bind(dbx.Params{
			"id": "cf" + fmt.Sprintf("%013s", f.Key), "key": f.Key, "label": f.Label, "type": f.Type,
			"options": string(opts), "now": now,
		}).Execute(); err != nil {
			return fmt.Errorf("creating custom field %s: %w", f.Key, err)
		}
	}
	for _, ch := range []struct{ id, name, typ string }{
		{ChannelWhatsApp, "WhatsApp ventas", "whatsapp_cloud"},
		{ChannelTelegram, "Telegram bot", "telegram"},
		{ChannelSMS, "SMS Twilio", "twilio_sms"},
	} {
		if _, err := app.DB().NewQuery(`INSERT OR IGNORE INTO channels (id, name, type, config, secrets, status, created, updated)
			VALUES ({:id}, {:name}, {:type}, '{}', '', 'active', {:now}, {:now})`).Bind(dbx.Params{
			"id": ch.id, "name": ch.name, "type": ch.typ, "now": now,
		}).Execute(); err != nil {
			return fmt.Errorf("creating channel %s: %w", ch.name, err)
		}
	}
	return nil
}

type gen struct {
	rng *rand.Rand
}

const idChars = "abcdefghijklmnopqrstuvwxyz0123456789"

func (g *gen) id() string {
	var b [15]byte
	for i := range b {
		b[i] = idChars[g.rng.IntN(len(idChars))]
	}
	return string(b[:])
}

func ts(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05.000Z") }

// ago returns a time up to maxDays before Now, biased towards recent when
// recent is true (activity), uniform otherwise (sign-ups).
func (g *gen) ago(maxDays float64, recent bool) time.Time {
	var days float64
	if recent {
		// Exponential with a 60-day mean, capped: most activity is recent.
		days = math.Min(g.rng.ExpFloat64()*60, maxDays)
	} else {
		days = g.rng.Float64() * maxDays
	}
	return Now.Add(-time.Duration(days * 24 * float64(time.Hour)))
}

func (g *gen) pick(items []string) string {
	// Zipf-like: earlier items are more common.
	i := int(math.Floor(math.Pow(g.rng.Float64(), 2.2) * float64(len(items))))
	return items[i]
}

// Row is one contact's insert parameters and its identities'.
type Row struct {
	Contact    dbx.Params
	Identities []dbx.Params
}

func (g *gen) contact(i int) Row {
	r := g.rng
	var co = countries[len(countries)-1]
	x := r.Float64()
	for _, c := range countries {
		if x < c.share {
			co = c
			break
		}
		x -= c.share
	}
	first, last := g.pick(firstNames), g.pick(lastNames)
	id := g.id()
	// Unique by construction: the contact's index is part of the subscriber number.
	phone := fmt.Sprintf("%s%08d", co.prefix, i)
	email := ""
	if r.Float64() < 0.6 {
		email = fmt.Sprintf("%s.%s%d@example.com", asciiLower(first), asciiLower(last), i)
	}
	lang := co.lang
	if r.Float64() < 0.1 {
		lang = []string{"en", "es", "pt-BR"}[r.IntN(3)]
	}

	var tags []string
	for _, t := range commonTags {
		if r.Float64() < t.share {
			tags = append(tags, t.name)
		}
	}
	if r.Float64() < 0.3 { // a long tail of one-off campaign tags
		tags = append(tags, fmt.Sprintf("campaña-%03d", r.IntN(300)))
	}
	if tags == nil {
		tags = []string{}
	}
	tagsJSON, _ := json.Marshal(tags)

	fields := map[string]any{}
	if r.Float64() < 0.85 {
		fields["city"] = g.pick(cities)
	}
	if r.Float64() < 0.6 {
		fields["plan"] = []string{"Bronze", "Bronze", "Bronze", "Silver", "Silver", "Gold"}[r.IntN(6)]
	}
	if r.Float64() < 0.5 {
		fields["points"] = float64(r.IntN(5000))
	}
	if r.Float64() < 0.3 {
		fields["birthday"] = time.Date(1950+r.IntN(55), time.Month(1+r.IntN(12)), 1+r.IntN(28), 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
	}
	if r.Float64() < 0.7 {
		fields["newsletter"] = r.Float64() < 0.6
	}
	if r.Float64() < 0.2 {
		fields["company"] = g.pick(lastNames) + " " + []string{"S.A.", "SAC", "S.A. de C.V.", "Ltda.", "Pvt Ltd"}[r.IntN(5)]
	}
	fieldsJSON, _ := json.Marshal(fields)

	created := g.ago(3*365, false)
	updated := created.Add(time.Duration(r.Float64() * float64(Now.Sub(created))))
	lastIn, lastOut, lastChannel := "", "", ""
	waIn := ""
	if r.Float64() < 0.45 {
		t := g.ago(Now.Sub(created).Hours()/24, true)
		lastIn = ts(t)
		lastChannel = ChannelWhatsApp
		switch y := r.Float64(); {
		case y < 0.15:
			lastChannel = ChannelTelegram
		case y < 0.25:
			lastChannel = ChannelSMS
		default:
			waIn = lastIn
		}
	}
	if r.Float64() < 0.55 {
		lastOut = ts(g.ago(Now.Sub(created).Hours()/24, true))
	}

	createdS := ts(created)
	ids := []dbx.Params{g.identity(id, "whatsapp", phone, true, waIn, ChannelWhatsApp, createdS)}
	if lastChannel == ChannelTelegram {
		ids = append(ids, g.identity(id, "telegram", fmt.Sprintf("%d", 100000000+i), false, lastIn, ChannelTelegram, createdS))
	}
	if r.Float64() < 0.3 || lastChannel == ChannelSMS {
		in := ""
		if lastChannel == ChannelSMS {
			in = lastIn
		}
		ids = append(ids, g.identity(id, "sms", phone, true, in, ChannelSMS, createdS))
	}
	return Row{
		Contact: dbx.Params{
			"id": id, "first": first, "last": last, "email": email, "phone": phone, "lang": lang,
			"country": co.code, "tz": co.tz, "tags": string(tagsJSON), "fields": string(fieldsJSON),
			"last_channel": lastChannel, "last_in": lastIn, "last_out": lastOut,
			"created": createdS, "updated": ts(updated),
		},
		Identities: ids,
	}
}

func (g *gen) identity(contact, kind, identifier string, fromPhone bool, lastIn, channel, created string) dbx.Params {
	consent, consentAt, source := "", "", ""
	switch x := g.rng.Float64(); {
	case x < 0.03:
		consent, consentAt, source = "opted_out", created, "keyword STOP"
	case x < 0.35:
		consent, consentAt, source = "opted_in", created, "import"
	}
	if lastIn == "" {
		channel = ""
	}
	return dbx.Params{
		"id": g.id(), "contact": contact, "kind": kind, "identifier": identifier, "from_phone": fromPhone,
		"channel": channel, "last_in": lastIn, "consent": consent, "consent_at": consentAt, "source": source,
		"created": created,
	}
}

func asciiLower(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'A' && r <= 'Z':
			b.WriteRune(r + 32)
		case r >= 'a' && r <= 'z':
			b.WriteRune(r)
		}
	}
	return b.String()
}
