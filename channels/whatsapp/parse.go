package whatsapp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"pregon/channels"
)

// envelope is a WhatsApp Business Account webhook (channel-contracts.md §1.6).
type envelope struct {
	Object string `json:"object"`
	Entry  []struct {
		ID      string `json:"id"`
		Changes []struct {
			Field string `json:"field"`
			Value struct {
				Metadata struct {
					PhoneNumberID string `json:"phone_number_id"`
				} `json:"metadata"`
				Contacts []struct {
					Profile struct {
						Name string `json:"name"`
					} `json:"profile"`
					WaID   string `json:"wa_id"`
					UserID string `json:"user_id"`
				} `json:"contacts"`
				Messages []inMessage `json:"messages"`
				Statuses []inStatus  `json:"statuses"`
				// Errors on a messages change are about the account or the
				// number, not one message (a locked business account).
				Errors          []metaError    `json:"errors"`
				UserPreferences []inPreference `json:"user_preferences"`
			} `json:"value"`
		} `json:"changes"`
	} `json:"entry"`
}

type inMessage struct {
	From       string                 `json:"from"`
	FromUserID string                 `json:"from_user_id"`
	ID         string                 `json:"id"`
	Timestamp  flexTime               `json:"timestamp"`
	Type       string                 `json:"type"`
	Text       *struct{ Body string } `json:"text"`
	Image      *inMedia               `json:"image"`
	Video      *inMedia               `json:"video"`
	Audio      *inMedia               `json:"audio"`
	Voice      *inMedia               `json:"voice"`
	Document   *inMedia               `json:"document"`
	Sticker    *inMedia               `json:"sticker"`
	Button     *struct {
		Text    string `json:"text"`
		Payload string `json:"payload"`
	} `json:"button"`
	Interactive *struct {
		ButtonReply *struct{ ID, Title string } `json:"button_reply"`
		ListReply   *struct{ ID, Title string } `json:"list_reply"`
	} `json:"interactive"`
	Location *struct {
		Latitude  float64 `json:"latitude"`
		Longitude float64 `json:"longitude"`
		Name      string  `json:"name"`
	} `json:"location"`
}

type inMedia struct {
	ID       string `json:"id"`
	MimeType string `json:"mime_type"`
	Caption  string `json:"caption"`
}

type inStatus struct {
	ID        string      `json:"id"`
	Status    string      `json:"status"`
	Timestamp flexTime    `json:"timestamp"`
	Errors    []metaError `json:"errors"`
}

// metaError is one entry of a webhook's errors list (on a status, or on the
// change itself for account-level problems).
type metaError struct {
	Code      int    `json:"code"`
	Title     string `json:"title"`
	Message   string `json:"message"`
	ErrorData struct {
		Details string `json:"details"`
	} `json:"error_data"`
}

// text is the error's most specific wording, led by its title when the
// title says something the rest does not.
func (e metaError) text() string {
	detail := firstNonEmpty(e.ErrorData.Details, e.Message, e.Title)
	if e.Title != "" && detail != e.Title {
		detail = e.Title + ": " + detail
	}
	return detail
}

// inPreference is one entry of a user_preferences change: a WhatsApp user
// stopped or resumed the business's marketing messages in WhatsApp itself.
type inPreference struct {
	WaID      string   `json:"wa_id"`
	UserID    string   `json:"user_id"`
	Detail    string   `json:"detail"`
	Category  string   `json:"category"`
	Value     string   `json:"value"`
	Timestamp flexTime `json:"timestamp"`
}

// flexTime reads Meta's Unix timestamps, which come as strings of seconds
// (and, rarely, milliseconds) or as bare numbers.
type flexTime struct{ time.Time }

func (t *flexTime) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(bytes.TrimSpace(b)), `"`)
	if s == "" || s == "null" {
		return nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("timestamp %q is not Unix seconds", s)
	}
	if n > 1e12 {
		t.Time = time.UnixMilli(n).UTC()
	} else {
		t.Time = time.Unix(n, 0).UTC()
	}
	return nil
}

// Parse reads a verified webhook. Changes for another phone number id are
// skipped: one Meta app may point several numbers at one URL, and each
// channel takes only its own.
func (a *Adapter) Parse(r *channels.WebhookRequest) (channels.WebhookBatch, error) {
	var env envelope
	if err := json.Unmarshal(r.Body, &env); err != nil {
		return channels.WebhookBatch{}, fmt.Errorf("reading the WhatsApp webhook body: %w", err)
	}
	if env.Object != "whatsapp_business_account" {
		return channels.WebhookBatch{}, fmt.Errorf("webhook object is %q, expected whatsapp_business_account", env.Object)
	}
	var b channels.WebhookBatch
	for _, e := range env.Entry {
		for _, ch := range e.Changes {
			v := ch.Value
			if v.Metadata.PhoneNumberID != "" && v.Metadata.PhoneNumberID != a.pnid {
				continue
			}
			names := map[string]string{}
			for _, c := range v.Contacts {
				names[c.WaID] = c.Profile.Name
				names[c.UserID] = c.Profile.Name
			}
			switch ch.Field {
			case "messages":
			case "user_preferences":
				for _, p := range v.UserPreferences {
					if cs, skip := preference(p, names); skip == "" {
						b.Consents = append(b.Consents, cs)
					} else {
						b.Skipped = append(b.Skipped, skip)
					}
				}
				continue
			default:
				continue // other fields (templates, account updates) are not subscribed to
			}
			for _, e := range v.Errors {
				b.AccountErrors = append(b.AccountErrors, *Classify(e.Code, channels.Redact(e.text(), a.secrets...), 0))
			}
			for _, m := range v.Messages {
				if in, ok := a.inbound(m, names); ok {
					b.Messages = append(b.Messages, in)
				}
			}
			for _, s := range v.Statuses {
				if st, ok := status(s); ok {
					b.Statuses = append(b.Statuses, st)
				}
			}
		}
	}
	return b, nil
}

// inbound converts one message. Senders known only by a business-scoped
// user id (no phone) are identified by that id; otherwise by E.164 phone.
func (a *Adapter) inbound(m inMessage, names map[string]string) (channels.Inbound, bool) {
	in := channels.Inbound{ProviderID: m.ID, Timestamp: m.Timestamp.Time}
	switch {
	case m.From != "":
		in.From = "+" + strings.TrimPrefix(m.From, "+")
		in.Phone = in.From
		in.Name = names[m.From]
	case m.FromUserID != "":
		in.From = m.FromUserID
		in.Name = names[m.FromUserID]
	default:
		return in, false
	}
	if in.Name == "" && m.FromUserID != "" {
		in.Name = names[m.FromUserID]
	}
	c, ok := a.content(m)
	in.Content = c
	return in, ok
}

func (a *Adapter) content(m inMessage) (channels.Content, bool) {
	media := func(kind string, md *inMedia) channels.Content {
		// The Graph media object resolves (with the bearer token) to a
		// short-lived download URL; the id is what stays valid.
		return channels.Content{Media: &channels.Media{URL: a.base + "/" + md.ID, Kind: kind, Caption: md.Caption}}
	}
	switch {
	case m.Text != nil:
		return channels.Content{Text: m.Text.Body}, true
	case m.Image != nil:
		return media("image", m.Image), true
	case m.Sticker != nil:
		return media("image", m.Sticker), true
	case m.Video != nil:
		return media("video", m.Video), true
	case m.Audio != nil:
		return media("audio", m.Audio), true
	case m.Voice != nil:
		return media("audio", m.Voice), true
	case m.Document != nil:
		return media("document", m.Document), true
	case m.Button != nil:
		// A template quick-reply button: its label is what the contact "said".
		return channels.Content{Text: firstNonEmpty(m.Button.Text, m.Button.Payload)}, true
	case m.Interactive != nil && m.Interactive.ButtonReply != nil:
		return channels.Content{Text: m.Interactive.ButtonReply.Title}, true
	case m.Interactive != nil && m.Interactive.ListReply != nil:
		return channels.Content{Text: m.Interactive.ListReply.Title}, true
	case m.Location != nil:
		l := m.Location
		return channels.Content{Text: strings.TrimSpace(fmt.Sprintf("[location %.6f,%.6f %s]", l.Latitude, l.Longitude, l.Name))}, true
	}
	// Reactions, unsupported and system messages carry nothing to show.
	return channels.Content{}, false
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// status converts one status; "deleted" and unknown states are skipped.
func status(s inStatus) (channels.StatusUpdate, bool) {
	st := channels.StatusUpdate{ProviderID: s.ID, Timestamp: s.Timestamp.Time}
	switch s.Status {
	case "sent":
		st.Status = channels.StatusSent
	case "delivered":
		st.Status = channels.StatusDelivered
	case "read":
		st.Status = channels.StatusRead
	case "failed":
		st.Status = channels.StatusFailed
		if len(s.Errors) == 0 {
			st.Err = &channels.Error{Class: channels.ClassPermanent, Code: "failed", Detail: "WhatsApp reported the message failed without an error code"}
			break
		}
		e := s.Errors[0]
		st.Err = Classify(e.Code, e.text(), 0)
	default:
		return st, false
	}
	return st, s.ID != ""
}

// PreferenceSource is the consent source of a user_preferences signal,
// followed by its value ("whatsapp:user_preferences stop").
const PreferenceSource = "whatsapp:user_preferences"

// preference converts one user_preferences entry into a consent signal:
// "stop" on marketing messages is an opt-out, "resume" an opt-in, both
// dated by Meta and worded with Meta's own detail. Anything else is
// skipped, and skip says why.
func preference(p inPreference, names map[string]string) (cs channels.ConsentSignal, skip string) {
	var optIn bool
	switch {
	case p.Category != "marketing_messages":
		return cs, fmt.Sprintf("user_preferences: category %q is not one Pregón applies", p.Category)
	case p.Value == "stop":
	case p.Value == "resume":
		optIn = true
	default:
		return cs, fmt.Sprintf("user_preferences: value %q of marketing_messages is neither stop nor resume", p.Value)
	}
	switch {
	case p.WaID != "":
		cs.From = "+" + strings.TrimPrefix(p.WaID, "+")
		cs.Name = names[p.WaID]
	case p.UserID != "":
		cs.From = p.UserID
		cs.Name = names[p.UserID]
	default:
		return cs, "user_preferences: an entry names no wa_id or user_id"
	}
	cs.OptIn = optIn
	cs.Source = PreferenceSource + " " + p.Value
	cs.Wording = p.Detail
	cs.At = p.Timestamp.Time
	return cs, ""
}
