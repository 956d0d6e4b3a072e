// Package cli holds Pregón's own subcommands beside PocketBase's serve,
// superuser and migrate.
package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Healthcheck runs `pregon healthcheck [--url URL]` and returns the process
// exit code: 0 when the server answers /api/health with 200.
//
// The Docker image is FROM scratch (no curl), so HEALTHCHECK runs the binary
// itself. main dispatches here before PocketBase is built, because
// PocketBase bootstraps (opens the data dir's SQLite files) before running
// any cobra subcommand and exits 0 even when the subcommand fails.
func Healthcheck(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "http://127.0.0.1:8090/api/health", "health endpoint to probe")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
	if err != nil {
		fmt.Fprintln(stderr, "health check failed:", err)
		return 1
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintln(stderr, "health check failed:", err)
		return 1
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "health check failed: %s answered %d\n", *url, res.StatusCode)
		return 1
	}
	return 0
}
