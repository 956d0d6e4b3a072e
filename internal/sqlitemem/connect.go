package sqlitemem

import (
	"strconv"

	"github.com/pocketbase/dbx"
	_ "modernc.org/sqlite" // the driver PocketBase's own DefaultDBConnect uses
)

// CacheKiB is each SQLite connection's page cache limit, in KiB.
//
// PocketBase's default is 32,000 KiB per connection: the read pool and the
// single writer each get one. With modernc's allocator a cached page costs
// twice its size (a 4 KiB page plus SQLite's header is served from the
// 8 KiB size class), so a full writer cache alone held ~64 MiB, and the
// writer fills it on any bulk write (broadcast planning, the outbox's
// result batches). Measured on a sending server (200,000 recipients,
// BENCHMARKS.md "Broadcasts"): peak RSS 172-176 MiB at 32,000, 124 MiB at
// 8,000, with the same CPU per message and planning time. A larger cache
// buys little here: in WAL mode a reader's cache is dropped whenever
// another connection has written since its last read, which on a sending
// server is always, and the writer's working set (the right edges of the
// messages indexes) is small; the OS page cache holds the rest.
const CacheKiB = 8000

// Connect opens a PocketBase data or auxiliary database with PocketBase's
// own connection pragmas (core.DefaultDBConnect, v0.36.8) except the page
// cache, which is CacheKiB. Pass it as the app config's DBConnect.
func Connect(dbPath string) (*dbx.DB, error) {
	// busy_timeout first: a connection must wait on a busy database before
	// it sets WAL mode (as in core.DefaultDBConnect).
	pragmas := "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=journal_size_limit(200000000)" +
		"&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(ON)&_pragma=temp_store(MEMORY)" +
		"&_pragma=cache_size(-" + strconv.Itoa(CacheKiB) + ")"
	return dbx.Open("sqlite", dbPath+pragmas)
}
