package channelstore

import (
	"encoding/json"
	"fmt"
	"sync"

	"github.com/pocketbase/pocketbase/core"

	"pregon/channels"
	"pregon/secretbox"
)

// Channel is a channel record ready to use.
type Channel struct {
	ID            string
	Name          string
	Type          channels.Type
	Status        string // active, paused, error
	RatePerSecond float64
	DailyLimit    int
	Caps          channels.Capabilities
	Adapter       channels.Adapter
}

// Rate returns the channel's send rate in messages per second: its own
// setting, or the type's default.
func (c *Channel) Rate() float64 {
	if c.RatePerSecond > 0 {
		return c.RatePerSecond
	}
	return c.Caps.DefaultRate
}

// Store builds adapters from channel records and caches them until the
// record changes (the channels hook calls Invalidate).
type Store struct {
	app  core.App
	box  func() *secretbox.Box
	reg  *channels.Registry
	deps channels.Deps

	mu    sync.Mutex
	cache map[string]*Channel
}

// New returns a Store. box is a getter because the key is loaded at
// bootstrap, after the store is built.
func New(app core.App, box func() *secretbox.Box, reg *channels.Registry, deps channels.Deps) *Store {
	return &Store{app: app, box: box, reg: reg, deps: deps, cache: map[string]*Channel{}}
}

// Registry returns the channel types registry.
func (s *Store) Registry() *channels.Registry { return s.reg }

// Get returns the channel with its adapter.
func (s *Store) Get(id string) (*Channel, error) {
	s.mu.Lock()
	c, ok := s.cache[id]
	s.mu.Unlock()
	if ok {
		return c, nil
	}
	rec, err := s.app.FindRecordById("channels", id)
	if err != nil {
		return nil, fmt.Errorf("channel %q not found: %w", id, err)
	}
	c, err = s.build(rec)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.cache[id] = c
	s.mu.Unlock()
	return c, nil
}

// Invalidate drops a cached channel after its record changed or was deleted.
func (s *Store) Invalidate(id string) {
	s.mu.Lock()
	delete(s.cache, id)
	s.mu.Unlock()
}

func (s *Store) build(rec *core.Record) (*Channel, error) {
	typ := channels.Type(rec.GetString("type"))
	caps, ok := s.reg.Capabilities(typ)
	if !ok {
		return nil, fmt.Errorf("channel %q has type %q, which this build does not support", rec.Id, typ)
	}
	public := map[string]string{}
	if raw := rec.GetString("config"); raw != "" && raw != "null" {
		var m map[string]any
		if err := json.Unmarshal([]byte(raw), &m); err != nil {
			return nil, fmt.Errorf("channel %q config is malformed: %w", rec.Id, err)
		}
		for k, v := range m {
			if str, err := configString(k, v); err == nil {
				public[k] = str
			}
		}
	}
	secrets, err := OpenSecrets(rec.GetString("secrets"), s.box())
	if err != nil {
		return nil, fmt.Errorf("channel %q: %w", rec.Id, err)
	}
	ad, err := s.reg.New(typ, Merge(public, secrets), s.deps)
	if err != nil {
		return nil, fmt.Errorf("channel %q: %w", rec.Id, err)
	}
	return &Channel{
		ID: rec.Id, Name: rec.GetString("name"), Type: typ, Status: rec.GetString("status"),
		RatePerSecond: rec.GetFloat("rate_per_second"), DailyLimit: rec.GetInt("daily_limit"),
		Caps: caps, Adapter: ad,
	}, nil
}
