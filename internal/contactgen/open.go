package contactgen

import (
	"fmt"

	"github.com/pocketbase/pocketbase/core"
	_ "github.com/pocketbase/pocketbase/migrations" // PocketBase's system collections

	_ "pregon/pb_migrations"

	"pregon/internal/sqlitemem"
)

// Open bootstraps a PocketBase app on dataDir (created if missing), with the
// SQLite settings the product uses, and runs every migration. It binds no
// hooks: callers that need them call hooks.Bind.
func Open(dataDir string) (*core.BaseApp, error) {
	app := core.NewBaseApp(core.BaseAppConfig{DataDir: dataDir, DBConnect: sqlitemem.Connect})
	if err := app.Bootstrap(); err != nil {
		return nil, fmt.Errorf("bootstrapping %s: %w", dataDir, err)
	}
	if err := app.RunAllMigrations(); err != nil {
		return nil, fmt.Errorf("migrating %s: %w", dataDir, err)
	}
	return app, nil
}

// Ensure fills app with opts.Contacts generated contacts unless it already
// holds that many (a previous run's set is reused: generating a million
// contacts takes a while).
func Ensure(app core.App, opts Options) (generated bool, err error) {
	var n int
	if err := app.DB().NewQuery("SELECT COUNT(*) FROM contacts").Row(&n); err != nil {
		return false, fmt.Errorf("counting contacts: %w", err)
	}
	if n == opts.Contacts {
		return false, nil
	}
	if n != 0 {
		return false, fmt.Errorf("the data dir holds %d contacts, not %d: use an empty dir", n, opts.Contacts)
	}
	return true, Generate(app, opts)
}
