// Package workspace reads the workspace-wide settings row.
package workspace

import (
	"fmt"
	"time"

	"github.com/pocketbase/pocketbase/core"
)

// Settings is the workspace settings row, read by domain code.
type Settings struct {
	DefaultRegion    string `db:"default_region"`
	Timezone         string `db:"timezone"`
	RequireOptIn     bool   `db:"require_opt_in"`
	ReplyWindowHours int    `db:"reply_window_hours"`
	// Language is the workspace's language for people (es, en...).
	Language string `db:"language"`
}

// Load reads the one settings row.
func Load(app core.App) (Settings, error) {
	var s Settings
	err := app.DB().NewQuery("SELECT default_region, timezone, require_opt_in, reply_window_hours, language FROM settings LIMIT 1").
		One(&s)
	if err != nil {
		return s, fmt.Errorf("reading workspace settings: %w", err)
	}
	return s, nil
}

// Location is the workspace's time zone; UTC when it is not a known zone
// (the settings hook refuses unknown zones, so this only covers data written
// around it).
func (s Settings) Location() *time.Location {
	if loc, err := time.LoadLocation(s.Timezone); err == nil && s.Timezone != "" {
		return loc
	}
	return time.UTC
}
