// Package webchat is Pregón's own channel: a small widget on the business's
// site (pb_public/dist/widget.js) through which a visitor chats. Visitors are
// contacts with a webchat identity (their visitor id); a visitor proves who
// they are with a token, the HMAC of the visitor id under the channel's
// secret, so no visitor can read or write another's conversation. Replies
// reach the page over PocketBase realtime.
package webchat

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"pregon/channels"
)

// Config keys.
const (
	// SecretKey signs visitor tokens; generated when the channel is created.
	SecretKey = "visitor_secret"
	// OriginsKey lists the sites allowed to embed the widget, e.g.
	// "https://tienda.mx, https://www.tienda.mx".
	OriginsKey  = "allowed_origins"
	TitleKey    = "title"
	GreetingKey = "greeting"
)

// TokenHeader carries the visitor token on the widget's requests.
const TokenHeader = "X-Pregon-Visitor-Token"

// ProviderPrefix marks provider ids of replies sent to the widget.
const ProviderPrefix = "wc-"

// MaxText is the longest message a visitor may send or receive.
const MaxText = 2000

// Caps: web chat cannot broadcast (the visitor opens every conversation) and
// has no delivery receipts.
var Caps = channels.Capabilities{
	IdentityKind: channels.KindWebChat,
	Broadcasts:   false,
	ContentTypes: []channels.ContentType{channels.ContentText},
	MaxTextLen:   MaxText,
	DefaultRate:  50,
	SecretKeys:   []string{SecretKey},
	RequiredKeys: []string{SecretKey},
	ConfigKeys:   []string{SecretKey, OriginsKey, TitleKey, GreetingKey},
}

// Register adds the web-chat type to r.
func Register(r *channels.Registry) {
	r.Register(channels.WebChat, Caps, func(cfg channels.Config, deps channels.Deps) (channels.Adapter, error) {
		return New(cfg, deps)
	})
}

// Adapter is one web-chat channel.
type Adapter struct {
	secret   []byte
	origins  []string // "*" or scheme://host[:port]
	title    string
	greeting string
	publish  func(topic string, payload any) error
	now      func() time.Time
}

// New builds an adapter from its config.
func New(cfg channels.Config, deps channels.Deps) (*Adapter, error) {
	if cfg[SecretKey] == "" {
		return nil, fmt.Errorf("webchat channel needs config %q", SecretKey)
	}
	origins, err := ParseOrigins(cfg[OriginsKey])
	if err != nil {
		return nil, err
	}
	return &Adapter{secret: []byte(cfg[SecretKey]), origins: origins, title: cfg[TitleKey], greeting: cfg[GreetingKey],
		publish: deps.Publish, now: deps.Now}, nil
}

// ParseOrigins reads allowed_origins: origins separated by commas or
// spaces, each scheme://host[:port] with no path, or "*" for any site.
func ParseOrigins(raw string) ([]string, error) {
	var out []string
	for _, f := range strings.FieldsFunc(raw, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' }) {
		if f == "*" {
			out = append(out, f)
			continue
		}
		u, err := url.Parse(f)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			return nil, fmt.Errorf("config %q: %q is not an origin; write it as https://tienda.mx (scheme and host, no path)", OriginsKey, f)
		}
		out = append(out, strings.ToLower(u.Scheme+"://"+u.Host))
	}
	return out, nil
}

// AllowsOrigin reports whether a page at origin may use this channel.
func (a *Adapter) AllowsOrigin(origin string) bool {
	origin = strings.ToLower(strings.TrimRight(origin, "/"))
	for _, o := range a.origins {
		if o == "*" || o == origin {
			return true
		}
	}
	return false
}

// Title and Greeting are the widget's texts ("" = the widget's defaults).
func (a *Adapter) Title() string    { return a.title }
func (a *Adapter) Greeting() string { return a.greeting }

// Topic is the realtime topic where replies to visitor appear.
func Topic(visitor string) string { return "webchat/" + visitor }

var visitorRE = regexp.MustCompile(`^v_[a-z2-7]{26}$`)

// ValidVisitor reports whether s has the shape of a visitor id.
func ValidVisitor(s string) bool { return visitorRE.MatchString(s) }

// NewVisitor returns a fresh visitor id (128 random bits).
func NewVisitor() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return "v_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}

// Token returns visitor's token: only the server, which holds the secret,
// can make one.
func (a *Adapter) Token(visitor string) string {
	m := hmac.New(sha256.New, a.secret)
	m.Write([]byte("pregon-webchat-visitor:" + visitor))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// CheckToken reports, in constant time, whether token belongs to visitor.
func (a *Adapter) CheckToken(visitor, token string) bool {
	return ValidVisitor(visitor) && hmac.Equal([]byte(token), []byte(a.Token(visitor)))
}

// Message is the body of a web-chat delivery, as Pregón's web-chat endpoint
// stores it.
type Message struct {
	ID      string `json:"id"` // the widget's id for this message: a retry is a duplicate
	Visitor string `json:"visitor"`
	Name    string `json:"name,omitempty"`
	Text    string `json:"text"`
	TS      int64  `json:"ts"` // Unix milliseconds
}

// Reply is what a reply looks like on the visitor's realtime topic and in
// the history.
type Reply struct {
	ID   string `json:"id"`
	Text string `json:"text"`
	At   string `json:"at"`
}

func (a *Adapter) Type() channels.Type                 { return channels.WebChat }
func (a *Adapter) Capabilities() channels.Capabilities { return Caps }

// Send pushes a reply to the visitor's page. Nothing confirms that the page
// showed it (the visitor may be gone; it stays in the history), so the
// result is final: "sent" is the last status.
func (a *Adapter) Send(ctx context.Context, m channels.OutMessage) (channels.SendResult, error) {
	if !ValidVisitor(m.To) {
		return channels.SendResult{}, &channels.Error{Class: channels.ClassPermanent, Code: "invalid_recipient",
			Detail: fmt.Sprintf("%q is not a web-chat visitor id", m.To)}
	}
	if m.Content.Type() != channels.ContentText {
		return channels.SendResult{}, &channels.Error{Class: channels.ClassPermanent, Code: "unsupported_content",
			Detail: "web chat sends text only"}
	}
	if n := utf8.RuneCountInString(m.Content.Text); n > MaxText {
		return channels.SendResult{}, &channels.Error{Class: channels.ClassPermanent, Code: "text_too_long",
			Detail: fmt.Sprintf("text has %d characters; web chat takes at most %d", n, MaxText)}
	}
	if a.publish == nil {
		return channels.SendResult{}, &channels.Error{Class: channels.ClassConfig, Code: "no_realtime", Detail: "realtime publishing is not wired"}
	}
	r := Reply{ID: m.ID, Text: m.Content.Text, At: a.now().UTC().Format(time.RFC3339Nano)}
	if err := a.publish(Topic(m.To), r); err != nil {
		return channels.SendResult{}, &channels.Error{Class: channels.ClassRetry, Detail: "publishing to the visitor: " + err.Error()}
	}
	return channels.SendResult{ProviderID: ProviderPrefix + m.ID, Final: true}, nil
}

// Verify checks the visitor token against the visitor the body names.
func (a *Adapter) Verify(r *channels.WebhookRequest) error {
	tok := r.Header.Get(TokenHeader)
	if tok == "" {
		return channels.MissingCredential("missing " + TokenHeader)
	}
	var m struct {
		Visitor string `json:"visitor"`
	}
	if err := json.Unmarshal(r.Body, &m); err != nil || !a.CheckToken(m.Visitor, tok) {
		return channels.BadCredential("the visitor token does not match the visitor")
	}
	return nil
}

// Handshake: web chat has none.
func (a *Adapter) Handshake(*channels.WebhookRequest) (int, []byte, bool) { return 0, nil, false }

// Parse reads a verified web-chat delivery: one visitor message.
func (a *Adapter) Parse(r *channels.WebhookRequest) (channels.WebhookBatch, error) {
	var m Message
	if err := json.Unmarshal(r.Body, &m); err != nil {
		return channels.WebhookBatch{}, fmt.Errorf("web-chat delivery is not valid JSON: %w", err)
	}
	switch {
	case !ValidVisitor(m.Visitor):
		return channels.WebhookBatch{}, fmt.Errorf("visitor %q is not a visitor id", m.Visitor)
	case m.ID == "" || len(m.ID) > 64:
		return channels.WebhookBatch{}, fmt.Errorf("message id must have 1 to 64 characters")
	case strings.TrimSpace(m.Text) == "" || utf8.RuneCountInString(m.Text) > MaxText:
		return channels.WebhookBatch{}, fmt.Errorf("text must have 1 to %d characters", MaxText)
	}
	var ts time.Time
	if m.TS > 0 {
		ts = time.UnixMilli(m.TS).UTC()
	}
	return channels.WebhookBatch{Messages: []channels.Inbound{{
		ProviderID: m.Visitor + ":" + m.ID, From: m.Visitor, Name: m.Name,
		Content: channels.Content{Text: m.Text}, Timestamp: ts,
	}}}, nil
}

// Test has nothing to reach; it checks that replies can be delivered.
func (a *Adapter) Test(context.Context) error {
	if a.publish == nil {
		return &channels.Error{Class: channels.ClassConfig, Code: "no_realtime", Detail: "realtime publishing is not wired"}
	}
	return nil
}
