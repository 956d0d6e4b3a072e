package contactcsv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// RunPending runs every import that is queued, or was running when the
// process stopped (resumed from its last committed batch), one at a time in
// the order they were created, and returns when none is left. Imports run
// one at a time because SQLite has one writer: two would only take turns.
func RunPending(ctx context.Context, app core.App, opts Options) error {
	last := ""
	for {
		var ids []string
		err := app.DB().NewQuery(`SELECT id FROM imports WHERE status IN ('queued', 'running') ORDER BY created, id LIMIT 1`).Column(&ids)
		if err != nil {
			return fmt.Errorf("listing pending imports: %w", err)
		}
		if len(ids) == 0 {
			return nil
		}
		if ids[0] == last {
			// Run could not even record the failure: stop rather than spin;
			// the runner's next wake or tick tries again.
			return fmt.Errorf("import %s is still pending after it ended", last)
		}
		last = ids[0]
		if err := Run(ctx, app, ids[0], opts); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			app.Logger().Warn("import failed", "import", ids[0], "error", errorText(err))
		}
	}
}

// Runner runs imports in the background: woken when one is queued, and at
// start to resume what a restart interrupted.
type Runner struct {
	app  core.App
	opts Options
	wake chan struct{}
}

// NewRunner returns a runner for app.
func NewRunner(app core.App, opts Options) *Runner {
	return &Runner{app: app, opts: opts, wake: make(chan struct{}, 1)}
}

// Wake tells the runner an import was queued; it never blocks.
func (r *Runner) Wake() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Loop runs pending imports until ctx ends.
func (r *Runner) Loop(ctx context.Context) {
	tick := time.NewTicker(time.Minute) // a safety net; Wake is the normal path
	defer tick.Stop()
	for {
		if err := RunPending(ctx, r.app, r.opts); err != nil && !errors.Is(err, context.Canceled) {
			r.app.Logger().Error("running imports", "error", errorText(err))
		}
		select {
		case <-ctx.Done():
			return
		case <-r.wake:
		case <-tick.C:
		}
	}
}

// RejectedRetention is how long rejected.csv files are kept after their
// import ended.
const RejectedRetention = 30 * 24 * time.Hour

// Cleanup deletes the directories of imports that ended more than
// RejectedRetention ago, and of imports whose record no longer exists.
func Cleanup(app core.App, now time.Time) error {
	root := filepath.Join(app.DataDir(), "imports")
	entries, err := os.ReadDir(root)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("listing import files: %w", err)
	}
	cutoff := now.Add(-RejectedRetention).UTC().Format("2006-01-02 15:04:05.000Z")
	for _, e := range entries {
		var rec struct {
			N       int `db:"n"`
			Expired int `db:"expired"`
		}
		err := app.DB().NewQuery(`SELECT COUNT(*) AS n, COALESCE(SUM(finished_at != '' AND finished_at < {:cutoff}), 0) AS expired
			FROM imports WHERE id = {:id}`).Bind(dbx.Params{"id": e.Name(), "cutoff": cutoff}).One(&rec)
		if err != nil {
			return fmt.Errorf("checking import %s: %w", e.Name(), err)
		}
		if rec.N == 1 && rec.Expired == 0 {
			continue
		}
		if rec.N == 0 {
			// No record: an orphan, or an upload still arriving (its record
			// is saved after the file): leave young directories.
			if info, err := e.Info(); err != nil || now.Sub(info.ModTime()) < 24*time.Hour {
				continue
			}
		}
		if err := os.RemoveAll(filepath.Join(root, e.Name())); err != nil {
			return fmt.Errorf("deleting import %s files: %w", e.Name(), err)
		}
	}
	return nil
}
