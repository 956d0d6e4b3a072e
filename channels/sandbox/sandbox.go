// Package sandbox is a test phone inside the appliance: an admin writes as a
// fake contact through the API and sees the replies over realtime. It takes
// the same path as a real channel (webhook inbox, processing, outbox),
// minus the network: inbound deliveries are signed by Pregón itself, and
// Send publishes to a realtime topic instead of calling a provider.
package sandbox

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"time"
	"unicode/utf8"

	"pregon/channels"
)

// SecretKey is the config key of the signing secret, generated when the
// channel is created.
const SecretKey = "signing_secret"

// SignatureHeader carries the hex HMAC-SHA256 of the body.
const SignatureHeader = "X-Pregon-Signature"

// ProviderPrefix marks provider ids of messages the sandbox "sent".
const ProviderPrefix = "sbx-"

// Caps are the sandbox's capabilities: it may broadcast so that users can
// rehearse a broadcast before launch, and it reports statuses (simulated).
var Caps = channels.Capabilities{
	IdentityKind: channels.KindSandbox,
	Broadcasts:   true,
	ContentTypes: []channels.ContentType{channels.ContentText, channels.ContentTemplate, channels.ContentMedia},
	MaxTextLen:   4096,
	MaxCaption:   1024,
	DefaultRate:  20,
	Receipts:     true,
	SecretKeys:   []string{SecretKey},
	RequiredKeys: []string{SecretKey},
	ConfigKeys:   []string{SecretKey},
}

// Register adds the sandbox type to r.
func Register(r *channels.Registry) {
	r.Register(channels.Sandbox, Caps, func(cfg channels.Config, deps channels.Deps) (channels.Adapter, error) {
		return New(cfg, deps)
	})
}

// Adapter is one sandbox channel.
type Adapter struct {
	secret  []byte
	publish func(topic string, payload any) error
	now     func() time.Time
}

// New builds an adapter from its config.
func New(cfg channels.Config, deps channels.Deps) (*Adapter, error) {
	if cfg[SecretKey] == "" {
		return nil, fmt.Errorf("sandbox channel needs config %q", SecretKey)
	}
	return &Adapter{secret: []byte(cfg[SecretKey]), publish: deps.Publish, now: deps.Now}, nil
}

// Topic is the realtime topic where messages to identifier appear.
func Topic(identifier string) string { return "sandbox/" + identifier }

var identifierRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$`)

// ValidIdentifier reports whether s can name a fake contact: 1–64 letters,
// digits, '_', '.', '+' or '-'.
func ValidIdentifier(s string) bool { return identifierRE.MatchString(s) }

// Delivery is the body of a sandbox webhook: what Pregón's sandbox endpoint
// builds and signs.
type Delivery struct {
	Messages []Message `json:"messages,omitempty"`
	Statuses []Status  `json:"statuses,omitempty"`
}

// Message is one message from a fake contact.
type Message struct {
	ID   string `json:"id"`
	From string `json:"from"`
	Name string `json:"name,omitempty"`
	Text string `json:"text"`
	TS   int64  `json:"ts"` // Unix milliseconds
}

// Status is a simulated delivery report for a message Pregón sent.
type Status struct {
	MessageID string `json:"message_id"`
	Status    string `json:"status"`
	ErrorCode string `json:"error_code,omitempty"`
	TS        int64  `json:"ts"`
}

// Outbound is what a reply looks like on the realtime topic.
type Outbound struct {
	ID         string           `json:"id"`
	ProviderID string           `json:"provider_id"`
	To         string           `json:"to"`
	Content    channels.Content `json:"content"`
	At         string           `json:"at"`
}

// Sign returns the signature header value for body.
func (a *Adapter) Sign(body []byte) string {
	m := hmac.New(sha256.New, a.secret)
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

func (a *Adapter) Type() channels.Type                 { return channels.Sandbox }
func (a *Adapter) Capabilities() channels.Capabilities { return Caps }

// Send publishes the message on the fake contact's topic.
func (a *Adapter) Send(ctx context.Context, m channels.OutMessage) (channels.SendResult, error) {
	if !ValidIdentifier(m.To) {
		return channels.SendResult{}, &channels.Error{Class: channels.ClassPermanent, Code: "invalid_recipient",
			Detail: fmt.Sprintf("sandbox recipient %q is not a valid fake contact id", m.To)}
	}
	if n := utf8.RuneCountInString(m.Content.Text); n > Caps.MaxTextLen {
		return channels.SendResult{}, &channels.Error{Class: channels.ClassPermanent, Code: "text_too_long",
			Detail: fmt.Sprintf("text has %d characters; the sandbox takes at most %d", n, Caps.MaxTextLen)}
	}
	if m.Content.Type() == "" {
		return channels.SendResult{}, &channels.Error{Class: channels.ClassPermanent, Code: "empty_message", Detail: "the message has no content"}
	}
	if a.publish == nil {
		return channels.SendResult{}, &channels.Error{Class: channels.ClassConfig, Code: "no_realtime", Detail: "realtime publishing is not wired"}
	}
	pid := ProviderPrefix + m.ID
	out := Outbound{ID: m.ID, ProviderID: pid, To: m.To, Content: m.Content, At: a.now().UTC().Format(time.RFC3339Nano)}
	if err := a.publish(Topic(m.To), out); err != nil {
		return channels.SendResult{}, &channels.Error{Class: channels.ClassRetry, Detail: "publishing to the sandbox: " + err.Error()}
	}
	return channels.SendResult{ProviderID: pid}, nil
}

// Verify checks the signature Pregón's sandbox endpoint put on the body.
func (a *Adapter) Verify(r *channels.WebhookRequest) error {
	sig := r.Header.Get(SignatureHeader)
	if sig == "" {
		return channels.MissingCredential("missing " + SignatureHeader + "; send sandbox messages through /api/pregon/sandbox/{channel}/messages")
	}
	if !channels.SecretEqual(sig, a.Sign(r.Body)) {
		return channels.BadCredential(SignatureHeader + " does not match the body")
	}
	return nil
}

// Handshake: the sandbox has none.
func (a *Adapter) Handshake(*channels.WebhookRequest) (int, []byte, bool) { return 0, nil, false }

// Parse reads a signed sandbox delivery.
func (a *Adapter) Parse(r *channels.WebhookRequest) (channels.WebhookBatch, error) {
	var d Delivery
	if err := json.Unmarshal(r.Body, &d); err != nil {
		return channels.WebhookBatch{}, fmt.Errorf("sandbox delivery is not valid JSON: %w", err)
	}
	var b channels.WebhookBatch
	for i, m := range d.Messages {
		switch {
		case !ValidIdentifier(m.From):
			return b, fmt.Errorf("messages[%d].from %q is not a valid fake contact id", i, m.From)
		case m.Text == "" || utf8.RuneCountInString(m.Text) > Caps.MaxTextLen:
			return b, fmt.Errorf("messages[%d].text must have 1 to %d characters", i, Caps.MaxTextLen)
		case m.ID == "":
			return b, fmt.Errorf("messages[%d].id is missing", i)
		}
		b.Messages = append(b.Messages, channels.Inbound{
			ProviderID: m.From + ":" + m.ID, From: m.From, Name: m.Name,
			Content: channels.Content{Text: m.Text}, Timestamp: millis(m.TS),
		})
	}
	for i, s := range d.Statuses {
		st := channels.Status(s.Status)
		switch st {
		case channels.StatusSent, channels.StatusDelivered, channels.StatusRead, channels.StatusFailed:
		default:
			return b, fmt.Errorf("statuses[%d].status %q must be sent, delivered, read or failed", i, s.Status)
		}
		if s.MessageID == "" {
			return b, fmt.Errorf("statuses[%d].message_id is missing", i)
		}
		su := channels.StatusUpdate{MessageID: s.MessageID, ProviderID: ProviderPrefix + s.MessageID, Status: st, Timestamp: millis(s.TS)}
		if st == channels.StatusFailed {
			code := s.ErrorCode
			if code == "" {
				code = "sandbox_failed"
			}
			su.Err = &channels.Error{Class: channels.ClassPermanent, Code: code, Detail: "failure simulated in the sandbox"}
		}
		b.Statuses = append(b.Statuses, su)
	}
	return b, nil
}

// Test has nothing to reach: the sandbox is always connected.
func (a *Adapter) Test(context.Context) error { return nil }

func millis(ms int64) time.Time {
	if ms <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}
