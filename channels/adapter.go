// Package channels defines what every provider adapter does: send one
// message, verify and parse one webhook, and declare its capabilities.
// Adapters know nothing of broadcasts, journeys or the database; the outbox
// and the webhook handler drive them.
package channels

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// Type is a channel type, as stored in channels.type.
type Type string

const (
	WhatsAppCloud  Type = "whatsapp_cloud"
	Telegram       Type = "telegram"
	TwilioSMS      Type = "twilio_sms"
	TwilioWhatsApp Type = "twilio_whatsapp"
	WebChat        Type = "webchat"
	Sandbox        Type = "sandbox"
	Messenger      Type = "messenger"
	VonageSMS      Type = "vonage_sms"
	MessageBirdSMS Type = "messagebird_sms"
	Email          Type = "email"
)

// Kind is an identity kind (contact_identities.kind): the channel family an
// identifier belongs to. Twilio WhatsApp and WhatsApp Cloud share "whatsapp".
type Kind string

const (
	KindWhatsApp  Kind = "whatsapp"
	KindSMS       Kind = "sms"
	KindTelegram  Kind = "telegram"
	KindMessenger Kind = "messenger"
	KindEmail     Kind = "email"
	KindWebChat   Kind = "webchat"
	KindSandbox   Kind = "sandbox"
)

// ContentType names one shape of message content.
type ContentType string

const (
	ContentText     ContentType = "text"
	ContentTemplate ContentType = "template"
	ContentMedia    ContentType = "media"
)

// Capabilities tell the outbox, the broadcast planner and the dashboard what
// a channel type can do and which limits apply to it.
type Capabilities struct {
	IdentityKind Kind
	// Broadcasts is false for channels where only the contact opens the conversation.
	Broadcasts   bool
	ContentTypes []ContentType
	MaxTextLen   int
	MaxCaption   int
	// DefaultRate is messages per second when the channel sets none.
	DefaultRate float64
	// RecipientSpacing is the minimum gap between two messages to one recipient
	// (WhatsApp's pair rate, ~6 s); 0 means none.
	RecipientSpacing time.Duration
	// MaxInFlight caps concurrent provider calls (Twilio answers 20429 beyond it); 0 = the outbox default.
	MaxInFlight int
	// Window is the customer-service window after the contact's last inbound
	// message (24 h on WhatsApp); 0 means the channel has none.
	Window time.Duration
	// TemplatesOutsideWindow: outside the window only templates may be sent.
	TemplatesOutsideWindow bool
	// TemplateIDPrefix, when set, is how the provider's template ids begin:
	// such a channel names a template by its id, not by its name and
	// language (Twilio's Content SIDs, "HX…"), so a name is refused when
	// the message is written instead of failing after it was queued.
	TemplateIDPrefix string
	// Receipts: the provider reports delivered (and maybe read).
	Receipts bool
	// DailyTier: the channel has a rolling-24h unique-recipient limit (WhatsApp).
	DailyTier bool
	// SecretKeys are the config keys that are secrets: encrypted at rest, never returned.
	SecretKeys []string
	// RequiredKeys must be present in config for the channel to work.
	RequiredKeys []string
	// ConfigKeys lists every config key the type understands (required,
	// optional and secret); other keys are refused as typos. Empty: no check.
	ConfigKeys []string
}

// Supports reports whether the channel can send content of type t.
func (c Capabilities) Supports(t ContentType) bool {
	for _, x := range c.ContentTypes {
		if x == t {
			return true
		}
	}
	return false
}

// Content is one outbound message's body: exactly one of Text, Template or Media.
type Content struct {
	Text     string    `json:"text,omitempty"`
	Template *Template `json:"template,omitempty"`
	Media    *Media    `json:"media,omitempty"`
}

// Type returns which of the three shapes c holds ("" when empty).
func (c Content) Type() ContentType {
	switch {
	case c.Template != nil:
		return ContentTemplate
	case c.Media != nil:
		return ContentMedia
	case c.Text != "":
		return ContentText
	}
	return ""
}

// Template is a pre-approved message (WhatsApp) with positional parameters.
type Template struct {
	Name     string   `json:"name"`
	Language string   `json:"language"`
	Params   []string `json:"params,omitempty"`
}

// Media is an attachment fetched by the provider from URL.
type Media struct {
	URL     string `json:"url"`
	Kind    string `json:"kind,omitempty"` // image (default), document, audio, video
	Caption string `json:"caption,omitempty"`
}

// OutMessage is what the outbox asks an adapter to send.
type OutMessage struct {
	ID      string // our messages.id
	To      string // the identity's identifier (E.164, chat id, user id...)
	Content Content
	// StatusCallbackURL is where providers that take one per message
	// (Twilio) must post statuses; it carries our message id.
	StatusCallbackURL string
}

// SendResult is the provider's acceptance of one message.
type SendResult struct {
	ProviderID string
	// Final is true when no status webhooks will follow (Telegram): the
	// message is "sent" and stays so.
	Final bool
}

// WebhookRequest is one inbound HTTP request to /api/pregon/webhooks/{channel},
// with the raw body kept for signature checks.
type WebhookRequest struct {
	Method string
	// PublicURL is the URL the provider called, as the provider saw it
	// (rebuilt from the configured public base URL behind a proxy).
	PublicURL *url.URL
	Header    http.Header
	Body      []byte
}

// WebhookBatch is what one webhook delivery carried.
type WebhookBatch struct {
	Messages []Inbound
	Statuses []StatusUpdate
	Consents []ConsentSignal
	// AccountErrors are problems the provider reports about the account or
	// number itself, not about one message (WhatsApp's value.errors: a
	// locked business account, a policy block). They are shown to the admin.
	AccountErrors []Error
	// Skipped says what the parser read but chose to ignore, and why
	// (an unknown preference category); it is logged at debug level.
	Skipped []string
	// Reply, when set, is written back to the provider as the response body
	// (TwiML for Twilio); ContentType goes with it.
	Reply            []byte
	ReplyContentType string
}

// Inbound is one message a contact sent us.
type Inbound struct {
	ProviderID string
	From       string // identifier of the sender, as our identities store it
	Name       string // profile name, when the provider gives one
	Phone      string // E.164 when the provider gives a phone beside a user id
	Content    Content
	Timestamp  time.Time
}

// Status is a delivery state, ordered: queued < sent < delivered < read;
// failed is final.
type Status string

const (
	StatusQueued    Status = "queued"
	StatusSent      Status = "sent"
	StatusDelivered Status = "delivered"
	StatusRead      Status = "read"
	StatusFailed    Status = "failed"
)

// StatusUpdate is a provider's report on a message we sent.
type StatusUpdate struct {
	ProviderID string
	// MessageID is our own id when the provider echoes it (Twilio callback URL).
	MessageID string
	Status    Status
	Timestamp time.Time
	Err       *Error // set when Status is failed
}

// ConsentSignal is a provider-level opt-out or opt-in (Telegram "kicked",
// Twilio STOP handled by the carrier, a WhatsApp user stopping marketing
// messages in WhatsApp's own settings).
type ConsentSignal struct {
	From   string
	OptIn  bool
	Source string // e.g. "telegram:my_chat_member kicked"
	// Wording is the provider's own description of the decision; "" = Source.
	Wording string
	// At is when the user decided, as the provider dated it; zero = when
	// the webhook is applied. A dated signal never replaces a consent
	// decision recorded after it.
	At time.Time
	// Name is the user's profile name, for a contact the signal creates.
	Name string
}

// Adapter is one configured channel.
type Adapter interface {
	Type() Type
	Capabilities() Capabilities
	// Send delivers one message. A failure is an *Error carrying its class.
	Send(ctx context.Context, m OutMessage) (SendResult, error)
	// Verify authenticates a webhook before anything is parsed or stored.
	// It returns an *Error with HTTPStatus 401 or 403 on failure.
	Verify(r *WebhookRequest) error
	// Handshake answers provider verification GETs (Meta's hub.challenge).
	// ok is false when the request is not a handshake.
	Handshake(r *WebhookRequest) (status int, body []byte, ok bool)
	// Parse reads a verified webhook.
	Parse(r *WebhookRequest) (WebhookBatch, error)
	// Test checks the credentials against the provider (getMe, phone number lookup...).
	Test(ctx context.Context) error
}

// WebhookRegistrar is implemented by adapters whose provider takes the
// webhook URL through its API (Telegram's setWebhook). The app calls it when
// a channel is saved or its public URL changes; other providers are set up
// in their own consoles.
type WebhookRegistrar interface {
	RegisterWebhook(ctx context.Context, url string) error
}

// Config is a channel's configuration with its secrets already decrypted.
type Config map[string]string

// Deps are what adapters may use from the app; nil fields get defaults.
type Deps struct {
	HTTP *http.Client
	Now  func() time.Time
	// Publish pushes a message to an in-app channel (web chat, sandbox) over
	// PocketBase realtime: topic is e.g. "webchat/<visitor>".
	Publish func(topic string, payload any) error
}
