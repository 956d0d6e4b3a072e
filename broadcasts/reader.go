package broadcasts

import (
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// scan runs fn's reads on one pooled read connection, then asks SQLite to
// release that connection's memory (PRAGMA shrink_memory). Each of the read
// pool's connections keeps a page cache of up to sqlitemem.CacheKiB (8 MB,
// twice that in RSS with modernc's allocator), and the engine's large reads (a segment count, a recount of a
// million messages, the duplicates scan) would fill one on every connection
// they land on: measured, that was most of a sending server's resident
// memory. Inside a transaction fn runs on the transaction.
func scan(app core.App, fn func(q dbx.Builder) error) error {
	db, ok := app.ConcurrentDB().(*dbx.DB)
	if !ok {
		return fn(app.DB())
	}
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	if _, err := tx.NewQuery("PRAGMA shrink_memory").Execute(); err != nil {
		return err
	}
	return tx.Commit()
}
