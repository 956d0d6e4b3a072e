package hooks

import (
	"encoding/json"
	"net/http"
	"os"
	"strings"

	validation "github.com/go-ozzo/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"

	"pregon/channels"
	"pregon/channelstore"
)

// EnvPublicURL overrides the base URL shown in channels' webhook_url, for an
// appliance behind a reverse proxy or tunnel.
const EnvPublicURL = "PREGON_PUBLIC_URL"

// bindChannelRecords keeps channel secrets out of `config`: on every write
// they are moved, encrypted, into the hidden `secrets` field, and `config`
// keeps a mask in their place. Responses never carry `secrets`, not even to
// superusers, and gain the `webhook_url` to paste into the provider.
func bindChannelRecords(env *Env) {
	app := env.App
	normalize := func(e *core.RecordEvent) error {
		typ := channels.Type(e.Record.GetString("type"))
		caps, ok := env.Registry.Capabilities(typ)
		if !ok {
			return validation.Errors{"type": validation.NewError("unsupported_type",
				"channel type "+string(typ)+" is not available in this build; available: "+typeList(env.Registry))}
		}
		incoming := map[string]any{}
		if raw := e.Record.GetString("config"); raw != "" && raw != "null" {
			if err := json.Unmarshal([]byte(raw), &incoming); err != nil {
				return validation.Errors{"config": validation.NewError("invalid_config", "config must be a JSON object of settings")}
			}
		}
		sealed := e.Record.Original().GetString("secrets")
		if e.Record.IsNew() {
			sealed = ""
		}
		public, newSealed, err := channelstore.SplitConfig(caps, incoming, sealed, env.Box)
		if err != nil {
			return validation.Errors{"config": validation.NewError("invalid_config", err.Error())}
		}
		// Build the adapter once from the full config, so a value only the
		// adapter checks (Telegram's secret_token alphabet, a malformed
		// base_url...) is refused here, naming it, instead of being stored
		// and breaking every later send and test. Only when the config or
		// type is written: a status change (the outbox pausing the channel,
		// an account error from a webhook) must never be refused over a
		// config stored earlier.
		orig := e.Record.Original()
		configWritten := e.Record.IsNew() || e.Record.GetString("config") != orig.GetString("config") ||
			string(typ) != orig.GetString("type")
		if configWritten {
			if err := checkAdapterConfig(env, typ, public, newSealed); err != nil {
				return validation.Errors{"config": validation.NewError("invalid_config", err.Error())}
			}
		}
		e.Record.Set("config", public)
		e.Record.Set("secrets", newSealed)
		if e.Record.GetString("status") == "" {
			e.Record.Set("status", "active")
		}
		return e.Next()
	}
	app.OnRecordCreate("channels").BindFunc(normalize)
	app.OnRecordUpdate("channels").BindFunc(normalize)

	invalidate := func(e *core.RecordEvent) error {
		env.Channels.Invalidate(e.Record.Id)
		return e.Next()
	}
	app.OnRecordAfterUpdateSuccess("channels").BindFunc(invalidate)
	app.OnRecordAfterDeleteSuccess("channels").BindFunc(invalidate)

	app.OnRecordEnrich("channels").BindFunc(func(e *core.RecordEnrichEvent) error {
		e.Record.WithCustomData(true)
		e.Record.Set("webhook_url", PublicURL(e.App)+"/api/pregon/webhooks/"+e.Record.Id)
		if err := e.Next(); err != nil {
			return err
		}
		// After Next: PocketBase unhides every field for superusers at the
		// end of the enrich chain, and `secrets` must not leave even then.
		e.Record.Hide("secrets")
		return nil
	})
}

// checkAdapterConfig builds the channel's adapter from the config about to
// be stored (no network call: factories only parse and check their settings).
func checkAdapterConfig(env *Env, typ channels.Type, public map[string]string, sealed string) error {
	secrets, err := channelstore.OpenSecrets(sealed, env.Box)
	if err != nil {
		return err
	}
	_, err = env.Registry.New(typ, channelstore.Merge(public, secrets), channels.Deps{HTTP: http.DefaultClient})
	return err
}

// PublicURL is the appliance's public base URL without a trailing slash:
// PREGON_PUBLIC_URL, else the application URL from PocketBase's settings.
func PublicURL(app core.App) string {
	if v := os.Getenv(EnvPublicURL); v != "" {
		return strings.TrimRight(v, "/")
	}
	return strings.TrimRight(app.Settings().Meta.AppURL, "/")
}

func typeList(r *channels.Registry) string {
	var names []string
	for _, t := range r.Types() {
		names = append(names, string(t))
	}
	return strings.Join(names, ", ")
}
