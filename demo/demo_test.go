package demo_test

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/pocketbase/pocketbase/core"

	"pregon/channels"
	"pregon/contacts"
	"pregon/demo"
	"pregon/hooks"
	_ "pregon/pb_migrations"
	"pregon/secretbox"
)

// newApp bootstraps a real app on an empty data dir, as `pregon demo`
// gets it: system migrations only, the app's own not yet applied.
func newApp(t *testing.T, reg *channels.Registry) core.App {
	t.Helper()
	app := core.NewBaseApp(core.BaseAppConfig{DataDir: t.TempDir()})
	box, err := secretbox.New("demo-test-secret-key-0123456789ab")
	if err != nil {
		t.Fatal(err)
	}
	hooks.Bind(app, hooks.Options{Box: box, Registry: reg})
	if err := app.Bootstrap(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.ResetBootstrapState() })
	return app
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

func TestDemoFillsAnEmptyWorkspaceWithValidData(t *testing.T) {
	app := newApp(t, hooks.DefaultRegistry())
	res, err := demo.Run(app, hooks.DefaultRegistry(), demo.Options{Contacts: 120, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, tbl := range []string{"users", "teams", "contact_fields", "contacts", "channels"} {
		var n int
		if err := app.DB().NewQuery("SELECT COUNT(*) FROM " + tbl).Row(&n); err != nil {
			t.Fatal(err)
		}
		counts[tbl] = n
	}
	// The built-in registry has the sandbox channel type, so the demo adds one.
	if counts["users"] != 3 || counts["teams"] != 1 || counts["contact_fields"] != 5 || counts["contacts"] != 120 || counts["channels"] != 1 {
		t.Fatalf("counts = %v", counts)
	}
	if !res.Sandbox || len(res.Accounts) != 3 || res.Contacts != 120 || len(res.ByCountry) < 5 {
		t.Fatalf("result = %+v", res)
	}
	// The sample draft broadcast to the sandbox, ready to preview and send.
	b, err := app.FindFirstRecordByData("broadcasts", "name", demo.SampleBroadcast)
	if err != nil || b.GetString("status") != "draft" || b.GetString("segment") == "" || b.GetString("channel") == "" {
		t.Fatalf("the demo's draft broadcast: %v %v", b, err)
	}
	for _, a := range res.Accounts {
		u, err := app.FindAuthRecordByEmail("users", a.Email)
		if err != nil || !u.ValidatePassword(a.Password) || u.GetString("role") != a.Role || len(a.Password) < 16 {
			t.Fatalf("account %s (%s) does not sign in with its printed password: %v", a.Email, a.Role, err)
		}
	}

	defs, err := contacts.LoadFieldDefs(app)
	if err != nil {
		t.Fatal(err)
	}
	all, err := app.FindAllRecords("contacts")
	if err != nil {
		t.Fatal(err)
	}
	spanishNames, englishNames := 0, 0
	for _, r := range all {
		c, fe := contacts.FromRecord(r)
		if len(fe) > 0 {
			t.Fatalf("contact %s: %v", r.Id, fe)
		}
		if !e164.MatchString(c.Phone) {
			t.Fatalf("contact %s phone %q is not E.164", r.Id, c.Phone)
		}
		if p, err := contacts.NormalizePhone(c.Phone, "ZZ"); err != nil || p != c.Phone {
			t.Fatalf("contact %s phone %q is not a valid number: %v", r.Id, c.Phone, err)
		}
		stored, _ := json.Marshal(c.Fields)
		again := c
		if fe := contacts.Normalize(&again, defs, "MX"); len(fe) > 0 {
			t.Fatalf("contact %s does not pass the rules: %v", r.Id, fe)
		}
		if b, _ := json.Marshal(again.Fields); string(b) != string(stored) {
			t.Fatalf("contact %s custom values are not in stored form: %s vs %s", r.Id, stored, b)
		}
		if c.Language == "es" {
			spanishNames++
		} else {
			englishNames++
		}
		if r.GetDateTime("created").Time().After(r.GetDateTime("updated").Time()) {
			t.Fatalf("contact %s updated before created", r.Id)
		}
	}
	if spanishNames < 60 || englishNames < 10 {
		t.Fatalf("languages: %d es, %d other", spanishNames, englishNames)
	}

	var phoneIDs, optIns, withSource, optOuts, telegram int
	app.DB().NewQuery(`SELECT
		(SELECT COUNT(*) FROM contact_identities WHERE from_phone),
		(SELECT COUNT(*) FROM contact_identities WHERE consent = 'opted_in'),
		(SELECT COUNT(*) FROM contact_identities WHERE consent = 'opted_in' AND consent_source != '' AND consent_wording != ''),
		(SELECT COUNT(*) FROM contact_identities WHERE consent = 'opted_out'),
		(SELECT COUNT(*) FROM contact_identities WHERE kind = 'telegram')`).Row(&phoneIDs, &optIns, &withSource, &optOuts, &telegram)
	if phoneIDs != 240 || optIns == 0 || withSource != optIns || optOuts == 0 || telegram == 0 {
		t.Fatalf("identities: %d from phone, %d opt-ins (%d with evidence), %d opt-outs, %d telegram", phoneIDs, optIns, withSource, optOuts, telegram)
	}
	// Every contact's history went through the rules and the event log.
	var created int
	app.DB().NewQuery("SELECT COUNT(*) FROM events WHERE type = 'contact.created' AND actor = 'demo'").Row(&created)
	if created != 120 {
		t.Fatalf("%d contact.created events", created)
	}

	// A second run is refused and changes nothing.
	_, err = demo.Run(app, nil, demo.Options{Contacts: 10})
	if err == nil || !strings.Contains(err.Error(), "already holds a workspace (3 users, 120 contacts, 5 custom fields)") {
		t.Fatalf("rerun: %v", err)
	}
	var n int
	app.DB().NewQuery("SELECT COUNT(*) FROM contacts").Row(&n)
	if n != 120 {
		t.Fatalf("a refused rerun changed the contacts: %d", n)
	}
}

func TestDemoIsDeterministic(t *testing.T) {
	people := func() string {
		app := newApp(t, nil)
		if _, err := demo.Run(app, nil, demo.Options{Contacts: 40, Seed: 42}); err != nil {
			t.Fatal(err)
		}
		var rows []string
		if err := app.DB().NewQuery(`SELECT first_name || ' ' || last_name || ' ' || phone || ' ' || tags || ' ' || fields
			FROM contacts ORDER BY created`).Column(&rows); err != nil {
			t.Fatal(err)
		}
		return strings.Join(rows, "\n")
	}
	a, b := people(), people()
	if a != b {
		t.Fatalf("same seed, different people:\n%s\n---\n%s", a, b)
	}
}

// sandboxAdapter stands in for the sandbox channel type, which another
// package provides; the demo only needs the registry to list it.
type sandboxAdapter struct{}

func (sandboxAdapter) Type() channels.Type                   { return channels.Sandbox }
func (sandboxAdapter) Capabilities() channels.Capabilities   { return channels.Capabilities{} }
func (sandboxAdapter) Verify(*channels.WebhookRequest) error { return nil }
func (sandboxAdapter) Test(context.Context) error            { return nil }
func (sandboxAdapter) Send(context.Context, channels.OutMessage) (channels.SendResult, error) {
	return channels.SendResult{}, nil
}
func (sandboxAdapter) Handshake(*channels.WebhookRequest) (int, []byte, bool) { return 0, nil, false }
func (sandboxAdapter) Parse(*channels.WebhookRequest) (channels.WebhookBatch, error) {
	return channels.WebhookBatch{}, nil
}

func TestDemoCommandCreatesTheSandboxWhenTheBuildHasIt(t *testing.T) {
	reg := channels.NewRegistry()
	reg.Register(channels.Sandbox, channels.Capabilities{IdentityKind: channels.KindSandbox},
		func(channels.Config, channels.Deps) (channels.Adapter, error) { return sandboxAdapter{}, nil })
	app := newApp(t, reg)
	var out, errOut bytes.Buffer
	exitCode := -1
	cmd := demo.Command(app, func() *channels.Registry { return reg }, func(c int) { exitCode = c })
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs([]string{"--contacts", "25", "--seed", "3"})
	if err := cmd.Execute(); err != nil || exitCode != -1 {
		t.Fatalf("demo failed: %v, exit %d, %s", err, exitCode, errOut.String())
	}
	for _, want := range []string{"25 contacts", "Sandbox channel: created", "owner    duena@tienda-demo.example",
		"Start it with: pregon serve --dir " + app.DataDir() + " "} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("output lacks %q:\n%s", want, out.String())
		}
	}
	if ch, err := app.FindFirstRecordByFilter("channels", "type = 'sandbox'"); err != nil || ch.GetString("name") != "Sandbox" {
		t.Fatalf("no sandbox channel: %v", err)
	}

	// Refused on the second run, with a non-zero exit.
	out.Reset()
	cmd = demo.Command(app, func() *channels.Registry { return reg }, func(c int) { exitCode = c })
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs([]string{})
	cmd.Execute()
	if exitCode != 1 || !strings.Contains(errOut.String(), "already holds a workspace") || out.Len() != 0 {
		t.Fatalf("rerun: exit %d, stderr %q, stdout %q", exitCode, errOut.String(), out.String())
	}
}
