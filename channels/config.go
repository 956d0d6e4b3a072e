package channels

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// RateKey is the config key that overrides a channel type's DefaultRate.
const RateKey = "rate_per_second"

// Or returns cfg[key], or def when the key is unset or blank.
func (c Config) Or(key, def string) string {
	if v := strings.TrimSpace(c[key]); v != "" {
		return v
	}
	return def
}

// BaseURL reads a provider base URL (tests and fakes point it at loopback)
// and returns it without a trailing slash.
func (c Config) BaseURL(key, def string) (string, error) {
	raw := c.Or(key, def)
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("config %q must be an http(s) URL such as %s, got %q", key, def, raw)
	}
	return strings.TrimRight(raw, "/"), nil
}

// Rate reads rate_per_second, defaulting to def.
func (c Config) Rate(def float64) (float64, error) {
	raw := strings.TrimSpace(c[RateKey])
	if raw == "" {
		return def, nil
	}
	r, err := strconv.ParseFloat(raw, 64)
	if err != nil || r <= 0 || r > 1e6 {
		return 0, fmt.Errorf("config %q must be a positive number of messages per second, got %q", RateKey, raw)
	}
	return r, nil
}

// With returns a copy of c with change applied on top (tests use it to
// spoil one key).
func (c Config) With(change Config) Config {
	out := make(Config, len(c)+len(change))
	for k, v := range c {
		out[k] = v
	}
	for k, v := range change {
		out[k] = v
	}
	return out
}
