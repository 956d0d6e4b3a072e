package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	_ "github.com/pocketbase/pocketbase/migrations"

	"pregon/channels"
	"pregon/hooks"
	"pregon/outbox"
	_ "pregon/pb_migrations"
	"pregon/secretbox"
)

// outboxApp is a real Pregón app (PocketBase + SQLite in a temp dir, all
// migrations, hooks bound) for the outbox benchmarks. Its dispatchers are
// started by hand, as `serve` would.
type outboxApp struct {
	app *core.BaseApp
	env *hooks.Env
	dir string
}

func newOutboxApp(reg *channels.Registry, opts outbox.Options) (*outboxApp, error) {
	dir, err := os.MkdirTemp("", "pregon-bench-")
	if err != nil {
		return nil, err
	}
	app := core.NewBaseApp(core.BaseAppConfig{DataDir: dir})
	if err := app.Bootstrap(); err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	if err := app.RunAllMigrations(); err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	box, err := secretbox.New("pregon-bench-secret-key-0123456789")
	if err != nil {
		return nil, err
	}
	env := hooks.Bind(app, hooks.Options{Box: box, Registry: reg, NoWorkers: true, Outbox: opts})
	return &outboxApp{app: app, env: env, dir: dir}, nil
}

func (o *outboxApp) close() {
	o.env.Outbox.Stop(context.Background())
	o.app.ResetBootstrapState()
	os.RemoveAll(o.dir)
}

func (o *outboxApp) channel(typ channels.Type, cfg map[string]any, rate float64) (string, error) {
	col, err := o.app.FindCollectionByNameOrId("channels")
	if err != nil {
		return "", err
	}
	rec := core.NewRecord(col)
	rec.Set("name", "bench "+string(typ))
	rec.Set("type", string(typ))
	rec.Set("config", cfg)
	rec.Set("rate_per_second", rate)
	if err := o.app.Save(rec); err != nil {
		return "", err
	}
	return rec.Id, nil
}

// seed creates n contacts with one whatsapp identity each (raw prepared
// inserts) and queues one message to each through outbox.Enqueue, in chunks
// so that the benchmark's own memory stays flat.
func (o *outboxApp) seed(channel string, n int, content channels.Content) error {
	const chunk = 10000
	for start := 0; start < n; start += chunk {
		end := min(n, start+chunk)
		items := make([]outbox.Item, 0, end-start)
		err := o.app.RunInTransaction(func(tx core.App) error {
			cq := tx.DB().NewQuery(`INSERT INTO contacts (id, first_name, created, updated) VALUES ({:id}, 'bench', '', '')`).Prepare()
			iq := tx.DB().NewQuery(`INSERT INTO contact_identities (id, contact, kind, identifier, created, updated)
				VALUES ({:id}, {:c}, 'whatsapp', {:ident}, '', '')`).Prepare()
			defer cq.Close()
			defer iq.Close()
			for i := start; i < end; i++ {
				cid, iid := core.GenerateDefaultRandomId(), core.GenerateDefaultRandomId()
				if _, err := cq.Bind(dbx.Params{"id": cid}).Execute(); err != nil {
					return err
				}
				if _, err := iq.Bind(dbx.Params{"id": iid, "c": cid, "ident": fmt.Sprintf("+5215%09d", i)}).Execute(); err != nil {
					return err
				}
				items = append(items, outbox.Item{Channel: channel, Contact: cid, Identity: iid, Content: content,
					Source: outbox.SourceBroadcast, SourceID: "bench", DedupeKey: "b:bench:" + cid})
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("seeding contacts: %w", err)
		}
		if _, err := outbox.Enqueue(o.app, time.Now().UTC(), items); err != nil {
			return err
		}
	}
	return nil
}

func (o *outboxApp) countStatus(status string) int {
	var n int
	o.app.DB().NewQuery("SELECT COUNT(*) FROM messages WHERE status = {:s}").Bind(dbx.Params{"s": status}).Row(&n)
	return n
}

// waitSettled waits until none of the seeded messages is queued or sending.
// It polls through idx_messages_source (source_id, status), so that the
// measurement itself costs the database almost nothing.
func (o *outboxApp) waitSettled(timeout time.Duration) (time.Duration, error) {
	start := time.Now()
	for time.Since(start) < timeout {
		var n int
		o.app.DB().NewQuery(`SELECT COUNT(*) FROM messages WHERE source_id = 'bench' AND source_id != ''
			AND status IN ('queued', 'sending')`).Row(&n)
		if n == 0 {
			return time.Since(start), nil
		}
		time.Sleep(min(time.Duration(n)*time.Microsecond, 200*time.Millisecond))
	}
	return 0, fmt.Errorf("not settled after %s: %d sent", timeout, o.countStatus("sent"))
}

// sink is a loopback HTTP server that answers like WhatsApp Cloud's send
// endpoint and records when each request arrived.
type sink struct {
	srv      *httptest.Server
	n        atomic.Int64
	arrivals []int64 // unix nanos, preallocated; index by n
}

func newSink(capacity int) *sink {
	s := &sink{arrivals: make([]int64, capacity)}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		at := time.Now().UnixNano()
		io.Copy(io.Discard, r.Body)
		i := s.n.Add(1)
		if int(i) <= len(s.arrivals) {
			s.arrivals[i-1] = at
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"messaging_product":"whatsapp","contacts":[{"input":"x","wa_id":"x"}],"messages":[{"id":"wamid.B%d"}]}`, i)
	}))
	return s
}

// sinkAdapter speaks WhatsApp Cloud's send call to the sink: one JSON POST
// with a bearer token, the wamid read from the answer.
type sinkAdapter struct {
	url    string
	client *http.Client
}

var sinkCaps = channels.Capabilities{IdentityKind: channels.KindWhatsApp, Broadcasts: true,
	ContentTypes: []channels.ContentType{channels.ContentText, channels.ContentTemplate}, MaxTextLen: 4096,
	DefaultRate: 80, DailyTier: true, RequiredKeys: []string{"base_url"}, ConfigKeys: []string{"base_url"}}

func sinkRegistry() *channels.Registry {
	reg := channels.NewRegistry()
	reg.Register(channels.WhatsAppCloud, sinkCaps, func(cfg channels.Config, deps channels.Deps) (channels.Adapter, error) {
		return &sinkAdapter{url: cfg["base_url"] + "/v25.0/PNID/messages", client: deps.HTTP}, nil
	})
	return reg
}

func (a *sinkAdapter) Type() channels.Type                                    { return channels.WhatsAppCloud }
func (a *sinkAdapter) Capabilities() channels.Capabilities                    { return sinkCaps }
func (a *sinkAdapter) Verify(*channels.WebhookRequest) error                  { return nil }
func (a *sinkAdapter) Test(context.Context) error                             { return nil }
func (a *sinkAdapter) Handshake(*channels.WebhookRequest) (int, []byte, bool) { return 0, nil, false }
func (a *sinkAdapter) Parse(*channels.WebhookRequest) (channels.WebhookBatch, error) {
	return channels.WebhookBatch{}, nil
}

func (a *sinkAdapter) Send(ctx context.Context, m channels.OutMessage) (channels.SendResult, error) {
	body, _ := json.Marshal(map[string]any{"messaging_product": "whatsapp", "recipient_type": "individual",
		"to": strings.TrimPrefix(m.To, "+"), "type": "template", "template": m.Content.Template})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.url, strings.NewReader(string(body)))
	if err != nil {
		return channels.SendResult{}, err
	}
	req.Header.Set("Authorization", "Bearer bench")
	req.Header.Set("Content-Type", "application/json")
	res, err := a.client.Do(req)
	if err != nil {
		return channels.SendResult{}, err
	}
	defer res.Body.Close()
	var out struct {
		Messages []struct {
			ID string `json:"id"`
		} `json:"messages"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || res.StatusCode != 200 || len(out.Messages) == 0 {
		return channels.SendResult{}, &channels.Error{Class: channels.ClassRetry, Detail: fmt.Sprintf("status %d", res.StatusCode)}
	}
	return channels.SendResult{ProviderID: out.Messages[0].ID}, nil
}
