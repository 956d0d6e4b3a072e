// Package broadcasts sends one message to every contact of a segment: it
// checks a broadcast's definition, resolves its audience with the reasons
// each left-out contact gets, plans the outbox rows in bulk, steers them
// (schedule, rate, pause, resume, cancel), keeps the counters current from
// the messages themselves, attributes replies, and resends failures.
package broadcasts

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/pocketbase/pocketbase/core"

	"pregon/channels"
)

// Statuses of a broadcast.
const (
	StatusDraft                 = "draft"
	StatusScheduled             = "scheduled"
	StatusSending               = "sending"
	StatusPaused                = "paused"
	StatusCompleted             = "completed"
	StatusCompletedWithFailures = "completed_with_failures"
	StatusFailed                = "failed"
	StatusCancelled             = "cancelled"
)

// Final reports whether a broadcast in status s will never send again.
func Final(s string) bool {
	switch s {
	case StatusCompleted, StatusCompletedWithFailures, StatusFailed, StatusCancelled:
		return true
	}
	return false
}

// Channel modes.
const (
	ModeSpecific       = "specific"
	ModeLastInteracted = "last_interacted"
)

// The seed's broadcast errors, and the others a broadcast can fail with.
const (
	ErrSegmentNotFound = "contact segment not found"
	ErrSegmentEmpty    = "target segment has no contacts"
)

// MaxDuration is the longest a broadcast may take to send.
const MaxDuration = 7 * 24 * time.Hour

// Broadcast is a broadcasts record as the engine reads it.
type Broadcast struct {
	ID           string
	Name         string
	Segment      string
	Mode         string
	Channel      string
	ChannelTypes []channels.Type
	Content      Content
	OnlyPrevious bool
	ScheduledAt  time.Time
	Timezone     string
	RateCount    int
	RateUnit     string
	Status       string
	Error        string
	StartedAt    time.Time
	CreatedBy    string

	ResendOf        string
	ResendPermanent bool

	PlanCursor       int64
	PlanDone         bool
	Targeted         int
	Excluded         map[string]int
	Queued           int
	PlannedByChannel map[string]int
}

// FromRecord reads a broadcasts record. Malformed JSON columns are errors
// that name the field.
func FromRecord(r *core.Record) (*Broadcast, error) {
	b := &Broadcast{
		ID: r.Id, Name: r.GetString("name"), Segment: r.GetString("segment"), Mode: r.GetString("channel_mode"),
		Channel: r.GetString("channel"), OnlyPrevious: r.GetBool("only_previously_interacted"),
		ScheduledAt: r.GetDateTime("scheduled_at").Time(), Timezone: r.GetString("timezone"),
		RateCount: r.GetInt("rate_count"), RateUnit: r.GetString("rate_unit"), Status: r.GetString("status"),
		Error: r.GetString("error"), StartedAt: r.GetDateTime("started_at").Time(), CreatedBy: r.GetString("created_by"),
		ResendOf: r.GetString("resend_of"), ResendPermanent: r.GetBool("resend_permanent"),
		PlanCursor: int64(r.GetInt("plan_cursor")), PlanDone: r.GetBool("plan_done"),
		Targeted: r.GetInt("targeted"), Queued: r.GetInt("queued"),
	}
	var err error
	if b.Content, err = parseContent(r.GetString("content")); err != nil {
		return nil, err
	}
	if err := jsonField(r, "channel_types", &b.ChannelTypes); err != nil {
		return nil, err
	}
	if err := jsonField(r, "excluded", &b.Excluded); err != nil {
		return nil, err
	}
	if err := jsonField(r, "planned_by_channel", &b.PlannedByChannel); err != nil {
		return nil, err
	}
	if b.Excluded == nil {
		b.Excluded = map[string]int{}
	}
	if b.PlannedByChannel == nil {
		b.PlannedByChannel = map[string]int{}
	}
	return b, nil
}

func jsonField(r *core.Record, name string, dst any) error {
	raw := r.GetString(name)
	if raw == "" || raw == "null" {
		return nil
	}
	if err := json.Unmarshal([]byte(raw), dst); err != nil {
		return fmt.Errorf("%s is not valid here: %v", name, err)
	}
	return nil
}

// Load reads broadcast id.
func Load(app core.App, id string) (*Broadcast, error) {
	r, err := app.FindRecordById("broadcasts", id)
	if err != nil {
		return nil, ErrNotFound
	}
	return FromRecord(r)
}

// unitSeconds are the rate units.
var unitSeconds = map[string]float64{"second": 1, "minute": 60, "hour": 3600}

// Rate is the broadcast's own rate in messages per second; 0 means none (as
// fast as the channels allow).
func (b *Broadcast) Rate() float64 {
	if b.RateCount <= 0 {
		return 0
	}
	s, ok := unitSeconds[b.RateUnit]
	if !ok {
		return 0
	}
	return float64(b.RateCount) / s
}
