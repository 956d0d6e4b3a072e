package outbox

import (
	"time"

	"github.com/pocketbase/pocketbase/core"
)

// WriteSentForTest records a successful send of message id through the
// result writer, as the dispatcher does.
func WriteSentForTest(app core.App, channel, id, providerID string, now time.Time) error {
	return writeResults(app, channel, now, []result{{msg: &claimed{ID: id, Seq: seq(app, id)}, kind: resultSent, providerID: providerID}}, true)
}

func seq(app core.App, id string) int64 {
	var n int64
	app.DB().NewQuery("SELECT rowid FROM messages WHERE id = {:id}").Bind(map[string]any{"id": id}).Row(&n)
	return n
}

// WriteResultsBench writes n sent results for the given ids, with or
// without their events, for the cost measurement in BenchmarkWriteResults.
func WriteResultsBench(app core.App, channel string, ids []string, now time.Time, withEvents bool) error {
	rs := make([]result, len(ids))
	for i, id := range ids {
		rs[i] = result{msg: &claimed{ID: id, Seq: seq(app, id), Contact: "c"}, kind: resultSent, providerID: "wamid." + id}
	}
	return writeResults(app, channel, now, rs, withEvents)
}

// ClaimForTest claims up to limit due messages of a channel and returns their ids.
func ClaimForTest(app core.App, channel string, now time.Time, limit int) ([]string, error) {
	ms, err := claim(app, channel, now, limit)
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.ID
	}
	return ids, err
}
