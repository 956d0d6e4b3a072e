// Package demo fills an empty data dir with a believable workspace, so that a
// newcomer's first `pregon serve` shows a living product: staff accounts, a
// team, custom fields and a few hundred contacts from Latin America, India
// and the US with valid phones, tags, consent evidence and history.
package demo

import (
	crand "crypto/rand"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"

	"pregon/channels"
	"pregon/contacts"
	"pregon/events"
)

// Actor is how the event log names the demo's writes.
const Actor = "demo"

// Options tune a demo run. Zero values are the defaults.
type Options struct {
	Contacts int    // how many contacts; default 300
	Seed     uint64 // the same seed gives the same people; default 1
	// Now anchors the history (contacts created over the year before it);
	// zero means the current time.
	Now time.Time
}

// Account is a staff account the demo created.
type Account struct {
	Role, Name, Email, Password string
}

// Result says what the demo created.
type Result struct {
	Accounts  []Account
	Contacts  int
	ByCountry map[string]int
	Fields    int
	OptIns    int
	OptOuts   int
	Telegram  int
	Sandbox   bool // a Sandbox channel was created
	// Broadcast is the sample draft broadcast to the Sandbox channel.
	Broadcast string
}

// EmptyError refuses a data dir that already holds a workspace.
type EmptyError struct{ Users, Contacts, Fields int }

func (e *EmptyError) Error() string {
	return fmt.Sprintf("this data dir already holds a workspace (%d users, %d contacts, %d custom fields); "+
		"pregon demo only fills an empty one, and nothing was changed. Run it against a new directory, e.g. pregon demo --dir ./pb_demo",
		e.Users, e.Contacts, e.Fields)
}

// Run migrates app (PocketBase runs app migrations only for `serve`), checks
// the workspace is empty and fills it in one transaction: either the whole
// demo is written or nothing is. app must be bootstrapped and bound with
// hooks.Bind, so that every contact goes through the contact rules and the
// event log. reg decides whether a Sandbox channel can be created.
func Run(app core.App, reg *channels.Registry, opts Options) (Result, error) {
	if opts.Contacts <= 0 {
		opts.Contacts = 300
	}
	if opts.Seed == 0 {
		opts.Seed = 1
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now().UTC()
	}
	if err := app.RunAllMigrations(); err != nil {
		return Result{}, fmt.Errorf("applying migrations: %w", err)
	}
	if err := checkEmpty(app); err != nil {
		return Result{}, err
	}
	g := &generator{r: rand.New(rand.NewPCG(opts.Seed, 0x9e3779b97f4a7c15)), opts: opts,
		phones: map[string]bool{}, chats: map[string]bool{}, emails: map[string]bool{},
		res: Result{ByCountry: map[string]int{}}}
	err := app.RunInTransaction(func(tx core.App) error {
		if err := g.workspace(tx); err != nil {
			return err
		}
		if err := g.staff(tx); err != nil {
			return err
		}
		if err := g.fields(tx); err != nil {
			return err
		}
		if err := g.sandbox(tx, reg); err != nil {
			return err
		}
		for i := 0; i < opts.Contacts; i++ {
			if err := g.contact(tx, i); err != nil {
				return fmt.Errorf("demo contact %d: %w", i+1, err)
			}
		}
		return nil
	})
	if err != nil {
		return Result{}, err
	}
	return g.res, nil
}

func checkEmpty(app core.App) error {
	var e EmptyError
	err := app.DB().NewQuery(`SELECT (SELECT COUNT(*) FROM users) AS users, (SELECT COUNT(*) FROM contacts) AS contacts,
		(SELECT COUNT(*) FROM contact_fields) AS fields`).Row(&e.Users, &e.Contacts, &e.Fields)
	if err != nil {
		return fmt.Errorf("checking the workspace is empty: %w", err)
	}
	if e.Users+e.Contacts+e.Fields > 0 {
		return &e
	}
	return nil
}

type generator struct {
	r                     *rand.Rand
	opts                  Options
	res                   Result
	phones, chats, emails map[string]bool
	manager, agent        string
}

func (g *generator) pct(p int) bool { return g.r.IntN(100) < p }

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

func save(tx core.App, collection string, data map[string]any) (*core.Record, error) {
	col, err := tx.FindCollectionByNameOrId(collection)
	if err != nil {
		return nil, err
	}
	rec := core.NewRecord(col)
	rec.Load(data)
	if err := tx.Save(events.WithActor(rec, Actor)); err != nil {
		return nil, fmt.Errorf("creating %s %v: %w", collection, data["name"], err)
	}
	return rec, nil
}

func (g *generator) workspace(tx core.App) error {
	s, err := tx.FindFirstRecordByFilter("settings", "id != ''")
	if err != nil {
		return fmt.Errorf("reading the workspace settings: %w", err)
	}
	s.Set("workspace_name", "Tienda Demo")
	return tx.Save(s)
}

func (g *generator) staff(tx core.App) error {
	col, err := tx.FindCollectionByNameOrId("users")
	if err != nil {
		return err
	}
	ids := map[string]string{}
	for _, a := range []Account{
		{Role: "owner", Name: "Lucía Fernández", Email: "duena@tienda-demo.example"},
		{Role: "manager", Name: "Martín Rojas", Email: "gerente@tienda-demo.example"},
		{Role: "agent", Name: "Carla Núñez", Email: "agente@tienda-demo.example"},
	} {
		// Random, not seeded: a demo reachable on a network must not have a
		// password anyone can recompute from the seed.
		a.Password = crand.Text()[:16]
		u := core.NewRecord(col)
		u.SetEmail(a.Email)
		u.SetPassword(a.Password)
		u.SetVerified(true)
		u.Set("name", a.Name)
		u.Set("role", a.Role)
		if err := tx.Save(u); err != nil {
			return fmt.Errorf("creating the %s account: %w", a.Role, err)
		}
		ids[a.Role] = u.Id
		g.res.Accounts = append(g.res.Accounts, a)
	}
	g.manager, g.agent = ids["manager"], ids["agent"]
	_, err = save(tx, "teams", map[string]any{"name": "Ventas", "members": []string{g.manager, g.agent}})
	return err
}

func (g *generator) fields(tx core.App) error {
	for _, f := range []map[string]any{
		{"key": "city", "label": "Ciudad", "type": "list", "options": cityOptions()},
		{"key": "points", "label": "Puntos", "type": "number"},
		{"key": "birthday", "label": "Cumpleaños", "type": "date"},
		{"key": "vip", "label": "VIP", "type": "boolean"},
		{"key": "website", "label": "Sitio web", "type": "url"},
	} {
		if _, err := save(tx, "contact_fields", f); err != nil {
			return err
		}
		g.res.Fields++
	}
	return nil
}

func (g *generator) sandbox(tx core.App, reg *channels.Registry) error {
	if reg == nil {
		return nil
	}
	caps, ok := reg.Capabilities(channels.Sandbox)
	if !ok {
		return nil
	}
	ch, err := save(tx, "channels", map[string]any{"name": "Sandbox", "type": string(channels.Sandbox), "config": map[string]any{}})
	if err != nil {
		return err
	}
	g.res.Sandbox = true
	if !caps.Broadcasts || !caps.Supports(channels.ContentText) {
		return nil
	}
	return g.broadcast(tx, ch.Id)
}

func (g *generator) country() country {
	total := 0
	for _, c := range countries {
		total += c.weight
	}
	n := g.r.IntN(total)
	for _, c := range countries {
		if n < c.weight {
			return c
		}
		n -= c.weight
	}
	return countries[0]
}

// phone draws a valid, unused number in ct, in E.164.
func (g *generator) phone(c country, ct city) (string, error) {
	for try := 0; try < 200; try++ {
		var b strings.Builder
		b.WriteString(pick(g.r, ct.prefixes))
		for i := 0; i < ct.digits; i++ {
			d := g.r.IntN(10)
			if i == 0 && c.code == "US" {
				d = 2 + g.r.IntN(8) // exchanges start with 2-9
			}
			b.WriteByte(byte('0' + d))
		}
		p, err := contacts.NormalizePhone(b.String(), c.code)
		if err == nil && !g.phones[p] {
			g.phones[p] = true
			return p, nil
		}
	}
	return "", fmt.Errorf("could not draw a valid %s phone number for %s", c.code, ct.name)
}

var ascii = strings.NewReplacer("á", "a", "é", "e", "í", "i", "ó", "o", "ú", "u", "ñ", "n", "ü", "u",
	"Á", "a", "É", "e", "Í", "i", "Ó", "o", "Ú", "u", "Ñ", "n", " ", "")

func (g *generator) email(first, last string) string {
	local := strings.ToLower(ascii.Replace(strings.Fields(first)[0]) + "." + ascii.Replace(strings.Fields(last)[0]))
	for n := 0; ; n++ {
		e := local
		if n > 0 {
			e = fmt.Sprintf("%s%d", local, n+g.r.IntN(90))
		}
		e += "@" + pick(g.r, []string{"example.com", "example.net", "example.org"})
		if !g.emails[e] {
			g.emails[e] = true
			return e
		}
	}
}

func (g *generator) contact(tx core.App, i int) error {
	c := g.country()
	ct := pick(g.r, c.cities)
	nm, lang := c.names, c.language
	switch {
	case c.code == "US" && g.pct(20):
		nm, lang = spanish, "es"
	case c.code == "IN" && g.pct(30):
		lang = "hi"
	}
	first, last := pick(g.r, nm.first), pick(g.r, nm.last)
	phone, err := g.phone(c, ct)
	if err != nil {
		return err
	}
	// Created over the past year, in order, so the log and the dates agree.
	span := 365 * 24 * time.Hour
	step := span / time.Duration(g.opts.Contacts)
	created := g.opts.Now.Add(-span + time.Duration(i)*step + time.Duration(g.r.Int64N(int64(step))))

	var tags []string
	for _, t := range tagOdds {
		if g.pct(t.pct) {
			tags = append(tags, t.tag)
		}
	}
	if ct.name == "Lima" {
		tags = append(tags, "lima")
	}
	has := func(tag string) bool {
		for _, t := range tags {
			if t == tag {
				return true
			}
		}
		return false
	}
	vip := has("vip")
	fields := map[string]any{}
	if g.pct(90) {
		fields["city"] = ct.name
	}
	if g.pct(80) {
		fields["points"] = g.r.IntN(500) * 10
	}
	if g.pct(55) {
		fields["birthday"] = time.Date(1960+g.r.IntN(46), time.Month(1+g.r.IntN(12)), 1+g.r.IntN(28), 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
	}
	if vip || g.pct(50) {
		fields["vip"] = vip
	}
	if g.pct(6) || (has("mayorista") && g.pct(50)) {
		fields["website"] = "https://www." + strings.ToLower(ascii.Replace(last)) + "-" + strings.ToLower(c.code) + ".example"
	}
	data := map[string]any{
		"first_name": first, "last_name": last, "phone": phone, "country": c.code, "language": lang,
		"timezone": ct.tz, "tags": tags, "fields": fields,
	}
	if g.pct(70) {
		data["email"] = g.email(first, last)
	}
	switch n := g.r.IntN(100); {
	case n < 20:
		data["assignee"] = g.agent
	case n < 30:
		data["assignee"] = g.manager
	}
	rec, err := save(tx, "contacts", data)
	if err != nil {
		return err
	}
	g.res.Contacts++
	g.res.ByCountry[c.code]++

	if g.pct(6) {
		chat := fmt.Sprint(1_000_000_000 + g.r.Int64N(8_000_000_000))
		if !g.chats[chat] {
			g.chats[chat] = true
			if _, err := save(tx, "contact_identities", map[string]any{"contact": rec.Id, "kind": "telegram", "identifier": chat}); err != nil {
				return err
			}
			g.res.Telegram++
		}
	}
	if err := g.backdate(tx, rec.Id, created); err != nil {
		return err
	}

	// Consent decisions come after the contact was created.
	var consent contacts.Consent
	switch n := g.r.IntN(100); {
	case n < 35:
		consent = contacts.Consent{Status: contacts.ConsentOptedIn, Source: pick(g.r, optInSources), Wording: optInWording}
		g.res.OptIns++
	case n < 39:
		consent = contacts.Consent{Status: contacts.ConsentOptedOut, Source: optOutSource, Wording: optOutWording}
		g.res.OptOuts++
	default:
		return nil
	}
	consent.At = created.Add(time.Duration(g.r.Int64N(int64(g.opts.Now.Sub(created)))))
	if _, err := contacts.RecordConsent(tx, rec.Id, contacts.KindWhatsApp, consent, Actor); err != nil {
		return err
	}
	_, err = tx.DB().NewQuery(`UPDATE events SET created = {:at} WHERE contact = {:c} AND type = 'consent.changed'`).
		Bind(dbx.Params{"at": consent.At.UTC().Format("2006-01-02 15:04:05.000Z"), "c": rec.Id}).Execute()
	return err
}

// backdate spreads the demo's history over the past year: a contact, its
// identities and its events so far take the contact's creation time.
func (g *generator) backdate(tx core.App, contactID string, t time.Time) error {
	ts := t.UTC().Format("2006-01-02 15:04:05.000Z")
	for _, q := range []string{
		`UPDATE contacts SET created = {:t}, updated = {:t} WHERE id = {:c}`,
		`UPDATE contact_identities SET created = {:t}, updated = {:t} WHERE contact = {:c}`,
		`UPDATE events SET created = {:t} WHERE contact = {:c}`,
	} {
		if _, err := tx.DB().NewQuery(q).Bind(dbx.Params{"t": ts, "c": contactID}).Execute(); err != nil {
			return fmt.Errorf("dating the demo's history: %w", err)
		}
	}
	return nil
}
