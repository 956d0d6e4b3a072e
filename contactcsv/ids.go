package contactcsv

import (
	"strconv"
	"strings"
	"time"
)

// idSeq hands out record ids that grow in the order they are made: the
// import start in milliseconds (8 base-36 digits, good until 2059) then a
// counter (7 digits). They have PocketBase's id form (15 of [a-z0-9]) and,
// being in order, land at the right edge of the id and contact indexes
// instead of at random pages: at a million contacts this keeps the
// writer's working set in the page cache (see BENCHMARKS.md). A random id
// from elsewhere cannot collide: it would have to equal one exactly.
type idSeq struct {
	prefix string
	n      uint64
}

func newIDSeq(now time.Time) *idSeq {
	return &idSeq{prefix: pad36(uint64(now.UnixMilli()), 8)}
}

func (s *idSeq) next() string {
	s.n++
	return s.prefix + pad36(s.n, 7)
}

func pad36(v uint64, width int) string {
	s := strconv.FormatUint(v, 36)
	if len(s) >= width {
		return s[len(s)-width:]
	}
	return strings.Repeat("0", width-len(s)) + s
}
