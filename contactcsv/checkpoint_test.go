package contactcsv

import (
	"testing"

	"github.com/pocketbase/pocketbase/core"
)

// An import spaces the writer connection's checkpoints and puts the
// threshold back when it ends.
func TestSpaceCheckpointsRestores(t *testing.T) {
	app := core.NewBaseApp(core.BaseAppConfig{DataDir: t.TempDir()})
	if err := app.Bootstrap(); err != nil {
		t.Fatal(err)
	}
	defer app.ResetBootstrapState()
	threshold := func() int {
		var n int
		if err := app.NonconcurrentDB().NewQuery("PRAGMA wal_autocheckpoint").Row(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := threshold()
	restore := spaceCheckpoints(app)
	if got := threshold(); got != importCheckpointPages || before >= importCheckpointPages {
		t.Fatalf("during the import: %d (before: %d)", got, before)
	}
	restore()
	if got := threshold(); got != before {
		t.Fatalf("after the import: %d, want %d", got, before)
	}
}
