package multirow_test

import (
	"fmt"
	"testing"

	"github.com/pocketbase/pocketbase/core"
	_ "github.com/pocketbase/pocketbase/migrations"

	"pregon/internal/multirow"
)

func newApp(t *testing.T) core.App {
	t.Helper()
	app := core.NewBaseApp(core.BaseAppConfig{DataDir: t.TempDir()})
	if err := app.Bootstrap(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.ResetBootstrapState() })
	if _, err := app.DB().NewQuery("CREATE TABLE kv (k INTEGER PRIMARY KEY, v TEXT NOT NULL)").Execute(); err != nil {
		t.Fatal(err)
	}
	return app
}

// Every row count, whether a multiple of the chunk sizes or not, is written
// exactly once, in order, with the pool's statements and with statements
// prepared per call alike.
func TestExecWritesEveryRowOnceInOrder(t *testing.T) {
	for _, cached := range []bool{true, false} {
		t.Run(fmt.Sprintf("cached=%v", cached), func(t *testing.T) {
			app := newApp(t)
			db := multirow.WriterDB(app)
			if !cached {
				db = nil
			}
			if cached && db == nil {
				t.Fatal("PocketBase's write pool must be reachable")
			}
			ins := multirow.New(db, 2, []int{8, 3, 1}, func(n int) string {
				return "INSERT INTO kv (k, v) VALUES " + multirow.Rows("(?,?)", n)
			})
			defer ins.Close()
			next := 0
			for _, n := range []int{0, 1, 2, 3, 7, 8, 9, 20, 25} {
				args := make([]any, 0, 2*n)
				for i := range n {
					args = append(args, next+i, fmt.Sprintf("v%d", next+i))
				}
				var got int64
				err := app.RunInTransaction(func(tx core.App) error {
					var err error
					got, err = ins.Exec(tx, args)
					return err
				})
				if err != nil || got != int64(n) {
					t.Fatalf("%d rows: wrote %d, %v", n, got, err)
				}
				next += n
			}
			var ks []int
			if err := app.DB().NewQuery("SELECT k FROM kv ORDER BY rowid").Column(&ks); err != nil {
				t.Fatal(err)
			}
			if len(ks) != next {
				t.Fatalf("%d rows stored, want %d", len(ks), next)
			}
			for i, k := range ks {
				if k != i {
					t.Fatalf("row %d holds key %d: rows out of order", i, k)
				}
			}
		})
	}
}

func TestExecRefusesPartRowsAndWorkOutsideATransaction(t *testing.T) {
	app := newApp(t)
	ins := multirow.New(multirow.WriterDB(app), 2, []int{4, 1}, func(n int) string {
		return "INSERT INTO kv (k, v) VALUES " + multirow.Rows("(?,?)", n)
	})
	defer ins.Close()
	err := app.RunInTransaction(func(tx core.App) error {
		_, err := ins.Exec(tx, []any{1, "a", 2})
		return err
	})
	if err == nil {
		t.Fatal("three arguments are not whole rows of two")
	}
	if _, err := ins.Exec(app, []any{1, "a"}); err == nil {
		t.Fatal("outside a transaction the rows would not commit together")
	}
}

// A failing row rolls its whole transaction back: OR FAIL skips SQLite's
// statement journal, the transaction does the undoing.
func TestAFailingChunkRollsTheTransactionBack(t *testing.T) {
	app := newApp(t)
	ins := multirow.New(multirow.WriterDB(app), 2, []int{4, 1}, func(n int) string {
		return "INSERT OR FAIL INTO kv (k, v) VALUES " + multirow.Rows("(?,?)", n)
	})
	defer ins.Close()
	err := app.RunInTransaction(func(tx core.App) error {
		_, err := ins.Exec(tx, []any{1, "a", 2, "b", 3, "c", 1, "again", 5, "e"})
		return err
	})
	if err == nil {
		t.Fatal("a duplicate key must fail")
	}
	var n int
	app.DB().NewQuery("SELECT COUNT(*) FROM kv").Row(&n)
	if n != 0 {
		t.Fatalf("%d rows survived a failed transaction", n)
	}
}
