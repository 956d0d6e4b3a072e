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
	// TextES is Text in Spanish, for a shop owner's screen.
	TextES string `json:"text_es"`
	// LimitedBy names what sets the pace: "the broadcast's rate" or a channel.
	LimitedBy   string `json:"limited_by"`
	LimitedByES string `json:"limited_by_es"`

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
			rate := trimFloat(t.Rate)
			est.Seconds = s
			est.LimitedBy = fmt.Sprintf("channel %q at %s %s per second", t.Name, rate, plural(rate == "1", "message", "messages"))
			est.LimitedByES = fmt.Sprintf("el canal %q, a %s %s por segundo", t.Name, rate, plural(rate == "1", "mensaje", "mensajes"))
		}
	}
	if own > 0 {
		if s := float64(total) / own; s > est.Seconds {
			est.Seconds, est.LimitedBy, est.LimitedByES = s, "the broadcast's own rate", "la velocidad de envío de la propia transmisión"
		}
	}
	d := time.Duration(est.Seconds * float64(time.Second))
	est.Text, est.TextES = "it will take "+humanDuration(d), "tardará "+humanDurationES(d)
	if est.LimitedBy != "" {
		est.Text += ", limited by " + est.LimitedBy
		est.TextES += ", limitada por " + est.LimitedByES
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

// spoken is a duration rounded to the precision it is said with: under a
// minute; whole minutes; hours and minutes; days and hours. It rounds once
// and then splits, so 191.6 hours is "8 days 0 hours" (not "7 days 0
// hours", which made the 7-day refusal read as if it were within the limit)
// and 59 m 40 s is "1 hour 0 minutes" (not "60 minutes").
type spoken struct {
	unit       int // 0: under a minute, 1: minutes, 2: hours and minutes, 3: days and hours
	big, small int
}

func speak(d time.Duration) spoken {
	if d < time.Minute {
		return spoken{}
	}
	if m := int(math.Round(d.Minutes())); m < 60 {
		return spoken{1, m, 0}
	} else if m < 24*60 {
		return spoken{2, m / 60, m % 60}
	}
	h := int(math.Round(d.Hours()))
	return spoken{3, h / 24, h % 24}
}

// humanDuration writes d the way a person says it: "less than a minute",
// "about 4 minutes", "about 2 hours 5 minutes", "about 8 days 3 hours".
func humanDuration(d time.Duration) string {
	s := speak(d)
	switch s.unit {
	case 0:
		return "less than a minute"
	case 1:
		return fmt.Sprintf("about %d %s", s.big, plural(s.big == 1, "minute", "minutes"))
	case 2:
		return fmt.Sprintf("about %d %s %d %s", s.big, plural(s.big == 1, "hour", "hours"), s.small, plural(s.small == 1, "minute", "minutes"))
	}
	return fmt.Sprintf("about %d %s %d %s", s.big, plural(s.big == 1, "day", "days"), s.small, plural(s.small == 1, "hour", "hours"))
}

// humanDurationES is humanDuration in Spanish: "menos de un minuto",
// "unos 4 minutos", "unas 2 horas 5 minutos", "unos 8 días 3 horas"; one
// unit is said plainly ("1 hora 0 minutos", not "una 1 hora").
func humanDurationES(d time.Duration) string {
	s := speak(d)
	switch s.unit {
	case 0:
		return "menos de un minuto"
	case 1:
		return fmt.Sprintf("%s%d %s", plural(s.big == 1, "", "unos "), s.big, plural(s.big == 1, "minuto", "minutos"))
	case 2:
		return fmt.Sprintf("%s%d %s %d %s", plural(s.big == 1, "", "unas "), s.big, plural(s.big == 1, "hora", "horas"), s.small, plural(s.small == 1, "minuto", "minutos"))
	}
	return fmt.Sprintf("%s%d %s %d %s", plural(s.big == 1, "", "unos "), s.big, plural(s.big == 1, "día", "días"), s.small, plural(s.small == 1, "hora", "horas"))
}
