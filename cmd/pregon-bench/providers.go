package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"pregon/channels"
	"pregon/channels/whatsapp"
	wafake "pregon/channels/whatsapp/fake"
	"pregon/hooks"
)

// benchProvider is where a dispatch benchmark's messages go: the WhatsApp
// fake in this process, the fake in a process of its own (cmd/pregon-fakes),
// or no provider at all (the app's own cost).
type benchProvider struct {
	// config points a whatsapp_cloud channel at the provider.
	config map[string]any
	// registry is the app's adapter registry for this provider.
	registry *channels.Registry
	// accepted counts sends the provider took.
	accepted func() int64
	// cpu is the provider's own CPU time so far, when it runs in a process of
	// its own (0 otherwise: it is part of this process's).
	cpu   func() time.Duration
	close func()
}

// startProvider starts the provider named kind: "fake" (the WhatsApp fake on
// loopback in this process), "process" (the same fake run by the pregon-fakes
// binary in its own process) or "null" (an adapter that answers at once
// without any HTTP: what the app itself costs per message).
func startProvider(kind, fakesBinary string) (*benchProvider, error) {
	switch kind {
	case "fake":
		fk, err := startWhatsAppFake()
		if err != nil {
			return nil, err
		}
		fk.Log.SetRecording(false) // counters only: the fake's cheapest path
		return &benchProvider{config: fakeChannelConfig(fk.URL(), fk.Options()), registry: hooks.DefaultRegistry(),
			accepted: fk.Log.Accepted, cpu: func() time.Duration { return 0 }, close: fk.Close}, nil
	case "process":
		return startFakesProcess(fakesBinary)
	case "null":
		var n atomic.Int64
		reg := hooks.DefaultRegistry()
		reg.Register(channels.WhatsAppCloud, whatsapp.Capabilities(), func(cfg channels.Config, deps channels.Deps) (channels.Adapter, error) {
			a, err := whatsapp.New(cfg, deps)
			if err != nil {
				return nil, err
			}
			return nullAdapter{Adapter: a, n: &n}, nil
		})
		o := wafake.Options{}
		return &benchProvider{config: fakeChannelConfig("http://127.0.0.1:9", o), registry: reg,
			accepted: n.Load, cpu: func() time.Duration { return 0 }, close: func() {}}, nil
	}
	return nil, fmt.Errorf("provider %q: use fake, process or null", kind)
}

func fakeChannelConfig(url string, o wafake.Options) map[string]any {
	if o.PhoneNumberID == "" {
		o.PhoneNumberID, o.AccessToken, o.AppSecret = "100000000000001", "fake-access-token", "fake-app-secret"
	}
	return map[string]any{whatsapp.KeyBaseURL: url, whatsapp.KeyPhoneNumberID: o.PhoneNumberID,
		whatsapp.KeyAccessToken: o.AccessToken, whatsapp.KeyAppSecret: o.AppSecret, whatsapp.KeyVerifyToken: "verify-123"}
}

// nullAdapter is the real WhatsApp adapter with Send answered at once: the
// provider's side and the HTTP exchange cost nothing.
type nullAdapter struct {
	*whatsapp.Adapter
	n *atomic.Int64
}

func (a nullAdapter) Send(ctx context.Context, m channels.OutMessage) (channels.SendResult, error) {
	return channels.SendResult{ProviderID: "wamid.NULL" + strconv.FormatInt(a.n.Add(1), 10)}, nil
}

// startFakesProcess runs the WhatsApp fake of cmd/pregon-fakes in its own
// process with its limits, window, status webhooks and request log off, adds
// the benchmark's template through its control API, and reads the process's
// CPU time from /proc while it runs.
func startFakesProcess(binary string) (*benchProvider, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(binary, "-whatsapp", addr, "-telegram", "off", "-twilio", "off",
		"-whatsapp-rate", "-1", "-whatsapp-pair-spacing", "-1ns", "-whatsapp-window", "off",
		"-whatsapp-statuses=false", "-log=false")
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s (build it with go build -o bin/pregon-fakes ./cmd/pregon-fakes): %w", binary, err)
	}
	stop := func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}
	base := "http://" + addr
	var up error
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if up = postJSON(base+"/_fake/templates", map[string]any{"name": "promo", "language": "es"}); up == nil {
			break
		}
	}
	if up != nil {
		stop()
		return nil, fmt.Errorf("the fakes process did not come up on %s: %w", addr, up)
	}
	pid := cmd.Process.Pid
	return &benchProvider{config: fakeChannelConfig(base, wafake.Options{}), registry: hooks.DefaultRegistry(),
		accepted: func() int64 {
			var st struct {
				Accepted int64 `json:"accepted"`
			}
			getJSON(base+"/_fake/stats", &st)
			return st.Accepted
		},
		cpu: func() time.Duration { return procCPU(pid) }, close: stop}, nil
}

func postJSON(url string, body any) error {
	raw, _ := json.Marshal(body)
	resp, err := http.Post(url, "application/json", bytes.NewReader(raw))
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: HTTP %d", url, resp.StatusCode)
	}
	return nil
}

func getJSON(url string, out any) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(out)
}

// procCPU is another process's user + system CPU time, from /proc/<pid>/stat.
func procCPU(pid int) time.Duration {
	f, err := os.Open(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	line, _ := bufio.NewReader(f).ReadString('\n')
	// The command name (field 2) may hold spaces; fields after its ')' are fixed.
	i := strings.LastIndexByte(line, ')')
	if i < 0 {
		return 0
	}
	fields := strings.Fields(line[i+1:])
	if len(fields) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / clockTicks
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat times (100 on Linux).
const clockTicks = 100
