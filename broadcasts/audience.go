package broadcasts

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"

	"pregon/contacts"
	"pregon/reasons"
	"pregon/segments"
	"pregon/workspace"
)

// newAudience builds b's audience query as of now. With members false the
// audience is not narrowed to the segment (preview and test send of any
// contact); with it, a missing or broken segment is a FieldError on
// "segment" whose message starts with the seed's "contact segment not found".
func (e *Engine) newAudience(app core.App, b *Broadcast, ts []target, now time.Time, members bool) (*audience, error) {
	st, err := workspace.Load(app)
	if err != nil {
		return nil, err
	}
	defs, err := contacts.LoadFieldDefs(app)
	if err != nil {
		return nil, err
	}
	a := &audience{b: b, ts: ts, now: now, settings: st, defs: defs}
	if !members {
		return a, nil
	}
	if b.ResendOf != "" {
		a.members, a.membersParams, err = resendMembers(app, b)
		return a, err
	}
	a.members, a.membersParams, err = segmentMembers(app, b.Segment, now)
	return a, err
}

// segmentMembers compiles a broadcast's segment as of now.
func segmentMembers(app core.App, id string, now time.Time) (string, dbx.Params, error) {
	if id == "" {
		return "", nil, fieldErr("segment", "not_found", "%s: choose the segment to send to", ErrSegmentNotFound)
	}
	_, plan, err := segments.ForID(app, id)
	var cond *segments.Error
	switch {
	case errors.Is(err, segments.ErrNotFound):
		return "", nil, fieldErr("segment", "not_found", "%s: the broadcast's segment was deleted; choose another", ErrSegmentNotFound)
	case errors.As(err, &cond):
		return "", nil, fieldErr("segment", "invalid_segment", "%v", err)
	case err != nil:
		return "", nil, err
	}
	where, params := plan.SQL(now)
	return where, params, nil
}

// ReasonCount is one exclusion reason with its count and explanation.
type ReasonCount struct {
	Code  string `json:"code"`
	Count int    `json:"count"`
	EN    string `json:"en"`
	ES    string `json:"es"`
}

// ChannelAudience is one channel's share of an audience.
type ChannelAudience struct {
	Channel       string  `json:"channel"`
	Name          string  `json:"name"`
	Type          string  `json:"type"`
	Status        string  `json:"status"`
	Recipients    int     `json:"recipients"`
	RatePerSecond float64 `json:"rate_per_second"`
	// The messaging tier (WhatsApp): the limit, how many recipients it
	// already counted in the last 24 hours, and how many of this broadcast's
	// recipients would be over it (they fail with "daily limit reached").
	DailyLimit     int     `json:"daily_limit,omitempty"`
	TierUsed       int     `json:"tier_used,omitempty"`
	OverDailyLimit int     `json:"over_daily_limit,omitempty"`
	Seconds        float64 `json:"seconds"`
}

// Breakdown is the audience before sending: "Sending a total of N messages
// to M recipients", who is left out and why, per channel, and how long it
// will take.
type Breakdown struct {
	Summary string `json:"summary"`
	// SummaryES is the summary in the seed's Spanish: "Enviando un total
	// de 20 mensajes a 10 destinatarios".
	SummaryES     string            `json:"summary_es"`
	Targeted      int               `json:"targeted"`
	Recipients    int               `json:"recipients"`
	Messages      int               `json:"messages"`
	Excluded      map[string]int    `json:"excluded"`
	ExcludedTotal int               `json:"excluded_total"`
	Reasons       []ReasonCount     `json:"reasons"`
	Channels      []ChannelAudience `json:"channels"`
	Estimate      Estimate          `json:"estimate"`
	// Planned: the broadcast has started, so these are the figures its
	// planning recorded (the segment was resolved then), not a forecast.
	Planned bool `json:"planned"`
}

type countRow struct {
	Channel string `db:"channel"`
	Reason  string `db:"reason"`
	BI      bool   `db:"bi"`
	Tiered  bool   `db:"tiered"`
	N       int    `db:"n"`
}

// Audience returns the breakdown of broadcast id: a forecast for a draft or
// a scheduled broadcast, the planned figures for one that has started.
func (e *Engine) Audience(id string) (*Breakdown, error) {
	b, ts, err := e.loadReady(id)
	if err != nil {
		return nil, err
	}
	if b.Status != StatusDraft && !(b.Status == StatusScheduled || (b.Status == StatusPaused && b.StartedAt.IsZero())) {
		return plannedBreakdown(b, ts), nil
	}
	return e.forecast(b, ts, e.now())
}

// loadReady loads broadcast id with the channels it sends on.
func (e *Engine) loadReady(id string) (*Broadcast, []target, error) {
	b, err := Load(e.app, id)
	if err != nil {
		return nil, nil, err
	}
	ts, err := ready(e.app, e.reg, b)
	return b, ts, err
}

// forecast counts b's audience now, without writing anything.
func (e *Engine) forecast(b *Broadcast, ts []target, now time.Time) (*Breakdown, error) {
	a, err := e.newAudience(e.app, b, ts, now, true)
	if err != nil {
		return nil, err
	}
	if a.dups, err = findDuplicates(e.app, a); err != nil {
		return nil, err
	}
	sql, p, err := a.sql(queryOpts{tier: true})
	if err != nil {
		return nil, err
	}
	var rows []countRow
	if err := scan(e.app, func(q dbx.Builder) error {
		return q.NewQuery(`SELECT channel, reason, bi, tiered, COUNT(*) AS n FROM (` + sql + `)
			GROUP BY channel, reason, bi, tiered`).Bind(p).All(&rows)
	}); err != nil {
		return nil, fmt.Errorf("counting the audience: %w", err)
	}
	br := &Breakdown{Excluded: map[string]int{}}
	per := map[string]*ChannelAudience{}
	newBI := map[string]int{}
	for _, t := range ts {
		per[t.ID] = &ChannelAudience{Channel: t.ID, Name: t.Name, Type: string(t.Type), Status: t.Status,
			RatePerSecond: t.Rate, DailyLimit: t.DailyLimit}
	}
	for _, r := range rows {
		br.Targeted += r.N
		if r.Reason != "" {
			br.Excluded[r.Reason] += r.N
			continue
		}
		if c := per[r.Channel]; c != nil {
			c.Recipients += r.N
			if r.BI && !r.Tiered {
				newBI[r.Channel] += r.N
			}
		}
	}
	for _, t := range ts {
		if t.DailyLimit <= 0 {
			continue
		}
		c := per[t.ID]
		if err := e.app.DB().NewQuery(`SELECT COUNT(DISTINCT identity) FROM messages WHERE channel = {:ch}
			AND tier_at != '' AND tier_at > {:cut}`).Bind(dbx.Params{"ch": t.ID, "cut": dbTime(now.Add(-24 * time.Hour))}).
			Row(&c.TierUsed); err != nil {
			return nil, fmt.Errorf("reading the messaging tier of channel %s: %w", t.Name, err)
		}
		if over := newBI[t.ID] - max(0, t.DailyLimit-c.TierUsed); over > 0 {
			c.OverDailyLimit = over
			c.Recipients -= over
			br.Excluded[reasons.DailyLimit] += over
		}
	}
	finish(br, b, ts, per)
	return br, nil
}

// plannedBreakdown reads what planning recorded.
func plannedBreakdown(b *Broadcast, ts []target) *Breakdown {
	br := &Breakdown{Planned: true, Targeted: b.Targeted, Excluded: map[string]int{}}
	for k, v := range b.Excluded {
		br.Excluded[k] = v
	}
	per := map[string]*ChannelAudience{}
	for _, t := range ts {
		per[t.ID] = &ChannelAudience{Channel: t.ID, Name: t.Name, Type: string(t.Type), Status: t.Status,
			RatePerSecond: t.Rate, DailyLimit: t.DailyLimit, Recipients: b.PlannedByChannel[t.ID]}
	}
	finish(br, b, ts, per)
	return br
}

func finish(br *Breakdown, b *Broadcast, ts []target, per map[string]*ChannelAudience) {
	counts := map[string]int{}
	for _, t := range ts {
		c := per[t.ID]
		br.Recipients += c.Recipients
		counts[t.ID] = c.Recipients
		if c.Recipients > 0 || b.Mode == ModeSpecific {
			br.Channels = append(br.Channels, *c)
		}
	}
	br.Messages = br.Recipients
	for code, n := range br.Excluded {
		br.ExcludedTotal += n
		r := reasons.For(code, "", "")
		br.Reasons = append(br.Reasons, ReasonCount{Code: code, Count: n, EN: r.EN, ES: r.ES})
	}
	sort.Slice(br.Reasons, func(i, j int) bool {
		if br.Reasons[i].Count != br.Reasons[j].Count {
			return br.Reasons[i].Count > br.Reasons[j].Count
		}
		return br.Reasons[i].Code < br.Reasons[j].Code
	})
	if br.Channels == nil {
		br.Channels = []ChannelAudience{}
	}
	if br.Reasons == nil {
		br.Reasons = []ReasonCount{}
	}
	br.Estimate = estimate(counts, ts, b.Rate())
	for i := range br.Channels {
		br.Channels[i].Seconds = br.Estimate.perChannel[br.Channels[i].Channel]
	}
	br.Summary, br.SummaryES = summary(br), summaryES(br)
}

func summary(br *Breakdown) string {
	s := fmt.Sprintf("Sending a total of %s %s to %s %s", thousands(br.Messages), plural(br.Messages == 1, "message", "messages"),
		thousands(br.Recipients), plural(br.Recipients == 1, "recipient", "recipients"))
	if br.ExcludedTotal > 0 {
		s += fmt.Sprintf("; %s of the %s %s in the audience %s left out", thousands(br.ExcludedTotal), thousands(br.Targeted),
			plural(br.Targeted == 1, "contact", "contacts"), plural(br.ExcludedTotal == 1, "is", "are"))
	}
	if br.Recipients > 0 {
		s += "; " + br.Estimate.Text
	}
	return s
}

func summaryES(br *Breakdown) string {
	s := fmt.Sprintf("Enviando un total de %s %s a %s %s", thousands(br.Messages), plural(br.Messages == 1, "mensaje", "mensajes"),
		thousands(br.Recipients), plural(br.Recipients == 1, "destinatario", "destinatarios"))
	if br.ExcludedTotal > 0 {
		s += fmt.Sprintf("; %s de %s %s de la audiencia %s fuera", thousands(br.ExcludedTotal), thousands(br.Targeted),
			plural(br.Targeted == 1, "contacto", "contactos"), plural(br.ExcludedTotal == 1, "queda", "quedan"))
	}
	if br.Recipients > 0 {
		s += "; " + br.Estimate.TextES
	}
	return s
}

func plural(one bool, singular, many string) string {
	if one {
		return singular
	}
	return many
}

// thousands writes n with comma separators: 1,500.
func thousands(n int) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	var parts []string
	for len(s) > 3 {
		parts = append([]string{s[len(s)-3:]}, parts...)
		s = s[:len(s)-3]
	}
	return strings.Join(append([]string{s}, parts...), ",")
}
