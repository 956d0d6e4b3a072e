package hooks

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"

	validation "github.com/go-ozzo/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"

	"pregon/channels"
	"pregon/channels/sandbox"
	"pregon/channels/webchat"
)

// generatedSecret names the config secret Pregón makes itself for channel
// types that have no provider to issue one ("" for the others).
func generatedSecret(t channels.Type) string {
	switch t {
	case channels.Sandbox:
		return sandbox.SecretKey
	case channels.WebChat:
		return webchat.SecretKey
	}
	return ""
}

// bindGeneratedSecrets fills in the signing secret of a new sandbox or
// web-chat channel when the admin gave none, and checks the web-chat
// origins. It runs before the channels hook (bindChannelRecords), which then
// encrypts the secret like any other.
func bindGeneratedSecrets(env *Env) {
	check := func(e *core.RecordEvent) error {
		typ := channels.Type(e.Record.GetString("type"))
		key := generatedSecret(typ)
		if key == "" {
			return e.Next()
		}
		cfg := map[string]any{}
		if raw := e.Record.GetString("config"); raw != "" && raw != "null" {
			if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
				return e.Next() // the channels hook names the problem
			}
		}
		if typ == channels.WebChat {
			origins, _ := cfg[webchat.OriginsKey].(string)
			if _, err := webchat.ParseOrigins(origins); err != nil {
				return validation.Errors{"config": validation.NewError("invalid_config", err.Error())}
			}
		}
		if v, _ := cfg[key].(string); v == "" && e.Record.IsNew() {
			cfg[key] = randomSecret()
			e.Record.Set("config", cfg)
		}
		return e.Next()
	}
	for _, h := range []*hook.TaggedHook[*core.RecordEvent]{env.App.OnRecordCreate("channels"), env.App.OnRecordUpdate("channels")} {
		h.Bind(&hook.Handler[*core.RecordEvent]{Id: "pregonInAppChannelConfig", Priority: -10, Func: check})
	}
}

func randomSecret() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return hex.EncodeToString(b[:])
}
