package broadcasts

import (
	"testing"
	"time"
)

// Durations are rounded once, then split: the 7-day refusal must never read
// "about 7 days 0 hours" for 191.6 hours, nor a minute count reach 60.
func TestHumanDurationRoundsOnceThenSplits(t *testing.T) {
	for _, c := range []struct {
		d      time.Duration
		en, es string
	}{
		{30 * time.Second, "less than a minute", "menos de un minuto"},
		{4*time.Minute + 20*time.Second, "about 4 minutes", "unos 4 minutos"},
		{59*time.Minute + 40*time.Second, "about 1 hour 0 minutes", "1 hora 0 minutos"},
		{time.Hour + 59*time.Minute + 40*time.Second, "about 2 hours 0 minutes", "unas 2 horas 0 minutos"},
		{23*time.Hour + 59*time.Minute + 50*time.Second, "about 1 day 0 hours", "1 día 0 horas"},
		{191*time.Hour + 36*time.Minute, "about 8 days 0 hours", "unos 8 días 0 horas"},
		{8*24*time.Hour + 3*time.Hour, "about 8 days 3 hours", "unos 8 días 3 horas"},
	} {
		if got := humanDuration(c.d); got != c.en {
			t.Errorf("%s: %q, want %q", c.d, got, c.en)
		}
		if got := humanDurationES(c.d); got != c.es {
			t.Errorf("%s: %q, want %q", c.d, got, c.es)
		}
	}
}
