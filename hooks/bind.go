// Package hooks is the seam between PocketBase and Pregón's domain packages:
// record hooks, custom routes and background workers, one file per area.
// Handlers stay thin: parse the request, check auth, call a domain package,
// write the response.
package hooks

import (
	"fmt"
	"log/slog"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"

	"pregon/broadcasts"
	"pregon/channels"
	"pregon/channels/sandbox"
	"pregon/channels/telegram"
	"pregon/channels/twilio"
	"pregon/channels/webchat"
	"pregon/channels/whatsapp"
	"pregon/channelstore"
	"pregon/clock"
	"pregon/contactcsv"
	"pregon/inbound"
	"pregon/internal/sqlitemem"
	"pregon/outbox"
	"pregon/secretbox"
)

// Options configure Bind. Zero values are production defaults.
type Options struct {
	// Box encrypts channel secrets. Nil: loaded at bootstrap from
	// PREGON_SECRET_KEY or the data dir (see secretbox.Load).
	Box *secretbox.Box
	// Clock is the time source for windows, tiers and schedules.
	Clock clock.Clock
	// Registry lists the channel types. Nil: every built-in adapter.
	Registry *channels.Registry
	// NoWorkers keeps background workers (outbox, imports, schedulers) from
	// starting on serve; tests that drive them by hand set it.
	NoWorkers bool
	// Outbox tunes the send queue's dispatchers (backoff, batch sizes...).
	Outbox outbox.Options
	// Broadcasts tunes the broadcast engine (planning chunks, loop tick).
	Broadcasts broadcasts.Options
}

// Env is what every area of the app shares. It belongs to one app; there is
// no package-level state.
type Env struct {
	App      core.App
	Box      *secretbox.Box
	Clock    clock.Clock
	Registry *channels.Registry
	// Channels builds and caches adapters from channel records.
	Channels *channelstore.Store
	Opts     Options
	// Imports runs CSV imports in the background.
	Imports *contactcsv.Runner
	// Inbox stores verified webhook deliveries and processes them in order.
	Inbox *inbound.Inbox
	// webchat holds the web-chat endpoints' rate limiters.
	webchat *webchatLimits
	// SegmentWhere compiles a segment into an SQL boolean expression over
	// the contacts table aliased c, with dbx {:name} params. Set by the
	// segments area; nil while segments are not available.
	SegmentWhere func(app core.App, segmentID string) (where string, params dbx.Params, err error)

	// Outbox queues outbound messages and runs the per-channel dispatchers.
	Outbox *outbox.Manager

	// Broadcasts plans, steers and counts broadcasts.
	Broadcasts *broadcasts.Engine
}

// Log returns the app's logger.
func (env *Env) Log() *slog.Logger { return env.App.Logger() }

// Bind registers all of Pregón on app and returns the shared Env. main calls
// it on the real app, tests on a tests.TestApp.
func Bind(app core.App, opts Options) *Env {
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Registry == nil {
		opts.Registry = DefaultRegistry()
	}
	env := &Env{App: app, Box: opts.Box, Clock: opts.Clock, Registry: opts.Registry, Opts: opts}
	sqlitemem.KeepSlabs() // process-wide, once: bulk SQLite writes stop mapping memory per page split
	env.Channels = channelstore.New(app, func() *secretbox.Box { return env.Box }, opts.Registry,
		channels.Deps{Now: opts.Clock.Now, Publish: env.Publish})
	env.Inbox = newInbox(env)

	app.OnBootstrap().BindFunc(func(e *core.BootstrapEvent) error {
		if err := e.Next(); err != nil {
			return err
		}
		if env.Box != nil {
			return nil
		}
		box, src, err := secretbox.Load(e.App.DataDir())
		if err != nil {
			return fmt.Errorf("loading the secret key: %w", err)
		}
		env.Box = box
		if src == secretbox.FromGenerated {
			e.App.Logger().Warn("generated a secret key for channel secrets in the data dir; set " +
				secretbox.EnvKey + " in production so that backups of the data dir do not carry the key")
		}
		return nil
	})

	bindStatic(env)
	bindSetup(env)
	bindSettings(env)
	bindChannelRecords(env)
	bindGeneratedSecrets(env)
	bindRealtime(env)
	bindWebhooks(env)
	bindChannelTest(env)
	bindSandbox(env)
	bindWebchat(env)
	bindContacts(env)
	bindContactFields(env)
	bindContactRoutes(env)
	bindRoleGuards(env)
	bindImports(env)
	bindSegments(env)
	bindOutbox(env)
	bindMessages(env)
	bindBroadcasts(env)
	bindFailedLog(env)
	bindDeliveries(env)
	return env
}

// DefaultRegistry returns the registry of every built-in channel type.
func DefaultRegistry() *channels.Registry {
	r := channels.NewRegistry()
	sandbox.Register(r)
	webchat.Register(r)
	whatsapp.Register(r)
	telegram.Register(r)
	twilio.Register(r)
	return r
}
