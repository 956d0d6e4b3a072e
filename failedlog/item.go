package failedlog

import (
	"encoding/json"
	"strings"
	"time"

	"pregon/channels"
	"pregon/outbox"
	"pregon/reasons"
)

// Subtypes say what to do about a row: resend it (retryable), leave it
// unless asked (permanent), or look before resending (review: unknown).
const (
	SubtypeRetryable = "retryable"
	SubtypePermanent = "permanent"
	SubtypeReview    = "review"
)

// LocalLayout is how times are shown to people: the workspace's wall clock,
// a layout every spreadsheet reads as a date and time.
const LocalLayout = "2006-01-02 15:04:05"

// Item is one row of the log as the API returns it: the seed's columns
// (date and time, sender id, sender type, contact id, message id, content
// type, content, channel id, type, subtype, error) and what explains them.
type Item struct {
	DateTime      string `json:"date_time"`       // UTC, as PocketBase writes dates
	DateTimeLocal string `json:"date_time_local"` // the workspace's time zone
	SenderID      string `json:"sender_id"`
	SenderType    string `json:"sender_type"`
	ContactID     string `json:"contact_id"`
	ContactName   string `json:"contact_name"`
	MessageID     string `json:"message_id"`
	ContentType   string `json:"content_type"`
	Content       string `json:"content"`
	ChannelID     string `json:"channel_id"`
	ChannelName   string `json:"channel_name"`
	ChannelType   string `json:"channel_type"`
	Type          string `json:"type"`
	Subtype       string `json:"subtype"`
	Error         string `json:"error"`
	ErrorCode     string `json:"error_code"`
	ErrorClass    string `json:"error_class"`
	ErrorDetail   string `json:"error_detail"`
	Reason        string `json:"reason"`
	ReasonEN      string `json:"reason_en"`
	ReasonES      string `json:"reason_es"`
	Retryable     bool   `json:"retryable"`
	Attempts      int    `json:"attempts"`
	BroadcastID   string `json:"broadcast_id"`
	BroadcastName string `json:"broadcast_name"`
}

// Explain returns the reason for a row. Unknown messages carry no error
// code of their own (nothing failed: the outcome is not known), so they get
// Pregón's unknown_outcome.
func (r Row) Explain() reasons.Reason {
	if r.Status == StatusUnknown {
		return reasons.For(reasons.Unknown, "", "")
	}
	return reasons.For(r.ErrorCode, r.ErrorClass, r.ErrorDetail)
}

// Item presents r in lang ("es" or "en") with local times in loc.
func (r Row) Item(lang string, loc *time.Location) Item {
	why := r.Explain()
	ctype, content := RenderContent(r.Content)
	it := Item{
		DateTime: r.Time, SenderID: r.SourceID, SenderType: r.Source,
		ContactID: r.Contact, ContactName: strings.TrimSpace(r.FirstName + " " + r.LastName),
		MessageID: r.ID, ContentType: ctype, Content: content,
		ChannelID: r.Channel, ChannelName: r.ChannelName, ChannelType: r.ChannelType,
		Type: r.Status, ErrorCode: why.Code, ErrorClass: r.ErrorClass, ErrorDetail: r.ErrorDetail,
		Reason: why.Text(lang), ReasonEN: why.EN, ReasonES: why.ES, Retryable: why.Retryable,
		Attempts: r.Attempts, BroadcastName: r.BroadcastName,
	}
	if t := ParseStored(r.Time); !t.IsZero() {
		it.DateTimeLocal = t.In(loc).Format(LocalLayout)
	}
	switch {
	case r.Status == StatusUnknown:
		it.Subtype = SubtypeReview
	case why.Retryable:
		it.Subtype = SubtypeRetryable
	default:
		it.Subtype = SubtypePermanent
	}
	it.Error = it.Reason
	if why.Code != "" {
		it.Error += " (" + why.Code + ")"
	}
	if r.Source == "broadcast" {
		it.BroadcastID = r.SourceID
	}
	return it
}

// RenderContent turns a stored content object into its type and one line
// of text a person can read: the text itself; a template's name, language
// and parameters; a media file's caption and URL. When the outbox used the
// row's outside-the-window template (WhatsApp's window was closed at send
// time), that template is what the provider got, so that is what it shows.
func RenderContent(raw string) (ctype, text string) {
	var sc outbox.StoredContent
	if raw == "" || json.Unmarshal([]byte(raw), &sc) != nil {
		return "", raw
	}
	c := sc.Content
	if sc.Chosen == outbox.ChosenOutsideWindow && sc.OutsideWindow != nil {
		c = *sc.OutsideWindow
	}
	switch c.Type() {
	case channels.ContentText:
		return string(channels.ContentText), c.Text
	case channels.ContentTemplate:
		t := c.Template
		s := t.Name
		if t.Language != "" {
			s += " (" + t.Language + ")"
		}
		if len(t.Params) > 0 {
			s += ": " + strings.Join(t.Params, " | ")
		}
		return string(channels.ContentTemplate), s
	case channels.ContentMedia:
		m := c.Media
		if m.Caption != "" {
			return string(channels.ContentMedia), m.Caption + " (" + m.URL + ")"
		}
		return string(channels.ContentMedia), m.URL
	}
	return "", ""
}
