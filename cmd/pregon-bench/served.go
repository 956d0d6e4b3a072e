package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
	_ "github.com/pocketbase/pocketbase/migrations"

	"pregon/hooks"
	"pregon/internal/sqlitemem"
	_ "pregon/pb_migrations"
)

// served is a real Pregón app on a data dir, served over loopback HTTP, as
// `pregon serve` would run it (minus the dashboard and the TLS options).
type served struct {
	app   *core.BaseApp
	base  string // http://127.0.0.1:port
	token string // a manager's token
	srv   *http.Server
}

func serve(dataDir string) (*served, error) {
	app := core.NewBaseApp(core.BaseAppConfig{DataDir: dataDir, DBConnect: sqlitemem.Connect})
	hooks.Bind(app, hooks.Options{})
	if err := app.Bootstrap(); err != nil {
		return nil, fmt.Errorf("bootstrapping: %w", err)
	}
	if err := app.RunAllMigrations(); err != nil {
		return nil, fmt.Errorf("migrating: %w", err)
	}
	r, err := apis.NewRouter(app)
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &served{app: app, base: "http://" + l.Addr().String()}
	err = app.OnServe().Trigger(&core.ServeEvent{App: app, Router: r}, func(e *core.ServeEvent) error {
		mux, err := e.Router.BuildMux()
		if err != nil {
			return err
		}
		s.srv = &http.Server{Handler: mux}
		go s.srv.Serve(l)
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.token, err = s.manager()
	return s, err
}

// manager returns a token for a manager, creating the account once.
func (s *served) manager() (string, error) {
	u, err := s.app.FindAuthRecordByEmail("users", "bench@pregon.local")
	if err != nil {
		col, err := s.app.FindCollectionByNameOrId("users")
		if err != nil {
			return "", err
		}
		u = core.NewRecord(col)
		u.SetEmail("bench@pregon.local")
		u.SetPassword("bench-password-123")
		u.SetVerified(true)
		u.Set("role", "manager")
		if err := s.app.Save(u); err != nil {
			return "", fmt.Errorf("creating the bench manager: %w", err)
		}
	}
	return u.NewAuthToken()
}

func (s *served) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.srv.Shutdown(ctx)
	s.app.OnTerminate().Trigger(&core.TerminateEvent{App: s.app}, func(e *core.TerminateEvent) error { return e.App.ResetBootstrapState() })
}

func (s *served) request(method, path string, body io.Reader, contentType string) (*http.Response, error) {
	req, err := http.NewRequest(method, s.base+path, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", s.token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return http.DefaultClient.Do(req)
}

func (s *served) getJSON(path string, dst any) error {
	res, err := s.request(http.MethodGet, path, nil, "")
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(res.Body)
		return fmt.Errorf("GET %s: %s %s", path, res.Status, b)
	}
	return json.NewDecoder(res.Body).Decode(dst)
}

// startProfile writes a CPU profile to path until the returned func runs.
func startProfile(path string) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// benchDir returns dir, or a fresh temporary directory removed by cleanup.
func benchDir(dir string) (string, func(), error) {
	if dir != "" {
		return dir, func() {}, os.MkdirAll(dir, 0o700)
	}
	d, err := os.MkdirTemp("", "pregon-bench-")
	return filepath.Clean(d), func() { os.RemoveAll(d) }, err
}

func machine() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	model, cores := "", 0
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "model name") && model == "" {
			model = strings.TrimSpace(strings.SplitN(l, ":", 2)[1])
		}
		if strings.HasPrefix(l, "processor") {
			cores++
		}
	}
	return fmt.Sprintf("%d cores, %s", cores, model)
}

// cpuSeconds is the CPU time (user + system) this process has used: on a
// shared machine it is steadier than wall time.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return -1
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// calibrate times the PocketBase guide's fastest bulk insert (one prepared
// INSERT re-bound per row, one transaction, 100,000 rows into a table with
// an id, a text and a number) on this machine now. The guide measured
// about 237,500 rows/s on an idle 2-vCPU VM: the ratio tells how loaded the
// machine is while the benchmark runs.
func calibrate(app core.App) (float64, error) {
	if _, err := app.DB().NewQuery(`CREATE TABLE IF NOT EXISTS _bench_calibrate (id TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL DEFAULT '', n NUMERIC NOT NULL DEFAULT 0)`).Execute(); err != nil {
		return 0, err
	}
	defer app.DB().NewQuery(`DROP TABLE _bench_calibrate`).Execute()
	const n = 100_000
	start := time.Now()
	err := app.RunInTransaction(func(tx core.App) error {
		q := tx.DB().NewQuery(`INSERT INTO _bench_calibrate (id, name, n) VALUES ({:id}, {:name}, {:n})`).Prepare()
		defer q.Close()
		for i := 0; i < n; i++ {
			if _, err := q.Bind(dbx.Params{"id": core.GenerateDefaultRandomId(), "name": fmt.Sprint("row ", i), "n": i}).Execute(); err != nil {
				return err
			}
		}
		return nil
	})
	return n / time.Since(start).Seconds(), err
}
