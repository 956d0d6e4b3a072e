package outbox

import (
	"time"

	"github.com/pocketbase/pocketbase/core"
)

// WriteSentForTest records a successful send of message id through the
// result writer, as the dispatcher does.
func WriteSentForTest(app core.App, channel, id, providerID string, now time.Time) error {
	rec := newRecorder(app)
	defer rec.close()
	return rec.write(app, channel, now, []result{{msg: &claimed{ID: id, Seq: seq(app, id)}, kind: resultSent, providerID: providerID}}, true)
}

func seq(app core.App, id string) int64 {
	var n int64
	app.DB().NewQuery("SELECT rowid FROM messages WHERE id = {:id}").Bind(map[string]any{"id": id}).Row(&n)
	return n
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

// SeqsForTest returns the rowids of the given messages.
func SeqsForTest(app core.App, ids []string) []int64 {
	out := make([]int64, len(ids))
	for i, id := range ids {
		out[i] = seq(app, id)
	}
	return out
}

// WriteSentSeqsForTest records sent results for messages known by id and
// rowid (the rowid the dispatcher claimed them by, even if the row is gone).
func WriteSentSeqsForTest(app core.App, channel string, ids []string, seqs []int64, now time.Time) error {
	rs := make([]result, len(ids))
	for i, id := range ids {
		rs[i] = result{msg: &claimed{ID: id, Seq: seqs[i], Contact: "c"}, kind: resultSent, providerID: "wamid." + id}
	}
	rec := newRecorder(app)
	defer rec.close()
	return rec.write(app, channel, now, rs, true)
}
