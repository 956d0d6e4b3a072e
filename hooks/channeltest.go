package hooks

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/pocketbase/pocketbase/core"

	"pregon/channels"
	"pregon/channelstore"
)

// channelTestTimeout bounds one "test connection" call to the provider.
const channelTestTimeout = 15 * time.Second

// TestResult is the answer of POST /api/pregon/channels/{id}/test.
type TestResult struct {
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
	// Class is the error's class: config (credentials, permissions: the
	// channel is marked "error"), retry (the provider or network failed:
	// try again), permanent or throttle.
	Class string `json:"class,omitempty"`
	Code  string `json:"code,omitempty"`
	// Webhook says whether Pregón registered its webhook URL with the
	// provider (Telegram), and why not when it could not.
	Webhook string `json:"webhook,omitempty"`
}

func bindChannelTest(env *Env) {
	env.App.OnServe().BindFunc(func(se *core.ServeEvent) error {
		se.Router.POST("/api/pregon/channels/{id}/test", env.testChannel)
		return se.Next()
	})
}

// testChannel checks a channel's credentials against its provider. A
// configuration failure (bad token, missing permission) marks the channel
// "error" with the reason, as the outbox does when a send fails that way; a
// success clears that mark (a paused channel stays paused).
func (env *Env) testChannel(e *core.RequestEvent) error {
	if err := requireManager(e, "test a channel"); err != nil {
		return err
	}
	id := e.Request.PathValue("id")
	rec, err := e.App.FindRecordById("channels", id)
	if err != nil {
		return e.NotFoundError("No channel "+id+" exists.", nil)
	}
	secrets, _ := channelstore.OpenSecrets(rec.GetString("secrets"), env.Box)
	res := TestResult{OK: true}
	ch, err := env.Channels.Get(id)
	if err != nil {
		res = failed(&channels.Error{Class: channels.ClassConfig, Detail: err.Error()}, secrets)
	} else {
		ctx, cancel := context.WithTimeout(e.Request.Context(), channelTestTimeout)
		defer cancel()
		if err := ch.Adapter.Test(ctx); err != nil {
			res = failed(err, secrets)
		} else if reg, ok := ch.Adapter.(channels.WebhookRegistrar); ok {
			res.Webhook = registerWebhook(ctx, reg, PublicURL(e.App)+"/api/pregon/webhooks/"+id, secrets, &res)
		}
	}
	if err := markChannel(e.App, rec, res); err != nil {
		return e.InternalServerError("The test ran but the channel's status could not be saved.", err)
	}
	return e.JSON(http.StatusOK, res)
}

// registerWebhook hands the webhook URL to providers that take it by API.
// They call only public HTTPS URLs, so a plain-HTTP appliance is told how
// to fix that rather than failing the test.
func registerWebhook(ctx context.Context, reg channels.WebhookRegistrar, url string, secrets map[string]string, res *TestResult) string {
	if !strings.HasPrefix(url, "https://") {
		return "not registered: " + url + " is not HTTPS; set PREGON_PUBLIC_URL to the public https address and test again"
	}
	if err := reg.RegisterWebhook(ctx, url); err != nil {
		*res = failed(err, secrets)
		res.Error = "connected, but registering the webhook failed: " + res.Error
		return "not registered"
	}
	return "registered: " + url
}

func failed(err error, secrets map[string]string) TestResult {
	ce := channels.Classify(err)
	if ce.Class == channels.ClassRetry && ce.Detail == "" {
		ce.Detail = "the provider did not answer"
	}
	return TestResult{Error: redactSecrets(ce.Detail, secrets), Class: string(ce.Class), Code: ce.Code}
}

func markChannel(app core.App, rec *core.Record, res TestResult) error {
	switch {
	case res.Class == string(channels.ClassConfig):
		if rec.GetString("status") == "error" && rec.GetString("last_error") == res.Error {
			return nil
		}
		rec.Set("status", "error")
		rec.Set("last_error", res.Error)
	case res.OK && rec.GetString("status") == "error":
		rec.Set("status", "active")
		rec.Set("last_error", "")
	default:
		return nil
	}
	return app.Save(rec)
}

// redactSecrets hides the channel's own secrets, bot tokens and credential
// parameters in s (adapters redact already; this is the last line).
func redactSecrets(s string, secrets map[string]string) string {
	vals := make([]string, 0, len(secrets))
	for _, v := range secrets {
		vals = append(vals, v)
	}
	return channels.Redact(s, vals...)
}
