package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	_ "github.com/pocketbase/pocketbase/migrations"

	"pregon/channels"
	wafake "pregon/channels/whatsapp/fake"
	"pregon/hooks"
	"pregon/internal/sqlitemem"
	"pregon/outbox"
	_ "pregon/pb_migrations"
	"pregon/secretbox"
)

// benchSecretKey seals channel secrets; a server started on the same data
// dir gets it as PREGON_SECRET_KEY.
const benchSecretKey = "pregon-bench-secret-key-0123456789"

// outboxApp is a real Pregón app (PocketBase + SQLite in a temp dir, all
// migrations, hooks bound) for the outbox benchmarks. Its dispatchers are
// started by hand, as `serve` would.
type outboxApp struct {
	app *core.BaseApp
	env *hooks.Env
	dir string
}

func newOutboxApp(opts outbox.Options) (*outboxApp, error) {
	return newOutboxAppWith(hooks.DefaultRegistry(), opts)
}

func newOutboxAppWith(reg *channels.Registry, opts outbox.Options) (*outboxApp, error) {
	dir, err := os.MkdirTemp("", "pregon-bench-")
	if err != nil {
		return nil, err
	}
	app := core.NewBaseApp(core.BaseAppConfig{DataDir: dir, DBConnect: sqlitemem.Connect})
	if err := app.Bootstrap(); err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	if err := app.RunAllMigrations(); err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	box, err := secretbox.New(benchSecretKey)
	if err != nil {
		return nil, err
	}
	env := hooks.Bind(app, hooks.Options{Box: box, Registry: reg, NoWorkers: true, Outbox: opts})
	return &outboxApp{app: app, env: env, dir: dir}, nil
}

func (o *outboxApp) close() {
	o.release()
	os.RemoveAll(o.dir)
}

// release stops the app's dispatchers and closes its databases, keeping the
// data dir (for a real server to take over).
func (o *outboxApp) release() {
	o.env.Outbox.Stop(context.Background())
	o.app.ResetBootstrapState()
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
// It asks whether one exists, through idx_messages_source (source_id,
// status), so that the measurement itself costs the database almost nothing.
func (o *outboxApp) waitSettled(timeout time.Duration) (time.Duration, error) {
	start := time.Now()
	for time.Since(start) < timeout {
		var left bool
		o.app.DB().NewQuery(`SELECT EXISTS (SELECT 1 FROM messages WHERE source_id = 'bench' AND source_id != ''
			AND status IN ('queued', 'sending'))`).Row(&left)
		if !left {
			return time.Since(start), nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return 0, fmt.Errorf("not settled after %s: %d sent", timeout, o.countStatus("sent"))
}

// startWhatsAppFake runs the WhatsApp Cloud fake on loopback with its own
// limits off (the outbox is what is measured) and no status webhooks.
func startWhatsAppFake() (*wafake.Fake, error) {
	return wafake.Start(wafake.Options{Rate: wafake.Unlimited, PairSpacing: wafake.Unlimited, Window: wafake.WindowOff,
		NoStatuses: true, Templates: []wafake.Template{{Name: "promo", Language: "es"}}})
}

// whatsAppChannel creates a whatsapp_cloud channel pointed at the fake.
func (o *outboxApp) whatsAppChannel(fk *wafake.Fake, rate float64) (string, error) {
	return o.channel(channels.WhatsAppCloud, fakeChannelConfig(fk.URL(), fk.Options()), rate)
}

var promo = channels.Content{Template: &channels.Template{Name: "promo", Language: "es"}}
