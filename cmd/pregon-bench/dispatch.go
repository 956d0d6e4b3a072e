package main

import (
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"time"

	"pregon/outbox"
)

func init() { commands["dispatch"] = runDispatch }

// cpuTime is this process's user + system CPU time so far.
// runDispatch measures messages dispatched per second end to end (claim,
// HTTP call through the WhatsApp Cloud adapter to the WhatsApp fake on loopback, result and event
// written) with the channel's rate limit out of the way.
func runDispatch(args []string) error {
	fs := flag.NewFlagSet("dispatch", flag.ExitOnError)
	n := fs.Int("n", 200000, "messages to queue and send")
	inflight := fs.Int("inflight", 0, "concurrent provider calls (0: the outbox default)")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the dispatch phase to this file")
	fs.Parse(args)

	fk, err := startWhatsAppFake()
	if err != nil {
		return err
	}
	defer fk.Close()
	fk.Log.SetRecording(false) // counters only: the fake's cheapest path
	app, err := newOutboxApp(outbox.Options{MaxInFlight: *inflight})
	if err != nil {
		return err
	}
	defer app.close()
	ch, err := app.whatsAppChannel(fk, 100000)
	if err != nil {
		return err
	}
	t0 := time.Now()
	if err := app.seed(ch, *n, promo); err != nil {
		return err
	}
	fmt.Printf("seeded %d contacts, identities and queued messages in %s\n", *n, time.Since(t0).Round(time.Millisecond))

	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		pprof.StartCPUProfile(f)
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	cpu0 := cpuTime()
	if err := app.env.Outbox.Start(); err != nil {
		return err
	}
	took, err := app.waitSettled(10 * time.Minute)
	cpu := cpuTime() - cpu0
	if err != nil {
		return err
	}
	sent := app.countStatus("sent")
	fmt.Printf("dispatch: %d messages sent in %s = %.0f msg/s (claim, HTTP call, result and message.status event written); %d HTTP requests; CPU %.0f µs per message (app and fake, user+system); peak RSS %.0f MiB\n",
		sent, took.Round(time.Millisecond), float64(sent)/took.Seconds(), fk.Log.Total(),
		float64(cpu.Microseconds())/float64(max(sent, 1)), peakRSSMiB())
	return nil
}
