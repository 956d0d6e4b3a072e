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

// runDispatch measures messages dispatched per second end to end (claim,
// HTTP call through the WhatsApp Cloud adapter to the WhatsApp fake on
// loopback, result and event written) with the channel's rate limit out of
// the way. -provider picks where the calls go: the fake in this process (the
// issue's setting: app and fake share the two cores), the fake in a process
// of its own (so the app's CPU and the fake's are measured apart), or no
// provider at all (the app's own cost, no HTTP).
func runDispatch(args []string) error {
	fs := flag.NewFlagSet("dispatch", flag.ExitOnError)
	n := fs.Int("n", 200000, "messages to queue and send")
	inflight := fs.Int("inflight", 0, "concurrent provider calls (0: the outbox default)")
	provider := fs.String("provider", "fake", "fake (in this process), process (cmd/pregon-fakes in its own process) or null (no HTTP)")
	fakes := fs.String("fakes-binary", "bin/pregon-fakes", "the pregon-fakes binary for -provider process")
	batch := fs.Int("batch", 0, "claim size (0: the outbox default)")
	flushMax := fs.Int("flush-max", 0, "results per transaction (0: the outbox default)")
	linger := fs.Duration("linger", 0, "result writer's linger (0: the outbox default)")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the dispatch phase to this file")
	fs.Parse(args)

	pv, err := startProvider(*provider, *fakes)
	if err != nil {
		return err
	}
	defer pv.close()
	app, err := newOutboxAppWith(pv.registry, outbox.Options{MaxInFlight: *inflight, MaxBatch: *batch,
		FlushMax: *flushMax, FlushLinger: *linger})
	if err != nil {
		return err
	}
	defer app.close()
	ch, err := app.channel("whatsapp_cloud", pv.config, 100000)
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
	cpu0, pcpu0 := cpuTime(), pv.cpu()
	if err := app.env.Outbox.Start(); err != nil {
		return err
	}
	took, err := app.waitSettled(10 * time.Minute)
	cpu, pcpu := cpuTime()-cpu0, pv.cpu()-pcpu0
	if err != nil {
		return err
	}
	sent := app.countStatus("sent")
	per := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(max(sent, 1)) }
	split := fmt.Sprintf("CPU %.0f µs per message (app and fake, user+system)", per(cpu))
	switch *provider {
	case "process":
		split = fmt.Sprintf("CPU per message: app %.0f µs + fake process %.0f µs = %.0f µs", per(cpu), per(pcpu), per(cpu+pcpu))
	case "null":
		split = fmt.Sprintf("CPU %.0f µs per message (the app alone: no HTTP)", per(cpu))
	}
	fmt.Printf("dispatch (%s): %d messages sent in %s = %.0f msg/s (claim, call, result and message.status event written); %d accepted by the provider; %s; peak RSS %.0f MiB\n",
		*provider, sent, took.Round(time.Millisecond), float64(sent)/took.Seconds(), pv.accepted(), split, peakRSSMiB())
	return nil
}
