package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	wafake "pregon/channels/whatsapp/fake"
	"pregon/outbox"
	"pregon/secretbox"
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
	binary := fs.String("binary", "", "measure this pregon binary (e.g. bin/pregon from make build) serving the backlog, instead of this process")
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

	if *binary != "" {
		app.release()
		return serverRSS(*binary, app.dir, *n, *rate, time.Duration(*seconds)*time.Second, fk)
	}
	runtime.GC()
	debug.FreeOSMemory()
	resetPeakRSS()
	before := peakRSSMiB()
	if err := app.env.Outbox.Start(); err != nil {
		return err
	}
	time.Sleep(time.Duration(*seconds) * time.Second)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if raw, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, l := range strings.Split(string(raw), "\n") {
			if strings.HasPrefix(l, "Rss") {
				fmt.Print(strings.Join(strings.Fields(l), " "), "; ")
			}
		}
	}
	fmt.Printf("go runtime: heap in use %.0f MiB, stacks %.0f MiB, obtained from the OS %.0f MiB; %d goroutines\n",
		float64(ms.HeapInuse)/(1<<20), float64(ms.StackInuse)/(1<<20), float64(ms.Sys)/(1<<20), runtime.NumGoroutine())
	fmt.Printf("queued-rss: %d queued, dispatching at %.0f msg/s for %ds (%d sent): peak RSS %.0f MiB (goal < 150 MB; %.0f MiB resident before the dispatchers started)\n",
		*n, *rate, *seconds, fk.Log.Accepted(), peakRSSMiB(), before)
	return nil
}

// resetPeakRSS resets VmHWM to the current RSS (Linux: clear_refs value 5).
func resetPeakRSS() {
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// serverRSS runs `pregon serve` on the seeded data dir and samples the
// server process's peak RSS while it dispatches to the fake.
func serverRSS(binary, dir string, n int, rate float64, d time.Duration, fk *wafake.Fake) error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(binary, "serve", "--http="+addr, "--dir="+dir)
	cmd.Env = append(os.Environ(), secretbox.EnvKey+"="+benchSecretKey)
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}()
	status := fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)
	peak := 0.0
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(250 * time.Millisecond) {
		if v := procStatusMiB(status, "VmHWM:"); v > peak {
			peak = v
		}
	}
	fmt.Printf("queued-rss (pregon serve): %d queued, dispatching at %.0f msg/s for %s (%d sent): peak RSS of the server %.0f MiB (goal < 150 MB)\n",
		n, rate, d, fk.Log.Accepted(), peak)
	return nil
}

func procStatusMiB(path, field string) float64 {
	raw, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(l, field); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}
