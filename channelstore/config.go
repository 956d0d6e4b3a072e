// Package channelstore turns channel records into working adapters: it keeps
// secrets out of `config` (encrypted into the hidden `secrets` field), and
// builds and caches one adapter per channel from the decrypted config.
package channelstore

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"pregon/channels"
	"pregon/secretbox"
)

// Mask stands in config for a secret that is set. Clients send it back
// unchanged to keep the secret, a new value to replace it, "" to clear it.
const Mask = "********"

// SplitConfig validates an incoming config for a channel type and separates
// its secrets. incoming is what the client stored in `config`; sealed is the
// record's current `secrets` (possibly empty). It returns the config to store
// (secrets replaced by Mask) and the new sealed secrets.
func SplitConfig(caps channels.Capabilities, incoming map[string]any, sealed string, box *secretbox.Box) (map[string]string, string, error) {
	secrets, err := OpenSecrets(sealed, box)
	if err != nil {
		return nil, "", err
	}
	public := map[string]string{}
	for _, k := range sortedKeys(incoming) {
		v, err := configString(k, incoming[k])
		if err != nil {
			return nil, "", err
		}
		if len(caps.ConfigKeys) > 0 && !slices.Contains(caps.ConfigKeys, k) {
			return nil, "", fmt.Errorf("config %q is not a setting of this channel type; known settings: %s", k, strings.Join(caps.ConfigKeys, ", "))
		}
		if slices.Contains(caps.SecretKeys, k) {
			switch v {
			case Mask:
				// unchanged
			case "":
				delete(secrets, k)
			default:
				secrets[k] = v
			}
			continue
		}
		if v != "" {
			public[k] = v
		}
	}
	for _, k := range caps.RequiredKeys {
		if public[k] == "" && secrets[k] == "" {
			return nil, "", fmt.Errorf("config %q is required for this channel type", k)
		}
	}
	for k := range secrets {
		public[k] = Mask
	}
	newSealed := ""
	if len(secrets) > 0 {
		raw, err := json.Marshal(secrets)
		if err != nil {
			return nil, "", err
		}
		if newSealed, err = box.Seal(raw); err != nil {
			return nil, "", err
		}
	}
	return public, newSealed, nil
}

// OpenSecrets decrypts a record's `secrets` field.
func OpenSecrets(sealed string, box *secretbox.Box) (map[string]string, error) {
	out := map[string]string{}
	if sealed == "" {
		return out, nil
	}
	raw, err := box.Open(sealed)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("channel secrets are malformed: %w", err)
	}
	return out, nil
}

// Merge returns the adapter's full config: public values with the masked
// secrets replaced by their decrypted values.
func Merge(public map[string]string, secrets map[string]string) channels.Config {
	cfg := channels.Config{}
	for k, v := range public {
		if v != Mask {
			cfg[k] = v
		}
	}
	for k, v := range secrets {
		cfg[k] = v
	}
	return cfg
}

func configString(k string, v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "", nil
	case string:
		return strings.TrimSpace(x), nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	case bool:
		return strconv.FormatBool(x), nil
	}
	return "", fmt.Errorf("config %q must be a string, number or boolean", k)
}

func sortedKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
