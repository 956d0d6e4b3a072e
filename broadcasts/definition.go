package broadcasts

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"

	"pregon/channels"
	"pregon/contacts"
)

// target is one channel a broadcast may send on, with what it sends there.
type target struct {
	ID         string
	Name       string
	Type       channels.Type
	Status     string
	Caps       channels.Capabilities
	Rate       float64 // the channel's send rate, msg/s
	DailyLimit int     // WhatsApp tier: unique recipients per rolling 24 h; 0 = none
	Content    TypeContent
}

// windowed reports whether free text to this channel needs an open window.
func (t target) windowed() bool { return t.Caps.Window > 0 && t.Caps.TemplatesOutsideWindow }

type channelRow struct {
	ID         string  `db:"id"`
	Name       string  `db:"name"`
	Type       string  `db:"type"`
	Status     string  `db:"status"`
	Rate       float64 `db:"rate_per_second"`
	DailyLimit int     `db:"daily_limit"`
}

func loadChannels(app core.App, where string, p dbx.Params) ([]channelRow, error) {
	var rows []channelRow
	err := app.DB().NewQuery(`SELECT id, name, type, COALESCE(status, '') AS status, COALESCE(rate_per_second, 0) AS rate_per_second,
		COALESCE(daily_limit, 0) AS daily_limit FROM channels WHERE ` + where + ` ORDER BY name, id`).Bind(p).All(&rows)
	if err != nil {
		return nil, fmt.Errorf("reading channels: %w", err)
	}
	return rows, nil
}

// cannotBroadcast explains why a channel type is refused.
func cannotBroadcast(name string, typ channels.Type) string {
	who := "channel type " + string(typ)
	if name != "" {
		who = fmt.Sprintf("channel %q (%s)", name, typ)
	}
	return fmt.Sprintf("%s cannot send broadcasts: web chat, e-mail and Instagram only answer contacts who write first; choose a WhatsApp, Telegram or SMS channel", who)
}

// broadcastable returns the capabilities of a type that may broadcast.
func broadcastable(reg *channels.Registry, typ channels.Type) (channels.Capabilities, bool) {
	caps, ok := reg.Capabilities(typ)
	return caps, ok && caps.Broadcasts
}

// targets lists the channels b sends on: its channel in specific mode; in
// last-interacted mode every channel of a selected type that may broadcast
// (a contact's last channel decides which one each contact gets).
func targets(app core.App, reg *channels.Registry, b *Broadcast) ([]target, error) {
	var rows []channelRow
	var err error
	switch b.Mode {
	case ModeSpecific:
		rows, err = loadChannels(app, "id = {:id}", dbx.Params{"id": b.Channel})
	case ModeLastInteracted:
		if len(b.ChannelTypes) == 0 {
			return nil, nil
		}
		in := make([]string, len(b.ChannelTypes))
		p := dbx.Params{}
		for i, t := range b.ChannelTypes {
			k := fmt.Sprintf("t%d", i)
			in[i], p[k] = "{:"+k+"}", string(t)
		}
		rows, err = loadChannels(app, "type IN ("+strings.Join(in, ", ")+")", p)
	default:
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := make([]target, 0, len(rows))
	for _, r := range rows {
		caps, ok := broadcastable(reg, channels.Type(r.Type))
		if !ok {
			continue
		}
		rate := r.Rate
		if rate <= 0 {
			rate = caps.DefaultRate
		}
		limit := 0
		if caps.DailyTier {
			limit = r.DailyLimit
		}
		out = append(out, target{ID: r.ID, Name: r.Name, Type: channels.Type(r.Type), Status: r.Status, Caps: caps,
			Rate: rate, DailyLimit: limit, Content: b.Content[channels.Type(r.Type)]})
	}
	return out, nil
}

// Check validates what a broadcast's definition holds so far (a draft may be
// incomplete), in the order a person fills it in, and returns the first
// problem as a FieldError. It normalises tags in place.
func Check(app core.App, reg *channels.Registry, r *core.Record) error {
	tags, err := readTags(r)
	if err != nil {
		return err
	}
	r.Set("tags", tags)
	r.Set("name", strings.TrimSpace(r.GetString("name")))
	if r.GetString("name") == "" {
		return fieldErr("name", "required", "name is required: give the broadcast a name people will recognise in the reports")
	}
	b, err := FromRecord(r)
	if err != nil {
		return fieldErr("content", "invalid", "%v", err)
	}
	switch b.Mode {
	case ModeSpecific, "":
		if b.Channel != "" {
			rows, err := loadChannels(app, "id = {:id}", dbx.Params{"id": b.Channel})
			if err != nil {
				return err
			}
			if len(rows) == 0 {
				return fieldErr("channel", "not_found", "no channel has id %q", b.Channel)
			}
			if _, ok := broadcastable(reg, channels.Type(rows[0].Type)); !ok {
				return fieldErr("channel", "cannot_broadcast", "%s", cannotBroadcast(rows[0].Name, channels.Type(rows[0].Type)))
			}
		}
	case ModeLastInteracted:
		seen := map[channels.Type]bool{}
		for _, t := range b.ChannelTypes {
			if seen[t] {
				return fieldErr("channel_types", "duplicate", "channel type %q is listed twice", t)
			}
			seen[t] = true
			if _, known := reg.Capabilities(t); !known && !knownType(t) {
				return fieldErr("channel_types", "unknown", "%q is not a channel type; use one of %s", t, typeList(reg))
			}
			if _, ok := broadcastable(reg, t); !ok {
				return fieldErr("channel_types", "cannot_broadcast", "%s", cannotBroadcast("", t))
			}
		}
	}
	defs, err := contacts.LoadFieldDefs(app)
	if err != nil {
		return err
	}
	for _, typ := range b.Content.Types() {
		caps, known := reg.Capabilities(typ)
		if !known {
			return fieldErr("content", "unknown_type", "content.%s: %q is not a channel type this server sends on; use one of %s", typ, typ, typeList(reg))
		}
		if !caps.Broadcasts {
			return fieldErr("content", "cannot_broadcast", "content.%s: %s", typ, cannotBroadcast("", typ))
		}
		if err := b.Content[typ].check(typ, caps, defs); err != nil {
			return fieldErr("content", "invalid_content", "%v", err)
		}
	}
	if b.RateCount > 0 && b.Rate() == 0 {
		return fieldErr("rate_unit", "required", "rate_unit is required with rate_count: second, minute or hour")
	}
	if tz := b.Timezone; tz != "" {
		if _, err := time.LoadLocation(tz); err != nil {
			return fieldErr("timezone", "invalid", "timezone %q is not an IANA time zone, e.g. America/Lima", tz)
		}
	}
	return nil
}

func readTags(r *core.Record) ([]string, error) {
	var tags []string
	raw := r.GetString("tags")
	if raw != "" && raw != "null" {
		var one string
		if err := jsonField(r, "tags", &tags); err != nil {
			if jsonField(r, "tags", &one) != nil {
				return nil, fieldErr("tags", "invalid", `tags must be a list of words, e.g. ["promo","enero"]`)
			}
			tags = strings.Split(one, ",")
		}
	}
	norm, err := contacts.NormalizeTags(tags)
	if err != nil {
		return nil, fieldErr("tags", "invalid", "%v", err)
	}
	return norm, nil
}

// knownType: every type the channels collection allows, registered here or not.
func knownType(t channels.Type) bool {
	return slices.Contains([]channels.Type{channels.WhatsAppCloud, channels.Telegram, channels.TwilioSMS,
		channels.TwilioWhatsApp, channels.WebChat, channels.Sandbox, channels.Messenger, channels.VonageSMS,
		channels.MessageBirdSMS, channels.Email}, t)
}

func typeList(reg *channels.Registry) string {
	var names []string
	for _, t := range reg.Types() {
		if caps, _ := reg.Capabilities(t); caps.Broadcasts {
			names = append(names, string(t))
		}
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// ready checks that b can start sending now (or at its schedule) and
// returns its targets: a segment (unless it is a resend), a channel mode, a
// channel that may broadcast and is not paused, and content for every
// channel type it will use.
func ready(app core.App, reg *channels.Registry, b *Broadcast) ([]target, error) {
	if b.ResendOf == "" && b.Segment == "" {
		return nil, fieldErr("segment", "required", "%s: choose the segment to send to", ErrSegmentNotFound)
	}
	switch b.Mode {
	case ModeSpecific:
		if b.Channel == "" {
			return nil, fieldErr("channel", "required", "channel is required with channel_mode specific")
		}
	case ModeLastInteracted:
		if len(b.ChannelTypes) == 0 {
			// As in the seed: every channel type that can broadcast is
			// selected until the person deselects some.
			types, err := connectedTypes(app, reg)
			if err != nil {
				return nil, err
			}
			b.ChannelTypes = types
		}
	default:
		return nil, fieldErr("channel_mode", "required", "channel_mode is required: specific (one channel) or last_interacted (each contact's last channel)")
	}
	ts, err := targets(app, reg, b)
	if err != nil {
		return nil, err
	}
	switch b.Mode {
	case ModeSpecific:
		if len(ts) == 0 {
			rows, err := loadChannels(app, "id = {:id}", dbx.Params{"id": b.Channel})
			if err != nil {
				return nil, err
			}
			if len(rows) == 0 {
				return nil, fieldErr("channel", "not_found", "the broadcast's channel no longer exists; choose another")
			}
			return nil, fieldErr("channel", "cannot_broadcast", "%s", cannotBroadcast(rows[0].Name, channels.Type(rows[0].Type)))
		}
		t := ts[0]
		if _, ok := b.Content[t.Type]; !ok {
			return nil, fieldErr("content", "required", "content.%s is missing: give the message channel %q sends", t.Type, t.Name)
		}
	case ModeLastInteracted:
		if len(ts) == 0 {
			return nil, fieldErr("channel_types", "no_channel", "no channel of the selected types (%s) is connected; connect one or select other types",
				orNone(typeNames(b.ChannelTypes)))
		}
		for _, typ := range b.ChannelTypes {
			if _, ok := b.Content[typ]; !ok {
				return nil, fieldErr("content", "required", "content.%s is missing: give content for every selected channel type, or deselect %s", typ, typ)
			}
		}
	}
	return ts, nil
}

// connectedTypes lists the channel types that can broadcast and have a
// connected channel.
func connectedTypes(app core.App, reg *channels.Registry) ([]channels.Type, error) {
	var types []string
	if err := app.DB().NewQuery("SELECT DISTINCT type FROM channels ORDER BY type").Column(&types); err != nil {
		return nil, fmt.Errorf("reading channel types: %w", err)
	}
	var out []channels.Type
	for _, t := range types {
		if _, ok := broadcastable(reg, channels.Type(t)); ok {
			out = append(out, channels.Type(t))
		}
	}
	return out, nil
}

// active refuses a specific channel that is paused or in error: nothing
// would leave until an admin fixes it.
func active(b *Broadcast, ts []target) error {
	if b.Mode != ModeSpecific || len(ts) != 1 {
		return nil
	}
	if t := ts[0]; t.Status != "" && t.Status != "active" {
		return fieldErr("channel", "paused", "channel %q is %s and sends nothing until an admin sets it active again; fix it or choose another channel", t.Name, channels.StatusPhrase(t.Status))
	}
	return nil
}

func typeNames(ts []channels.Type) string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = string(t)
	}
	return strings.Join(out, ", ")
}
