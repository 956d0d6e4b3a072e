// Package twilio is the adapter for Twilio Programmable Messaging, both
// twilio_sms (identity kind sms) and twilio_whatsapp (kind whatsapp): the
// Messages API, X-Twilio-Signature webhooks, status callbacks and inbound
// messages (answered with empty TwiML), and Twilio's error codes mapped to
// Pregón's error classes.
package twilio

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"pregon/channels"
)

// Config keys (shared with the dashboard and the tests).
const (
	KeyBaseURL             = "base_url"
	KeyAccountSID          = "account_sid"
	KeyAuthToken           = "auth_token"
	KeyFrom                = "from"
	KeyMessagingServiceSID = "messaging_service_sid"
	// KeyAuthTokenSecondary is accepted by Verify during token rotation.
	KeyAuthTokenSecondary = "auth_token_secondary"
)

// DefaultBaseURL is Twilio's REST host.
const DefaultBaseURL = "https://api.twilio.com"

// ContentSIDPrefix starts every Twilio Content SID: on Twilio WhatsApp a
// template is sent by its Content SID (ContentSid), not by name.
const ContentSIDPrefix = "HX"

// MessageIDParam is the query parameter of StatusCallbackURL that carries
// our message id; Parse reads it back into StatusUpdate.MessageID. It sits
// in the URL, so the signature covers it.
const MessageIDParam = "message_id"

// Limits (channel-contracts.md §3).
const (
	MaxBodyLen = 1600
	// SMSRate is a US long code's ~1 segment per second.
	SMSRate = 1
	// WhatsAppRate is Meta's per-number default, which Twilio inherits.
	WhatsAppRate = 80
	// MaxInFlight keeps concurrent API calls under the account's
	// concurrency cap (20429 beyond it).
	MaxInFlight = 5
)

// SMSCapabilities of twilio_sms with the default rate.
func SMSCapabilities() channels.Capabilities {
	return channels.Capabilities{
		IdentityKind: channels.KindSMS,
		Broadcasts:   true,
		ContentTypes: []channels.ContentType{channels.ContentText, channels.ContentMedia},
		MaxTextLen:   MaxBodyLen,
		MaxCaption:   MaxBodyLen,
		DefaultRate:  SMSRate,
		MaxInFlight:  MaxInFlight,
		Receipts:     true,
		SecretKeys:   []string{KeyAuthToken, KeyAuthTokenSecondary},
		RequiredKeys: []string{KeyAccountSID, KeyAuthToken},
		ConfigKeys:   []string{KeyBaseURL, KeyAccountSID, KeyAuthToken, KeyAuthTokenSecondary, KeyFrom, KeyMessagingServiceSID},
	}
}

// WhatsAppCapabilities of twilio_whatsapp with the default rate: Meta's
// window, templates (Content API) and tier rules apply through Twilio.
func WhatsAppCapabilities() channels.Capabilities {
	c := SMSCapabilities()
	c.IdentityKind = channels.KindWhatsApp
	c.ContentTypes = []channels.ContentType{channels.ContentText, channels.ContentTemplate, channels.ContentMedia}
	c.DefaultRate = WhatsAppRate
	c.RecipientSpacing = 6 * time.Second
	c.Window = 24 * time.Hour
	c.TemplatesOutsideWindow = true
	c.TemplateIDPrefix = ContentSIDPrefix
	c.DailyTier = true
	return c
}

// Register adds twilio_sms and twilio_whatsapp to r.
func Register(r *channels.Registry) {
	r.Register(channels.TwilioSMS, SMSCapabilities(), func(cfg channels.Config, deps channels.Deps) (channels.Adapter, error) {
		return New(channels.TwilioSMS, cfg, deps)
	})
	r.Register(channels.TwilioWhatsApp, WhatsAppCapabilities(), func(cfg channels.Config, deps channels.Deps) (channels.Adapter, error) {
		return New(channels.TwilioWhatsApp, cfg, deps)
	})
}

// Adapter is one Twilio sender (a number or a messaging service).
type Adapter struct {
	typ      channels.Type
	caps     channels.Capabilities
	http     *http.Client
	now      func() time.Time
	sendURL  string
	auth     [2]string // account sid, auth token
	tokens   []string  // tokens Verify accepts
	from     string    // "From" on the wire ("whatsapp:+1..." for WhatsApp), or ""
	service  string
	secrets  []string
	whatsapp bool
}

// New builds a twilio_sms or twilio_whatsapp adapter.
func New(t channels.Type, cfg channels.Config, deps channels.Deps) (*Adapter, error) {
	a := &Adapter{typ: t, whatsapp: t == channels.TwilioWhatsApp}
	switch t {
	case channels.TwilioSMS:
		a.caps = SMSCapabilities()
	case channels.TwilioWhatsApp:
		a.caps = WhatsAppCapabilities()
	default:
		return nil, fmt.Errorf("twilio adapter cannot serve channel type %q", t)
	}
	sid, token := cfg.Or(KeyAccountSID, ""), cfg.Or(KeyAuthToken, "")
	if !strings.HasPrefix(sid, "AC") {
		return nil, fmt.Errorf("%s config %q must be an Account SID starting with AC", t, KeyAccountSID)
	}
	if token == "" {
		return nil, fmt.Errorf("%s channel needs config %q", t, KeyAuthToken)
	}
	a.from, a.service = cfg.Or(KeyFrom, ""), cfg.Or(KeyMessagingServiceSID, "")
	if a.from == "" && a.service == "" {
		return nil, fmt.Errorf("%s channel needs config %q (a Twilio number in E.164) or %q (MG…)", t, KeyFrom, KeyMessagingServiceSID)
	}
	if a.from != "" {
		num := strings.TrimPrefix(a.from, "whatsapp:")
		if !isE164(num) {
			return nil, fmt.Errorf("%s config %q must be an E.164 number such as +15017122661, got %q", t, KeyFrom, a.from)
		}
		a.from = address(a.whatsapp, num)
	}
	base, err := cfg.BaseURL(KeyBaseURL, DefaultBaseURL)
	if err != nil {
		return nil, err
	}
	if a.caps.DefaultRate, err = cfg.Rate(a.caps.DefaultRate); err != nil {
		return nil, err
	}
	if deps.HTTP == nil {
		deps.HTTP = channels.DefaultHTTPClient()
	}
	if deps.Now == nil {
		deps.Now = func() time.Time { return time.Now().UTC() }
	}
	a.http, a.now = deps.HTTP, deps.Now
	a.sendURL = base + "/2010-04-01/Accounts/" + sid + "/Messages.json"
	a.auth = [2]string{sid, token}
	a.tokens = []string{token}
	if t2 := cfg.Or(KeyAuthTokenSecondary, ""); t2 != "" {
		a.tokens = append(a.tokens, t2)
	}
	a.secrets = []string{token, cfg[KeyAuthTokenSecondary]}
	return a, nil
}

// Type is twilio_sms or twilio_whatsapp.
func (a *Adapter) Type() channels.Type { return a.typ }

// Capabilities reflect this channel's rate_per_second.
func (a *Adapter) Capabilities() channels.Capabilities { return a.caps }

// address is a number as Twilio's To/From want it for the channel.
func address(whatsapp bool, e164 string) string {
	if whatsapp {
		return "whatsapp:" + e164
	}
	return e164
}

func isE164(s string) bool {
	if len(s) < 8 || len(s) > 16 || s[0] != '+' || s[1] == '0' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
