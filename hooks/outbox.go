package hooks

import (
	"context"
	"net/url"

	"github.com/pocketbase/pocketbase/core"

	"pregon/channels/twilio"
	"pregon/outbox"
)

// bindOutbox creates the send queue's manager and ties it to the app's life:
// on serve it marks messages left in flight as unknown and starts one
// dispatcher per active channel; channel record changes start, restart or
// stop dispatchers; on terminate (SIGTERM, SIGINT) it drains.
func bindOutbox(env *Env) {
	app := env.App
	opts := env.Opts.Outbox
	if opts.StatusCallbackURL == nil {
		opts.StatusCallbackURL = func(channel, message string) string {
			return PublicURL(app) + "/api/pregon/webhooks/" + url.PathEscape(channel) + "?" + twilio.MessageIDParam + "=" + url.QueryEscape(message)
		}
	}
	env.Outbox = outbox.NewManager(app, env.Channels, env.Clock, opts)

	app.OnServe().BindFunc(func(se *core.ServeEvent) error {
		if err := se.Next(); err != nil {
			return err
		}
		if env.Opts.NoWorkers {
			return nil
		}
		return env.Outbox.Start()
	})
	app.OnTerminate().BindFunc(func(e *core.TerminateEvent) error {
		env.Outbox.Stop(context.Background())
		return e.Next()
	})
	sync := func(e *core.RecordEvent) error {
		env.Outbox.Sync(e.Record.Id)
		return e.Next()
	}
	app.OnRecordAfterCreateSuccess("channels").BindFunc(sync)
	app.OnRecordAfterUpdateSuccess("channels").BindFunc(sync)
	app.OnRecordAfterDeleteSuccess("channels").BindFunc(sync)
}
