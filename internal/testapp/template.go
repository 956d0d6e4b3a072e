package testapp

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/pocketbase/pocketbase/tests"

	"pregon/hooks"
	"pregon/secretbox"
)

// Template runs setup once on a fresh app and returns a factory that gives
// every caller (each tests.ApiScenario) its own copy of the result, bound
// with opts. Copies cost a file copy instead of the migrations and the
// setup; tokens minted in setup stay valid in them (the signing secrets live
// in the database). Fixtures that tests name in URLs need fixed ids.
func Template(t testing.TB, setup func(t testing.TB, app *tests.TestApp), opts ...hooks.Options) func(testing.TB) *tests.TestApp {
	t.Helper()
	app, _ := New(t, opts...)
	setup(t, app)
	for _, q := range []string{"PRAGMA wal_checkpoint(TRUNCATE)"} {
		if _, err := app.NonconcurrentDB().NewQuery(q).Execute(); err != nil {
			t.Fatalf("checkpointing the template: %v", err)
		}
		if _, err := app.AuxNonconcurrentDB().NewQuery(q).Execute(); err != nil {
			t.Fatalf("checkpointing the template: %v", err)
		}
	}
	dir := t.TempDir()
	if err := copyTree(app.DataDir(), dir); err != nil {
		t.Fatalf("copying the template: %v", err)
	}
	var o hooks.Options
	if len(opts) > 0 {
		o = opts[0]
	}
	if o.Box == nil {
		var err error
		if o.Box, err = secretbox.New(TestKey); err != nil {
			t.Fatal(err)
		}
	}
	return func(tb testing.TB) *tests.TestApp {
		a, err := tests.NewTestApp(dir)
		if err != nil {
			tb.Fatalf("cloning the template: %v", err)
		}
		hooks.Bind(a, o)
		return a
	}
}

func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.Create(target)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
}
