// Package testapp builds a real PocketBase app on a fresh SQLite database
// with Pregón's migrations and hooks, for tests in every package.
package testapp

import (
	"testing"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"

	"pregon/hooks"
	_ "pregon/pb_migrations"
	"pregon/secretbox"
)

// TestKey is the channel-secret key every test app uses.
const TestKey = "pregon-test-secret-key-0123456789"

// New returns a migrated, bound test app and its Env; it is cleaned up with
// the test. opts may override the defaults (a fake clock, NoWorkers...).
func New(t testing.TB, opts ...hooks.Options) (*tests.TestApp, *hooks.Env) {
	t.Helper()
	app, err := tests.NewTestApp(t.TempDir())
	if err != nil {
		t.Fatalf("creating test app: %v", err)
	}
	t.Cleanup(app.Cleanup)
	var o hooks.Options
	if len(opts) > 0 {
		o = opts[0]
	}
	if o.Box == nil {
		o.Box, err = secretbox.New(TestKey)
		if err != nil {
			t.Fatal(err)
		}
	}
	env := hooks.Bind(app, o)
	return app, env
}

// Factory adapts New to tests.ApiScenario.TestAppFactory; setup, if given,
// runs on the fresh app (create users, fixtures) before the request.
func Factory(setup func(t testing.TB, app *tests.TestApp)) func(t testing.TB) *tests.TestApp {
	return func(t testing.TB) *tests.TestApp {
		app, _ := New(t)
		if setup != nil {
			setup(t, app)
		}
		return app
	}
}

// User creates a staff user with a role (owner, manager, agent) and returns
// it with a valid auth token.
func User(t testing.TB, app core.App, email, role string) (*core.Record, string) {
	t.Helper()
	col, err := app.FindCollectionByNameOrId("users")
	if err != nil {
		t.Fatal(err)
	}
	u := core.NewRecord(col)
	u.SetEmail(email)
	u.SetPassword("password-123456")
	u.SetVerified(true)
	u.Set("name", email)
	u.Set("role", role)
	if err := app.Save(u); err != nil {
		t.Fatalf("creating %s user %s: %v", role, email, err)
	}
	tok, err := u.NewAuthToken()
	if err != nil {
		t.Fatal(err)
	}
	return u, tok
}

// Superuser creates a PocketBase superuser and returns its token.
func Superuser(t testing.TB, app core.App) string {
	t.Helper()
	col, err := app.FindCollectionByNameOrId(core.CollectionNameSuperusers)
	if err != nil {
		t.Fatal(err)
	}
	su := core.NewRecord(col)
	su.SetEmail("root@example.com")
	su.SetPassword("password-123456")
	if err := app.Save(su); err != nil {
		t.Fatal(err)
	}
	tok, err := su.NewAuthToken()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// Record saves a record of collection col with a fixed id (so that tests can
// name it in URLs) through app.Save, hooks and all.
func Record(t testing.TB, app core.App, col, id string, fields map[string]any) *core.Record {
	t.Helper()
	c, err := app.FindCollectionByNameOrId(col)
	if err != nil {
		t.Fatal(err)
	}
	r := core.NewRecord(c)
	r.Id = id
	for k, v := range fields {
		r.Set(k, v)
	}
	if err := app.Save(r); err != nil {
		t.Fatalf("saving %s %s: %v", col, id, err)
	}
	return r
}
