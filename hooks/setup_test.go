package hooks_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"
	"github.com/pocketbase/pocketbase/tools/hook"

	"pregon/hooks"
	"pregon/internal/testapp"
)

func TestSetupCreatesOwnerOnce(t *testing.T) {
	scenarios := []tests.ApiScenario{
		{
			Name: "first run: needs owner", Method: http.MethodGet, URL: "/api/pregon/setup",
			ExpectedStatus: 200, ExpectedContent: []string{`"needs_owner":true`},
			TestAppFactory: testapp.Factory(nil),
		},
		{
			Name: "first run: creates the owner", Method: http.MethodPost, URL: "/api/pregon/setup",
			Body:           strings.NewReader(`{"email":"ana@tienda.mx","password":"s3cret-pass-123","name":"Ana"}`),
			ExpectedStatus: 200, ExpectedContent: []string{`"token":"`},
			ExpectedEvents: map[string]int{"*": 0, "OnRecordCreate": 1, "OnRecordValidate": 1, "OnRecordCreateExecute": 1, "OnRecordAfterCreateSuccess": 1, "OnModelCreate": 1, "OnModelValidate": 1, "OnModelCreateExecute": 1, "OnModelAfterCreateSuccess": 1},
			TestAppFactory: testapp.Factory(nil),
			AfterTestFunc: func(t testing.TB, app *tests.TestApp, res *http.Response) {
				u, err := app.FindAuthRecordByEmail("users", "ana@tienda.mx")
				if err != nil || u.GetString("role") != "owner" {
					t.Fatalf("owner not created: %v", err)
				}
			},
		},
		{
			Name: "bad input names the field", Method: http.MethodPost, URL: "/api/pregon/setup",
			Body:           strings.NewReader(`{"email":"not-an-email","password":"x"}`),
			ExpectedStatus: 400, ExpectedContent: []string{`"email"`, `"password"`,
				`"message":"Email: must be a valid email address. Password: must be at least 8 character(s)."`},
			TestAppFactory: testapp.Factory(nil),
		},
		{
			Name: "after setup: refused", Method: http.MethodPost, URL: "/api/pregon/setup",
			Body:           strings.NewReader(`{"email":"eve@evil.example","password":"s3cret-pass-123"}`),
			ExpectedStatus: 403, ExpectedContent: []string{"owner already exists"},
			TestAppFactory: testapp.Factory(func(t testing.TB, app *tests.TestApp) {
				testapp.User(t, app, "ana@tienda.mx", "owner")
			}),
		},
		{
			Name: "unknown api path is a JSON 404, not the SPA", Method: http.MethodGet, URL: "/api/nope",
			ExpectedStatus: 404, ExpectedContent: []string{`"status":404`},
			TestAppFactory: testapp.Factory(nil),
		},
		{
			Name: "public sign-up is closed", Method: http.MethodPost, URL: "/api/collections/users/records",
			Body:           strings.NewReader(`{"email":"eve@evil.example","password":"s3cret-pass-123","passwordConfirm":"s3cret-pass-123","role":"owner"}`),
			ExpectedStatus: 400, ExpectedContent: []string{`"status":400`},
			TestAppFactory: testapp.Factory(nil),
		},
	}
	for _, s := range scenarios {
		s.Test(t)
	}
}

// PocketBase's installer would print a live superuser token on the console
// at first start (it lands in Docker logs): Pregón's serve hook turns it off.
func TestServeTurnsOffPocketBasesTokenPrintingInstaller(t *testing.T) {
	app, _ := testapp.New(t, hooks.Options{})
	r, err := apis.NewRouter(app)
	if err != nil {
		t.Fatal(err)
	}
	called := false
	installer := func(core.App, *core.Record, string) error { called = true; return nil }
	// The test app turns the installer off itself, first thing (priority
	// -99999): put one back right after it, before Pregón's hooks run.
	app.OnServe().Bind(&hook.Handler[*core.ServeEvent]{Priority: -99998, Func: func(e *core.ServeEvent) error {
		e.InstallerFunc = installer
		return e.Next()
	}})
	se := &core.ServeEvent{App: app, Router: r, Server: &http.Server{}, InstallerFunc: installer}
	if err := app.OnServe().Trigger(se, func(e *core.ServeEvent) error { return nil }); err != nil {
		t.Fatal(err)
	}
	app.Cron().Stop()
	if se.InstallerFunc != nil || called {
		t.Fatal("the installer, which prints a superuser token, must be off")
	}
}
