package main

import (
	"context"
	"flag"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"pregon/channels"
	"pregon/channels/fakekit"
	"pregon/channels/whatsapp"
	"pregon/hooks"
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
	starts := &callStarts{at: map[string]time.Time{}}
	app, err := newOutboxAppWith(starts.registry(), outbox.Options{})
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
	// Where the requests were made: the busiest second at the call site, and
	// how long each took to reach the fake (the jitter the guard's slack absorbs).
	var sent []time.Time
	var transit []time.Duration
	starts.mu.Lock()
	for _, e := range ok {
		if at, found := starts.at["+"+e.Recipient]; found {
			sent = append(sent, at)
			transit = append(transit, e.At.Sub(at))
		}
	}
	starts.mu.Unlock()
	sort.Slice(sent, func(i, j int) bool { return sent[i].Before(sent[j]) })
	sort.Slice(transit, func(i, j int) bool { return transit[i] < transit[j] })
	callSite, lo := 0, 0
	for hi := range sent {
		for sent[hi].Sub(sent[lo]) >= time.Second {
			lo++
		}
		callSite = max(callSite, hi-lo+1)
	}
	if len(transit) > 0 {
		fmt.Printf("  at the call site: busiest 1-second window %d; call start to the fake's handler: median %s, p99 %s, max %s\n",
			callSite, transit[len(transit)/2], transit[len(transit)*99/100], transit[len(transit)-1])
	}
	// Where a shortfall comes from: the seconds (from the first request)
	// that fell furthest under the rate at the fake.
	perSecond := make([]int, int(d/time.Second))
	for _, e := range ok {
		if i := int(e.At.Sub(start) / time.Second); i < len(perSecond) {
			perSecond[i]++
		}
	}
	low := make([]int, len(perSecond))
	for i := range low {
		low[i] = i
	}
	sort.SliceStable(low, func(i, j int) bool { return perSecond[low[i]] < perSecond[low[j]] })
	var worst []string
	for _, i := range low[:min(5, len(low))] {
		worst = append(worst, fmt.Sprintf("s%d=%d", i, perSecond[i]))
	}
	fmt.Printf("  lowest seconds at the fake: %s\n", strings.Join(worst, " "))
	mean := float64(n) / d.Seconds()
	fmt.Printf("rate %.0f msg/s over %s: busiest 1-second window %d requests (limit %.0f: %s), mean %.1f msg/s = %.1f%% of the rate (goal ≥ 98%%), %d throttled by the fake\n",
		rate, d, busiest, rate, verdict(float64(busiest) <= rate), mean, 100*mean/rate, fk.Log.Total()-fk.Log.Accepted())
	return nil
}

// callStarts wraps the WhatsApp adapter to note when each call starts.
type callStarts struct {
	mu sync.Mutex
	at map[string]time.Time // recipient → start
}

func (c *callStarts) registry() *channels.Registry {
	reg := hooks.DefaultRegistry()
	reg.Register(channels.WhatsAppCloud, whatsapp.Capabilities(), func(cfg channels.Config, deps channels.Deps) (channels.Adapter, error) {
		a, err := whatsapp.New(cfg, deps)
		if err != nil {
			return nil, err
		}
		return timedAdapter{Adapter: a, starts: c}, nil
	})
	return reg
}

type timedAdapter struct {
	*whatsapp.Adapter
	starts *callStarts
}

func (t timedAdapter) Send(ctx context.Context, m channels.OutMessage) (channels.SendResult, error) {
	t.starts.mu.Lock()
	t.starts.at[m.To] = time.Now()
	t.starts.mu.Unlock()
	return t.Adapter.Send(ctx, m)
}

func verdict(ok bool) string {
	if ok {
		return "ok"
	}
	return "EXCEEDED"
}
