package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"time"

	"pregon/outbox"
)

func init() { commands["queued-rss"] = runQueuedRSS }

// runQueuedRSS measures the process's peak resident memory while a large
// backlog (1,000,000 messages by default) sits in the outbox and a channel
// works through it at its rate: the dispatcher must hold batches, never the
// queue. The peak is reset after seeding, so the figure is the dispatching
// app's, not the seeder's.
func runQueuedRSS(args []string) error {
	fs := flag.NewFlagSet("queued-rss", flag.ExitOnError)
	n := fs.Int("n", 1000000, "messages queued")
	rate := fs.Float64("rate", 1000, "channel rate while measuring, msg/s")
	seconds := fs.Int("seconds", 30, "how long to dispatch while measuring")
	fs.Parse(args)

	fk, err := startWhatsAppFake()
	if err != nil {
		return err
	}
	defer fk.Close()
	fk.Log.SetRecording(false)
	app, err := newOutboxApp(outbox.Options{})
	if err != nil {
		return err
	}
	defer app.close()
	ch, err := app.whatsAppChannel(fk, *rate)
	if err != nil {
		return err
	}
	t0 := time.Now()
	if err := app.seed(ch, *n, promo); err != nil {
		return err
	}
	seedPeak := peakRSSMiB()
	fmt.Printf("seeded %d queued messages in %s (peak RSS while seeding %.0f MiB)\n", *n, time.Since(t0).Round(time.Second), seedPeak)

	runtime.GC()
	debug.FreeOSMemory()
	resetPeakRSS()
	before := peakRSSMiB()
	if err := app.env.Outbox.Start(); err != nil {
		return err
	}
	time.Sleep(time.Duration(*seconds) * time.Second)
	fmt.Printf("queued-rss: %d queued, dispatching at %.0f msg/s for %ds (%d sent): peak RSS %.0f MiB (goal < 150 MB; %.0f MiB resident before the dispatchers started)\n",
		*n, *rate, *seconds, fk.Log.Accepted(), peakRSSMiB(), before)
	return nil
}

// resetPeakRSS resets VmHWM to the current RSS (Linux: clear_refs value 5).
func resetPeakRSS() {
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}
