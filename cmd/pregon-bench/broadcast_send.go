package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"

	"pregon/channels/whatsapp"
	wafake "pregon/channels/whatsapp/fake"
	"pregon/outbox"
	"pregon/secretbox"
	"pregon/segments"
)

func init() { commands["broadcast-send"] = runBroadcastSend }

// runBroadcastSend measures a whole broadcast as a person runs it: a real
// `pregon serve` process is asked over HTTP to send a broadcast to n
// contacts on a WhatsApp channel pointed at the WhatsApp fake (its limits
// off), which answers every send and, unless -statuses=false, posts sent,
// delivered and read back to the server as signed webhooks while the
// broadcast is still going out. Reported: planning and sending time, msg/s,
// the time until every status was counted, the server's CPU per message and
// its peak RSS.
func runBroadcastSend(args []string) error {
	fs := flag.NewFlagSet("broadcast-send", flag.ExitOnError)
	n := fs.Int("n", 100000, "contacts (each gets one message)")
	binary := fs.String("binary", "bin/pregon", "the pregon binary to run (make build)")
	statuses := fs.Bool("statuses", true, "post sent, delivered and read webhooks for every accepted message while it sends")
	posters := fs.Int("posters", 32, "concurrent connections posting status webhooks")
	rate := fs.Float64("rate", 100000, "the channel's rate, msg/s")
	fs.Parse(args)

	// The fake's own emitter posts one webhook at a time (so that tests see
	// the order they scripted): far slower than Meta, and it drops what its
	// queue cannot hold. The benchmark posts the statuses itself, signed as
	// Meta signs them, from many connections.
	fk, err := wafake.Start(wafake.Options{Rate: wafake.Unlimited, PairSpacing: wafake.Unlimited, Window: wafake.WindowOff,
		NoStatuses: true, Templates: []wafake.Template{{Name: "promo", Language: "es", Params: 1}}})
	if err != nil {
		return err
	}
	defer fk.Close()
	fk.Log.SetRecording(false)

	app, err := newOutboxApp(outbox.Options{})
	if err != nil {
		return err
	}
	defer os.RemoveAll(app.dir)
	ch, err := app.whatsAppChannel(fk, *rate)
	if err != nil {
		return err
	}
	t0 := time.Now()
	if err := seedContacts(app.app, *n); err != nil {
		return err
	}
	seg, err := findOrSaveSegment(app.app, "Toda la clientela", segments.Everyone)
	if err != nil {
		return err
	}
	col, err := app.app.FindCollectionByNameOrId("broadcasts")
	if err != nil {
		return err
	}
	b := core.NewRecord(col)
	b.Set("name", "Benchmark")
	b.Set("status", "draft")
	b.Set("segment", seg.Id)
	b.Set("channel_mode", "specific")
	b.Set("channel", ch)
	b.Set("content", map[string]any{"whatsapp_cloud": map[string]any{
		"template": map[string]any{"name": "promo", "language": "es", "params": []string{"{{contact.first_name|cliente}}"}}}})
	if err := app.app.Save(b); err != nil {
		return err
	}
	app.release()
	fmt.Printf("seeded %d contacts in %s\n", *n, time.Since(t0).Round(time.Millisecond))

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(*binary, "serve", "--http="+addr, "--dir="+app.dir)
	cmd.Env = append(os.Environ(), secretbox.EnvKey+"="+benchSecretKey)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}()
	base := "http://" + addr
	fk.SetCallback(base + "/api/pregon/webhooks/" + ch)
	var setup struct{ Token string }
	for try := 0; ; try++ {
		if err := httpJSON("POST", base+"/api/pregon/setup", "", map[string]string{"email": "bench@tienda.mx",
			"password": "a-long-password-1", "name": "Bench"}, &setup); err == nil {
			break
		} else if try > 200 {
			return fmt.Errorf("the server did not come up: %v\n%s", err, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	pid := cmd.Process.Pid
	cpu0 := procCPU(pid)
	start := time.Now()
	var poster *statusPoster
	if *statuses {
		poster = startStatusPoster(fk, base+"/api/pregon/webhooks/"+ch, *n, *posters)
		defer poster.stop()
	}
	if err := httpJSON("POST", base+"/api/pregon/broadcasts/"+b.Id+"/send", setup.Token, nil, nil); err != nil {
		return err
	}
	var rec struct {
		Status    string `json:"status"`
		PlanDone  bool   `json:"plan_done"`
		Queued    int    `json:"queued"`
		Sent      int    `json:"sent"`
		Delivered int    `json:"delivered"`
		Read      int    `json:"read"`
		Failed    int    `json:"failed"`
	}
	var planned, completed, counted time.Duration
	var plannedPeak float64
	peak := 0.0
	for {
		if v := procStatusMiB(fmt.Sprintf("/proc/%d/status", pid), "VmHWM:"); v > peak {
			peak = v
		}
		if err := httpJSON("GET", base+"/api/collections/broadcasts/records/"+b.Id, setup.Token, nil, &rec); err != nil {
			return err
		}
		if rec.PlanDone && planned == 0 {
			planned = time.Since(start)
			plannedPeak = procStatusMiB(fmt.Sprintf("/proc/%d/status", pid), "VmHWM:")
		}
		if rec.Status != "sending" && completed == 0 {
			completed = time.Since(start)
		}
		if completed > 0 && (!*statuses || rec.Read == rec.Sent) {
			counted = time.Since(start)
			break
		}
		if time.Since(start) > 30*time.Minute {
			return fmt.Errorf("not done after 30 minutes: %+v", rec)
		}
		time.Sleep(200 * time.Millisecond)
	}
	cpu := procCPU(pid) - cpu0
	fmt.Printf("broadcast-send: %d recipients, status %s (sent %d, failed %d, delivered %d, read %d)\n", *n, rec.Status, rec.Sent, rec.Failed, rec.Delivered, rec.Read)
	fmt.Printf("  planned in %s; sent in %s = %.0f msg/s from the send request; every status counted after %s\n",
		planned.Round(time.Millisecond), completed.Round(time.Millisecond), float64(rec.Sent)/completed.Seconds(), counted.Round(time.Millisecond))
	fmt.Printf("  server CPU %.0f µs per message (user+system, statuses included); peak RSS of the server %.0f MiB (%.0f MiB when planning was done)\n",
		float64(cpu.Microseconds())/float64(max(rec.Sent, 1)), peak, plannedPeak)
	if poster != nil {
		fmt.Printf("  status webhooks: %d posted, %d refused\n", poster.posted.Load(), poster.refused.Load())
	}
	fmt.Printf("  the fake: %d requests\n", fk.Log.Total())
	return nil
}

// statusPoster posts sent, delivered and read for message k (the fake's
// wamid.FAKE<k>) once the fake has accepted k messages: one status per
// signed POST, as Meta sends them, while the broadcast is still going out.
type statusPoster struct {
	posted, refused atomic.Int64
	quit            chan struct{}
	done            sync.WaitGroup
}

func startStatusPoster(fk *wafake.Fake, url string, n, workers int) *statusPoster {
	p := &statusPoster{quit: make(chan struct{})}
	o := fk.Options()
	jobs := make(chan int, 4096)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}, Timeout: 30 * time.Second}
	for range workers {
		p.done.Add(1)
		go func() {
			defer p.done.Done()
			for k := range jobs {
				for _, st := range []string{"sent", "delivered", "read"} {
					body := fmt.Sprintf(`{"object":"whatsapp_business_account","entry":[{"id":%q,"changes":[{"field":"messages","value":{`+
						`"messaging_product":"whatsapp","metadata":{"display_phone_number":%q,"phone_number_id":%q},`+
						`"statuses":[{"id":"wamid.FAKE%06d","status":%q,"timestamp":"%d","recipient_id":"5215%09d"}]}}]}]}`,
						o.WABAID, o.DisplayPhone, o.PhoneNumberID, k, st, time.Now().Unix(), k-1)
					req, _ := http.NewRequest("POST", url, strings.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set(whatsapp.SignatureHeader, whatsapp.Sign([]byte(o.AppSecret), []byte(body)))
					res, err := client.Do(req)
					if err != nil {
						p.refused.Add(1)
						continue
					}
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if res.StatusCode == 200 {
						p.posted.Add(1)
					} else {
						p.refused.Add(1)
					}
				}
			}
		}()
	}
	go func() {
		defer close(jobs)
		for k := 1; k <= n; k++ {
			for fk.Log.Accepted() < int64(k) {
				select {
				case <-p.quit:
					return
				case <-time.After(5 * time.Millisecond):
				}
			}
			select {
			case jobs <- k:
			case <-p.quit:
				return
			}
		}
	}()
	return p
}

func (p *statusPoster) stop() {
	close(p.quit)
	p.done.Wait()
}

// seedContacts writes n contacts with a WhatsApp identity each.
func seedContacts(app core.App, n int) error {
	const chunk = 10000
	for start := 0; start < n; start += chunk {
		end := min(n, start+chunk)
		err := app.RunInTransaction(func(tx core.App) error {
			cq := tx.DB().NewQuery(`INSERT INTO contacts (id, first_name, phone, created, updated) VALUES ({:id}, {:name}, {:p}, '', '')`).Prepare()
			iq := tx.DB().NewQuery(`INSERT INTO contact_identities (id, contact, kind, identifier, from_phone, created, updated)
				VALUES ({:id}, {:c}, 'whatsapp', {:p}, TRUE, '', '')`).Prepare()
			defer cq.Close()
			defer iq.Close()
			for i := start; i < end; i++ {
				cid, phone := core.GenerateDefaultRandomId(), fmt.Sprintf("+5215%09d", i)
				if _, err := cq.Bind(dbx.Params{"id": cid, "name": fmt.Sprintf("Cliente %d", i), "p": phone}).Execute(); err != nil {
					return err
				}
				if _, err := iq.Bind(dbx.Params{"id": core.GenerateDefaultRandomId(), "c": cid, "p": phone}).Execute(); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("seeding contacts: %w", err)
		}
	}
	return nil
}

// httpJSON sends a JSON request and decodes a 2xx JSON answer into out.
func httpJSON(method, url, token string, body, out any) error {
	var r io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %d %s", method, url, res.StatusCode, raw)
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}
