package channels

import (
	"fmt"
	"net/http"
	"sort"
	"sync"
	"time"
)

// Factory builds an adapter from a channel's decrypted config.
type Factory func(cfg Config, deps Deps) (Adapter, error)

// Registry maps channel types to their factories and capabilities. The app
// builds one at start-up; there is no package-level registry.
type Registry struct {
	mu        sync.RWMutex
	factories map[Type]Factory
	caps      map[Type]Capabilities
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{factories: map[Type]Factory{}, caps: map[Type]Capabilities{}}
}

// Register adds a channel type.
func (r *Registry) Register(t Type, caps Capabilities, f Factory) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.factories[t] = f
	r.caps[t] = caps
}

// Capabilities returns what type t can do.
func (r *Registry) Capabilities(t Type) (Capabilities, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	c, ok := r.caps[t]
	return c, ok
}

// Types lists the registered types, sorted.
func (r *Registry) Types() []Type {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]Type, 0, len(r.factories))
	for t := range r.factories {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// New builds an adapter, checking required config keys first so that the
// error names what the admin must fill in.
func (r *Registry) New(t Type, cfg Config, deps Deps) (Adapter, error) {
	r.mu.RLock()
	f, ok := r.factories[t]
	caps := r.caps[t]
	r.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("channel type %q is not supported", t)
	}
	for _, k := range caps.RequiredKeys {
		if cfg[k] == "" {
			return nil, fmt.Errorf("%s channel needs config %q", t, k)
		}
	}
	if deps.HTTP == nil {
		deps.HTTP = DefaultHTTPClient()
	}
	if deps.Now == nil {
		deps.Now = func() time.Time { return time.Now().UTC() }
	}
	return f(cfg, deps)
}

// DefaultHTTPClient is tuned for many small calls to few hosts: keep-alive
// connections are reused so that thousands of sends per second do not each
// pay a TCP (and TLS) handshake.
func DefaultHTTPClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = 512
	tr.MaxIdleConnsPerHost = 256
	tr.IdleConnTimeout = 90 * time.Second
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}
