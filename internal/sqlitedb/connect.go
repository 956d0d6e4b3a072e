// Package sqlitedb opens Pregón's SQLite databases.
package sqlitedb

import (
	"fmt"

	"github.com/pocketbase/dbx"
	_ "modernc.org/sqlite" // the driver PocketBase uses
)

// MmapSize is how much of a database file SQLite reads through a memory
// map instead of read() calls: 2 GiB, SQLite's default ceiling on Linux.
// Measured at a million contacts, BENCHMARKS.md's segment count took 273 ms
// with read() and 195 ms with the map, a full table scan 216 and 186 ms
// (BENCHMARKS.md, "Segments"); the mapped pages are the OS page cache's,
// not memory of the process's own (they do show in its RSS).
const MmapSize = 2147418112

// pragmas are PocketBase v0.36's own (core.DefaultDBConnect) plus mmap_size.
// busy_timeout stays first: a connection must wait on a lock before it sets
// WAL mode.
var pragmas = "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=journal_size_limit(200000000)" +
	"&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(ON)&_pragma=temp_store(MEMORY)&_pragma=cache_size(-32000)" +
	fmt.Sprintf("&_pragma=mmap_size(%d)", MmapSize)

// Connect is a PocketBase DBConnect function: PocketBase's defaults plus a
// memory map.
func Connect(dbPath string) (*dbx.DB, error) {
	return dbx.Open("sqlite", dbPath+pragmas)
}
