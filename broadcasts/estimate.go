package broadcasts

import (
	"fmt"
	"math"
	"time"
)

// Estimate is how long a send will take at the broadcast's own rate and
// its channels' rates. Channels send in parallel, each at its own rate; the
// broadcast's rate caps them all together. Journeys and agents share the
// channels and go first, so this is the shortest it can take.
type Estimate struct {
	Seconds float64 `json:"seconds"`
	Text    string  `json:"text"`
	// LimitedBy names what sets the pace: "the broadcast's rate" or a channel.
	LimitedBy string `json:"limited_by"`

	perChannel map[string]float64
}

// estimate returns the time to send counts[channel] messages on each target.
func estimate(counts map[string]int, ts []target, own float64) Estimate {
	est := Estimate{perChannel: map[string]float64{}}
	total := 0
	for _, t := range ts {
		n := counts[t.ID]
		total += n
		if n == 0 || t.Rate <= 0 {
			continue
		}
		s := float64(n) / t.Rate
		est.perChannel[t.ID] = s
		if s > est.Seconds {
			est.Seconds, est.LimitedBy = s, fmt.Sprintf("channel %q at %s messages per second", t.Name, trimFloat(t.Rate))
		}
	}
	if own > 0 {
		if s := float64(total) / own; s > est.Seconds {
			est.Seconds, est.LimitedBy = s, "the broadcast's own rate"
		}
	}
	est.Text = "it will take " + humanDuration(time.Duration(est.Seconds*float64(time.Second)))
	if est.LimitedBy != "" {
		est.Text += ", limited by " + est.LimitedBy
	}
	return est
}

// tooLong returns the error for a send over MaxDuration, or nil.
func (est Estimate) tooLong(messages int, b *Broadcast) error {
	if time.Duration(est.Seconds*float64(time.Second)) <= MaxDuration {
		return nil
	}
	how := "raise the broadcast's rate"
	if b.Rate() == 0 {
		how = "raise the channel's rate"
	}
	return fieldErr("rate_count", "too_long", "sending %s messages would take %s (limited by %s); a broadcast may take at most 7 days: %s or narrow the segment",
		thousands(messages), humanDuration(time.Duration(est.Seconds*float64(time.Second))), est.LimitedBy, how)
}

func trimFloat(f float64) string {
	if f == math.Trunc(f) {
		return fmt.Sprintf("%d", int64(f))
	}
	return fmt.Sprintf("%.2f", f)
}

// humanDuration writes d the way a person says it: "less than a minute",
// "about 4 minutes", "about 2 hours 5 minutes", "about 8 days 3 hours".
func humanDuration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "less than a minute"
	case d < time.Hour:
		m := int(math.Round(d.Minutes()))
		return fmt.Sprintf("about %d %s", m, plural(m, "minute", "minutes"))
	case d < 24*time.Hour:
		h, m := int(d.Hours()), int(math.Round(d.Minutes()))%60
		return fmt.Sprintf("about %d %s %d %s", h, plural(h, "hour", "hours"), m, plural(m, "minute", "minutes"))
	}
	days, h := int(d.Hours())/24, int(math.Round(d.Hours()))%24
	return fmt.Sprintf("about %d %s %d %s", days, plural(days, "day", "days"), h, plural(h, "hour", "hours"))
}
