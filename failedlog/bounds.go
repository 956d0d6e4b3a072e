package failedlog

import (
	"fmt"
	"strings"
	"time"
)

// boundLayouts are the forms a from/to value may take, with the step that
// makes an inclusive upper bound exclusive: a date includes its whole day,
// a minute its 60 seconds. Values without an offset are wall-clock times in
// the workspace's time zone, which is what a shop owner means by "the 21st".
var boundLayouts = []struct {
	layout string
	local  bool
	step   time.Duration
}{
	{"2006-01-02", true, 0}, // a day: see ParseBound
	{"2006-01-02T15:04", true, time.Minute},
	{"2006-01-02 15:04", true, time.Minute},
	{"2006-01-02T15:04:05", true, time.Second}, // Go also reads a fraction here
	{"2006-01-02 15:04:05", true, time.Second},
	{"2006-01-02T15:04Z07:00", false, time.Minute},
	{time.RFC3339, false, time.Second},
	{"2006-01-02 15:04:05Z07:00", false, time.Second}, // PocketBase's own dates
	// Day first, as a Spanish-speaking owner writes "the 21st" and as the
	// segments and the contacts import already read dates: 21/11/2025.
	{"2/1/2006", true, 0},
	{"2/1/2006 15:04", true, time.Minute},
}

// ParseBound reads a from (upper false) or to (upper true) value. The
// result is an inclusive lower bound or an exclusive upper bound: "to" a
// date means up to the end of that day, "to" a minute up to the end of
// that minute. Dates and times without an offset are in loc.
func ParseBound(s string, loc *time.Location, upper bool) (time.Time, error) {
	for _, l := range boundLayouts {
		var t time.Time
		var err error
		if l.local {
			t, err = time.ParseInLocation(l.layout, s, loc)
		} else {
			t, err = time.Parse(l.layout, s)
		}
		if err != nil {
			continue
		}
		if !upper {
			return t, nil
		}
		if l.step == 0 {
			return t.AddDate(0, 0, 1), nil // the next midnight, even across a DST change
		}
		if l.step == time.Second && strings.Contains(s[len("2006-01-02T15:04:05"):], ".") {
			return t.Add(time.Millisecond), nil // stored times have milliseconds
		}
		return t.Add(l.step), nil
	}
	return time.Time{}, fmt.Errorf("%q is not a date (2025-11-21 or 21/11/2025) or a date and time (2025-11-21T18:30, or with an offset 2025-11-21T18:30:00-06:00)", s)
}
