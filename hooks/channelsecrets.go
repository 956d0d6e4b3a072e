package hooks

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"

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
// web-chat channel when the admin gave none. It runs before the channels
// hook (bindChannelRecords), which then encrypts it like any other secret.
func bindGeneratedSecrets(env *Env) {
	env.App.OnRecordCreate("channels").Bind(&hook.Handler[*core.RecordEvent]{
		Id:       "pregonGeneratedChannelSecrets",
		Priority: -10,
		Func: func(e *core.RecordEvent) error {
			key := generatedSecret(channels.Type(e.Record.GetString("type")))
			if key == "" {
				return e.Next()
			}
			cfg := map[string]any{}
			if raw := e.Record.GetString("config"); raw != "" && raw != "null" {
				if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
					return e.Next() // the channels hook names the problem
				}
			}
			if v, _ := cfg[key].(string); v == "" {
				cfg[key] = randomSecret()
				e.Record.Set("config", cfg)
			}
			return e.Next()
		},
	})
}

func randomSecret() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return hex.EncodeToString(b[:])
}
