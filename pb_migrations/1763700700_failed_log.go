package pb_migrations

import (
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// failedLogTime is the time a message entered the failed log: when it
// failed, or when it was found in flight after a crash (unknown). Queries
// (package failedlog) must spell it exactly so for SQLite to use the
// indexes; its tests check the query plans.
const failedLogTime = "(CASE WHEN status = 'unknown' THEN unknown_at ELSE failed_at END)"

// failedLogFilters are the columns the log filters on, carried in the
// indexes so that counts and filters read the index alone instead of
// looking up every failed row (measured: 200 ms → a few ms at 100,000
// failures; BENCHMARKS.md).
const failedLogFilters = "source, channel, error_code"

// failedLogWhere: the indexes hold failed and unknown messages only.
const failedLogWhere = "status IN ('failed','unknown')"

// The failed-messages log and the per-contact delivery answer.
//
//   - idx_messages_failed_time and idx_messages_failed_source hold failed and
//     unknown messages only (a tenth of the table in the benchmark): the log
//     pages through them newest first, over every source or per broadcast,
//     without sorting, and counts and filters by status, source, channel and
//     code read the index alone. Queries must repeat the partial condition
//     `status IN ('failed','unknown')` literally.
//
// broadcast_exclusions, which the deliveries answer reads, is the broadcast
// engine's migration's (1763700600, which runs first). Data dirs where this
// migration ran before that one existed got the collection from an earlier
// version of this file; 1763700600 keeps it.
func init() {
	m.Register(func(app core.App) error {
		// Raw SQL: PocketBase's index parser does not take expressions. Being
		// outside the collection's index list, they survive its later saves.
		for _, q := range []string{
			"CREATE INDEX IF NOT EXISTS idx_messages_failed_time ON messages (status, " + failedLogTime + ", " + failedLogFilters + ") WHERE " + failedLogWhere,
			"CREATE INDEX IF NOT EXISTS idx_messages_failed_source ON messages (source_id, status, " + failedLogTime + ", " + failedLogFilters + ") WHERE " + failedLogWhere,
		} {
			if _, err := app.DB().NewQuery(q).Execute(); err != nil {
				return err
			}
		}
		return nil
	}, func(app core.App) error {
		for _, q := range []string{"DROP INDEX IF EXISTS idx_messages_failed_time", "DROP INDEX IF EXISTS idx_messages_failed_source"} {
			if _, err := app.DB().NewQuery(q).Execute(); err != nil {
				return err
			}
		}
		return nil
	})
}
