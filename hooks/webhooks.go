package hooks

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"

	"pregon/channels"
	"pregon/channelstore"
	"pregon/inbound"
)

// webhookBodyLimit: providers' deliveries are a few KB; 1 MiB leaves room
// for Meta batching many statuses in one POST.
const webhookBodyLimit = 1 << 20

// storeTimeout bounds how long a handler waits for its group commit before
// answering 503 (the provider retries).
const storeTimeout = 10 * time.Second

// bindWebhooks adds the providers' endpoint and runs the inbox worker.
func bindWebhooks(env *Env) {
	var once sync.Once
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	env.App.OnServe().BindFunc(func(se *core.ServeEvent) error {
		for _, m := range []string{http.MethodGet, http.MethodPost} {
			// Successful deliveries are not activity-logged: at thousands per
			// second the log would cost more than the delivery.
			se.Router.Route(m, "/api/pregon/webhooks/{channelId}", env.receiveWebhook).
				Bind(apis.BodyLimit(webhookBodyLimit), apis.SkipSuccessActivityLog())
		}
		if !env.Opts.NoWorkers {
			once.Do(func() {
				go func() { defer close(done); env.Inbox.Run(ctx) }()
			})
		}
		return se.Next()
	})
	env.App.OnTerminate().BindFunc(func(e *core.TerminateEvent) error {
		env.Inbox.Close()
		cancel()
		once.Do(func() { close(done) }) // never started
		<-done
		return e.Next()
	})
}

// receiveWebhook is GET|POST /api/pregon/webhooks/{channelId}: answer the
// provider's handshake, verify the delivery before anything else, store it
// durably, then acknowledge.
func (env *Env) receiveWebhook(e *core.RequestEvent) error {
	ch, err := env.channelFor(e)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(e.Request.Body)
	if err != nil {
		return e.Error(http.StatusRequestEntityTooLarge, "The delivery is larger than 1 MiB.", err)
	}
	req := &channels.WebhookRequest{Method: e.Request.Method, PublicURL: requestPublicURL(e), Header: e.Request.Header, Body: body}
	if e.Request.Method == http.MethodGet {
		if status, reply, ok := ch.Adapter.Handshake(req); ok {
			return e.Blob(status, "text/plain; charset=utf-8", reply)
		}
	}
	if err := ch.Adapter.Verify(req); err != nil {
		return verifyError(err)
	}
	return env.ingest(e, ch, req)
}

// channelFor finds the channel named in the path: 404 when there is none,
// 503 when its configuration cannot build an adapter (the provider retries
// while the admin fixes it).
func (env *Env) channelFor(e *core.RequestEvent) (*channelstore.Channel, error) {
	id := e.Request.PathValue("channelId")
	ch, err := env.Channels.Get(id)
	if err == nil {
		return ch, nil
	}
	if _, ferr := e.App.FindRecordById("channels", id); ferr != nil {
		return nil, e.NotFoundError("No channel "+id+" exists; copy the webhook URL from the channel's settings.", nil)
	}
	return nil, apis.NewApiError(http.StatusServiceUnavailable,
		"Channel "+id+" cannot take deliveries until its configuration is fixed: "+err.Error(), nil)
}

// verifyError turns an adapter's refusal into a 401 (no credentials) or 403
// (wrong credentials). The detail names what was wrong, never a secret.
func verifyError(err error) error {
	ce := channels.Classify(err)
	status := ce.HTTPStatus
	if status != http.StatusUnauthorized {
		status = http.StatusForbidden
	}
	msg := "The delivery's signature does not verify; nothing was stored."
	if ce.Detail != "" {
		msg = "The delivery was refused (" + ce.Detail + "); nothing was stored."
	}
	return apis.NewApiError(status, msg, nil)
}

// ingest stores a verified delivery and answers once it is committed. The
// body is parsed here only for the reply the provider expects (Twilio's
// TwiML); the worker parses the stored copy and applies it.
func (env *Env) ingest(e *core.RequestEvent, ch *channelstore.Channel, req *channels.WebhookRequest) error {
	batch, perr := ch.Adapter.Parse(req)
	if err := env.store(e, ch, req); err != nil {
		return err
	}
	if perr == nil && len(batch.Reply) > 0 {
		ct := batch.ReplyContentType
		if ct == "" {
			ct = "text/plain; charset=utf-8"
		}
		return e.Blob(http.StatusOK, ct, batch.Reply)
	}
	return e.NoContent(http.StatusOK)
}

// requestPublicURL rebuilds the URL the provider called: the public base
// URL (PREGON_PUBLIC_URL or the app URL, as shown in webhook_url) with the
// request's path and query, byte for byte: Twilio signs the full URL.
func requestPublicURL(e *core.RequestEvent) *url.URL {
	base := PublicURL(e.App)
	if base == "" {
		scheme := "http"
		if e.Request.TLS != nil {
			scheme = "https"
		}
		base = scheme + "://" + e.Request.Host
	}
	u, err := url.Parse(base + e.Request.URL.RequestURI())
	if err != nil {
		c := *e.Request.URL
		return &c
	}
	return u
}

// newInbox builds the app's webhook inbox.
func newInbox(env *Env) *inbound.Inbox {
	return inbound.New(env.App, env.Channels, inbound.Options{Now: env.Clock.Now})
}
