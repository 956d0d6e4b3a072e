package pb_migrations_test

import (
	"testing"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"

	"pregon/internal/testapp"
)

// A data dir made before the broadcast engine's migration existed has
// broadcast_exclusions already (the failed log's migration created it as a
// fallback then): the engine's migration runs late on it, keeps the
// collection and its rows, and records itself as applied.
func TestBroadcastEngineMigrationKeepsAnExistingExclusionsCollection(t *testing.T) {
	app, _ := testapp.New(t)
	const file = "1763700600_broadcast_engine.go"
	if _, err := app.DB().NewQuery("INSERT INTO broadcast_exclusions (id, broadcast, contact, channel, reason, created) VALUES ('bexcl0000000001', 'b1', 'c1', '', 'opted_out', '2026-11-21 10:00:00.000Z')").Execute(); err != nil {
		t.Fatal(err)
	}
	res, err := app.DB().NewQuery("DELETE FROM _migrations WHERE file = {:f}").Bind(dbx.Params{"f": file}).Execute()
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("the test app must have applied %s (%d rows)", file, n)
	}

	applied, err := core.NewMigrationsRunner(app, core.AppMigrations).Up()
	if err != nil {
		t.Fatalf("the broadcast engine's migration must run on a data dir that has broadcast_exclusions: %v", err)
	}
	if len(applied) != 1 || applied[0] != file {
		t.Fatalf("applied %v, want only %s", applied, file)
	}
	var n int
	if err := app.DB().NewQuery("SELECT COUNT(*) FROM broadcast_exclusions").Row(&n); err != nil || n != 1 {
		t.Fatalf("the existing exclusions must stay: %d rows, %v", n, err)
	}
}
