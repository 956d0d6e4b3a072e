package fake

import "time"

// tierCounter counts unique recipients of business-initiated messages in a
// rolling 24 h. A recipient is in the set while its latest such message is
// younger than 24 h; the order slice lets expiry run from the oldest end
// without scanning the map.
type tierCounter struct {
	last  map[string]time.Time
	order []tierMark
}

type tierMark struct {
	who string
	at  time.Time
}

const tierWindow = 24 * time.Hour

func (t *tierCounter) expire(now time.Time) {
	cut := now.Add(-tierWindow)
	i := 0
	for ; i < len(t.order) && !t.order[i].at.After(cut); i++ {
		m := t.order[i]
		if at, ok := t.last[m.who]; ok && at.Equal(m.at) {
			delete(t.last, m.who)
		}
	}
	t.order = t.order[i:]
}

func (t *tierCounter) count(now time.Time) int {
	t.expire(now)
	return len(t.last)
}

// admit records a business-initiated message to who at now, unless who is
// new and limit unique recipients are already counted (limit ≤ 0 = no limit).
func (t *tierCounter) admit(who string, now time.Time, limit int) bool {
	t.expire(now)
	if _, known := t.last[who]; !known && limit > 0 && len(t.last) >= limit {
		return false
	}
	t.last[who] = now
	t.order = append(t.order, tierMark{who, now})
	return true
}
