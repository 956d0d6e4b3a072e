package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"pregon/channels/fakekit"
	"pregon/outbox"
)

func init() { commands["rate"] = runRate }

// runRate measures rate accuracy: a channel set to R msg/s sends a backlog
// to the WhatsApp fake for the given time; the fake's request log gives the
// busiest one-second window (must not exceed R) and the mean (at least 98%
// of R).
func runRate(args []string) error {
	fs := flag.NewFlagSet("rate", flag.ExitOnError)
	rates := fs.String("rates", "80,1000", "channel rates to measure, msg/s")
	seconds := fs.Int("seconds", 60, "how long each rate runs")
	fs.Parse(args)
	for _, r := range strings.Split(*rates, ",") {
		rate, err := strconv.ParseFloat(strings.TrimSpace(r), 64)
		if err != nil || rate <= 0 {
			return fmt.Errorf("bad rate %q", r)
		}
		if err := measureRate(rate, time.Duration(*seconds)*time.Second); err != nil {
			return err
		}
	}
	return nil
}

func measureRate(rate float64, d time.Duration) error {
	fk, err := startWhatsAppFake()
	if err != nil {
		return err
	}
	defer fk.Close()
	app, err := newOutboxApp(outbox.Options{})
	if err != nil {
		return err
	}
	defer app.close()
	ch, err := app.whatsAppChannel(fk, rate)
	if err != nil {
		return err
	}
	// A backlog that outlasts the run, so the limiter is always the bottleneck.
	if err := app.seed(ch, int(rate*(d.Seconds()+10)), promo); err != nil {
		return err
	}
	if err := app.env.Outbox.Start(); err != nil {
		return err
	}
	time.Sleep(d + 2*time.Second)
	app.env.Outbox.Stop(context.Background())

	var ok []fakekit.Entry
	for _, e := range fk.Log.Entries() {
		if e.OK() {
			ok = append(ok, e)
		}
	}
	if len(ok) == 0 {
		return fmt.Errorf("the fake accepted nothing")
	}
	// The measured span: d from the first accepted request.
	start := ok[0].At
	n := 0
	for _, e := range ok {
		if e.At.Sub(start) < d {
			n++
		}
	}
	busiest := fk.Log.MaxInWindow(time.Second, fakekit.OnlyOK)
	mean := float64(n) / d.Seconds()
	fmt.Printf("rate %.0f msg/s over %s: busiest 1-second window %d requests (limit %.0f: %s), mean %.1f msg/s = %.1f%% of the rate (goal ≥ 98%%), %d throttled by the fake\n",
		rate, d, busiest, rate, verdict(float64(busiest) <= rate), mean, 100*mean/rate, fk.Log.Total()-fk.Log.Accepted())
	return nil
}

func verdict(ok bool) string {
	if ok {
		return "ok"
	}
	return "EXCEEDED"
}
