package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase"
	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"

	"pregon/channels/fakekit"
	"pregon/channels/sandbox"
	"pregon/channels/whatsapp"
	"pregon/hooks"
	"pregon/internal/sqlitemem"
	_ "pregon/pb_migrations"
	"pregon/secretbox"
)

func init() { commands["webhooks"] = benchWebhooks }

// benchWebhooks measures signed status webhooks ingested durably per second
// (verified, stored through the group commit, acknowledged) and their
// latency, then how fast the worker applies them to the messages.
func benchWebhooks(args []string) error {
	fs := flag.NewFlagSet("webhooks", flag.ContinueOnError)
	n := fs.Int("n", 50000, "status webhooks to send")
	conc := fs.Int("c", 64, "concurrent senders (keep-alive connections)")
	typ := fs.String("type", "whatsapp_cloud", "channel type whose signed webhooks are sent: "+benchTypeList())
	apply := fs.Bool("apply", true, "run the inbox worker during the load (false: measure storing alone, then apply)")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the run to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	wire, ok := benchWires[*typ]
	if !ok {
		return fmt.Errorf("-type %q: choose one of %s", *typ, benchTypeList())
	}

	dir, err := os.MkdirTemp("", "pregon-bench-webhooks-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	app, env, err := benchApp(dir, !*apply)
	if err != nil {
		return err
	}
	defer app.ResetBootstrapState()

	ch, secret, err := wire.channel(app, env)
	if err != nil {
		return fmt.Errorf("creating the %s channel: %w", *typ, err)
	}
	if err := benchOutboundMessages(app, ch, *n, wire.providerID); err != nil {
		return err
	}
	url, stop, err := benchServe(app)
	if err != nil {
		return err
	}
	defer stop()
	url += "/api/pregon/webhooks/" + ch

	// Bodies and signatures are made before the clock starts: the figure
	// is the appliance's, not the load generator's.
	type req struct {
		body []byte
		hdr  http.Header
	}
	reqs := make([]req, *n)
	for i := range reqs {
		body, hdr := wire.status(secret, url, wire.providerID(i), i)
		reqs[i] = req{body, hdr}
	}

	client := &http.Client{Transport: &http.Transport{MaxIdleConns: *conc, MaxIdleConnsPerHost: *conc, MaxConnsPerHost: *conc}}
	lat := make([]time.Duration, *n)
	var next, failed atomic.Int64
	var wg sync.WaitGroup
	cpu0 := fakekit.ProcessCPU()
	start := time.Now()
	for w := 0; w < *conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= *n {
					return
				}
				r, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(reqs[i].body))
				r.Header = reqs[i].hdr.Clone()
				t0 := time.Now()
				res, err := client.Do(r)
				lat[i] = time.Since(t0)
				if err != nil {
					failed.Add(1)
					continue
				}
				var sink [512]byte
				for {
					if _, err := res.Body.Read(sink[:]); err != nil {
						break
					}
				}
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	ingest := time.Since(start)
	cpuIngest := fakekit.ProcessCPU() - cpu0

	// Processing: until every status is applied to its message.
	if !*apply {
		if _, err := env.Inbox.Drain(context.Background()); err != nil {
			return err
		}
	}
	var applied int
	for {
		if err := app.DB().NewQuery(`SELECT COUNT(*) FROM messages WHERE channel = {:ch} AND status = 'delivered'`).
			Bind(dbx.Params{"ch": ch}).Row(&applied); err != nil {
			return err
		}
		if applied >= *n-int(failed.Load()) || time.Since(start) > 10*time.Minute {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	total := time.Since(start)
	cpuTotal := fakekit.ProcessCPU() - cpu0

	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) time.Duration { return lat[int(p*float64(len(lat)-1))] }
	fmt.Printf("webhooks: type=%s n=%d concurrency=%d failed=%d\n", *typ, *n, *conc, failed.Load())
	fmt.Printf("ingested durably: %.0f/s (%.2fs)\n", float64(*n)/ingest.Seconds(), ingest.Seconds())
	fmt.Printf("latency: p50 %s, p90 %s, p99 %s, max %s\n", pct(.50).Round(10*time.Microsecond), pct(.90).Round(10*time.Microsecond),
		pct(.99).Round(10*time.Microsecond), lat[len(lat)-1].Round(10*time.Microsecond))
	fmt.Printf("applied to messages: %d in %.2fs from the first request (%.0f/s end to end)\n", applied, total.Seconds(),
		float64(applied)/total.Seconds())
	// On a shared machine CPU per webhook is the steadier figure; it counts
	// the whole process: load generator, HTTP, verify, store and apply.
	fmt.Printf("CPU per webhook: %s while ingesting, %s in all (load generator included)\n",
		(cpuIngest / time.Duration(*n)).Round(time.Microsecond), (cpuTotal / time.Duration(*n)).Round(time.Microsecond))
	fmt.Printf("peak RSS: %.0f MiB\n", peakRSSMiB())
	if failed.Load() > 0 || applied < *n {
		return fmt.Errorf("%d requests failed, %d of %d statuses applied", failed.Load(), applied, *n)
	}
	return nil
}

// benchApp is a real app on a fresh data dir, migrated and bound, with no
// PocketBase dev mode (which would print every SQL statement).
func benchApp(dir string, noWorkers bool) (*pocketbase.PocketBase, *hooks.Env, error) {
	box, err := secretbox.New("pregon-bench-secret-key-0123456789")
	if err != nil {
		return nil, nil, err
	}
	app := pocketbase.NewWithConfig(pocketbase.Config{DefaultDataDir: dir, DefaultDev: false, DBConnect: sqlitemem.Connect})
	env := hooks.Bind(app, hooks.Options{Box: box, NoWorkers: noWorkers})
	if err := app.Bootstrap(); err != nil {
		return nil, nil, fmt.Errorf("bootstrapping: %w", err)
	}
	if err := app.RunAllMigrations(); err != nil {
		return nil, nil, fmt.Errorf("migrating: %w", err)
	}
	// Request logs would go to the aux database; the webhook route skips
	// successes anyway, but keep the bench free of them.
	app.Settings().Logs.MaxDays = 0
	return app, env, nil
}

// benchServe serves app on a loopback port as `pregon serve` would, with
// the workers running.
func benchServe(app core.App) (string, func(), error) {
	r, err := apis.NewRouter(app)
	if err != nil {
		return "", nil, err
	}
	var mux http.Handler
	se := &core.ServeEvent{App: app, Router: r, Server: &http.Server{}}
	if err := app.OnServe().Trigger(se, func(e *core.ServeEvent) error {
		var err error
		mux, err = e.Router.BuildMux()
		return err
	}); err != nil {
		return "", nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: mux}
	go srv.Serve(l)
	stop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		app.OnTerminate().Trigger(&core.TerminateEvent{App: app}, func(e *core.TerminateEvent) error { return nil })
	}
	return "http://" + l.Addr().String(), stop, nil
}

// benchOutboundMessages inserts n sent messages, as the outbox leaves them,
// for the statuses to find.
func benchOutboundMessages(app core.App, channel string, n int, pid func(int) string) error {
	return app.RunInTransaction(func(tx core.App) error {
		q := tx.DB().NewQuery(`INSERT INTO messages (id, direction, channel, content, status, provider_id, created, updated)
			VALUES ({:id}, 'out', {:ch}, '{"text":"hola"}', 'sent', {:pid}, {:now}, {:now})`).Prepare()
		defer q.Close()
		now := types.NowDateTime().String()
		for i := 0; i < n; i++ {
			if _, err := q.Bind(dbx.Params{"id": core.GenerateDefaultRandomId(), "ch": channel, "pid": pid(i), "now": now}).Execute(); err != nil {
				return err
			}
		}
		return nil
	})
}

// benchWire is one provider's signed status webhook.
type benchWire struct {
	channel    func(app core.App, env *hooks.Env) (id, secret string, err error)
	providerID func(i int) string
	status     func(secret, url, providerID string, i int) ([]byte, http.Header)
}

var benchWires = map[string]benchWire{
	// WhatsApp Cloud: one delivered status per webhook, shaped and signed
	// as Meta sends it (X-Hub-Signature-256 over the raw body).
	"whatsapp_cloud": {
		channel: func(app core.App, env *hooks.Env) (string, string, error) {
			const secret = "bench-app-secret"
			id, err := benchChannel(app, "whatsapp_cloud", map[string]any{"phone_number_id": "100000000000001",
				"access_token": "bench-token", "app_secret": secret, "verify_token": "bench-verify", "base_url": "http://127.0.0.1:9"})
			return id, secret, err
		},
		providerID: func(i int) string { return fmt.Sprintf("wamid.BENCH%015d", i) },
		status: func(secret, _, pid string, i int) ([]byte, http.Header) {
			body := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"200000000000002","changes":[{"field":"messages",` +
				`"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001234","phone_number_id":"100000000000001"},` +
				`"statuses":[{"id":"` + pid + `","status":"delivered","timestamp":"` + fmt.Sprint(time.Now().Unix()) + `",` +
				`"recipient_id":"5215512345678","conversation":{"id":"CONV` + pid[6:] + `","origin":{"type":"marketing"}},` +
				`"pricing":{"billable":true,"pricing_model":"PMP","category":"marketing","type":"regular"}}]}}]}]}`)
			return body, http.Header{"Content-Type": {"application/json"}, whatsapp.SignatureHeader: {whatsapp.Sign([]byte(secret), body)}}
		},
	},
	"sandbox": {
		channel: func(app core.App, env *hooks.Env) (string, string, error) {
			id, err := benchChannel(app, "sandbox", map[string]any{sandbox.SecretKey: "bench-signing-secret"})
			return id, "bench-signing-secret", err
		},
		providerID: func(i int) string { return fmt.Sprintf("%s%015d", sandbox.ProviderPrefix, i) },
		status: func(secret, _, pid string, i int) ([]byte, http.Header) {
			// The bench's messages have random ids, so the sandbox's
			// message_id misses and the lookup by provider id (the
			// providers' path) finds them.
			body, _ := json.Marshal(sandbox.Delivery{Statuses: []sandbox.Status{{
				MessageID: pid[len(sandbox.ProviderPrefix):], Status: "delivered", TS: time.Now().UnixMilli()}}})
			m := hmac.New(sha256.New, []byte(secret))
			m.Write(body)
			return body, http.Header{"Content-Type": {"application/json"}, sandbox.SignatureHeader: {hex.EncodeToString(m.Sum(nil))}}
		},
	},
}

func benchChannel(app core.App, typ string, cfg map[string]any) (string, error) {
	col, err := app.FindCollectionByNameOrId("channels")
	if err != nil {
		return "", err
	}
	r := core.NewRecord(col)
	r.Set("name", "bench "+typ)
	r.Set("type", typ)
	r.Set("config", cfg)
	return r.Id, app.Save(r)
}

func benchTypeList() string {
	var names []string
	for k := range benchWires {
		names = append(names, k)
	}
	sort.Strings(names)
	return fmt.Sprint(names)
}
