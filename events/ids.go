package events

import (
	"math/rand/v2"
	"strconv"
	"time"
)

// idTimeDigits and idRandDigits split an event id's 15 characters ([a-z0-9],
// like PocketBase's own ids): base-36 milliseconds since the Unix epoch
// (8 digits last until 2059), then a per-batch random start that counts up
// within the batch.
const (
	idTimeDigits = 8
	idRandDigits = 15 - idTimeDigits
	idRandSpace  = 78364164096 // 36^7
)

// newIDs returns n event ids that sort by time and, within one batch, in
// order. Random ids put every insert on a random page of the primary-key
// index, so each group commit dirtied (and wrote to the WAL) about one page
// per event; ordered ids append to its right edge. The random start keeps
// batches written in the same millisecond apart: two overlap with
// probability about (n1+n2)/36^7, and a collision only fails that
// transaction (the primary key is unique).
func newIDs(now time.Time, n int) []string {
	ts := strconv.FormatInt(now.UnixMilli(), 36)
	for len(ts) < idTimeDigits {
		ts = "0" + ts
	}
	ts = ts[len(ts)-idTimeDigits:]
	start := rand.Int64N(idRandSpace - int64(n))
	out := make([]string, n)
	buf := make([]byte, 0, 15)
	for i := range out {
		buf = append(buf[:0], ts...)
		suffix := strconv.FormatInt(start+int64(i), 36)
		for range idRandDigits - len(suffix) {
			buf = append(buf, '0')
		}
		buf = append(buf, suffix...)
		out[i] = string(buf)
	}
	return out
}
