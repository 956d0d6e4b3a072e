// Package telegram is the adapter for the Telegram Bot API (channel type
// telegram): sendMessage/sendPhoto/..., the secret-token webhook header,
// updates (messages, /start, my_chat_member), and Telegram's errors mapped
// to Pregón's error classes. The bot token sits in every request path, so
// every error that could quote a URL goes through channels.Redact.
package telegram

import (
	"fmt"
	"net/http"
	"time"

	"pregon/channels"
)

// Config keys (shared with the dashboard and the tests).
const (
	KeyBaseURL     = "base_url"
	KeyBotToken    = "bot_token"
	KeySecretToken = "secret_token"
)

// DefaultBaseURL is the Bot API host.
const DefaultBaseURL = "https://api.telegram.org"

// Limits from the Bots FAQ (channel-contracts.md §2.3).
const (
	MaxTextLen    = 4096
	MaxCaptionLen = 1024
	DefaultRate   = 30
	ChatSpacing   = time.Second
)

// Capabilities of the telegram type with the default rate.
func Capabilities() channels.Capabilities {
	return channels.Capabilities{
		IdentityKind:     channels.KindTelegram,
		Broadcasts:       true,
		ContentTypes:     []channels.ContentType{channels.ContentText, channels.ContentMedia},
		MaxTextLen:       MaxTextLen,
		MaxCaption:       MaxCaptionLen,
		DefaultRate:      DefaultRate,
		RecipientSpacing: ChatSpacing,
		SecretKeys:       []string{KeyBotToken, KeySecretToken},
		RequiredKeys:     []string{KeyBotToken, KeySecretToken},
		ConfigKeys:       []string{KeyBaseURL, KeyBotToken, KeySecretToken},
	}
}

// Register adds telegram to r.
func Register(r *channels.Registry) {
	r.Register(channels.Telegram, Capabilities(), func(cfg channels.Config, deps channels.Deps) (channels.Adapter, error) {
		return New(cfg, deps)
	})
}

// Adapter is one bot.
type Adapter struct {
	caps    channels.Capabilities
	http    *http.Client
	api     string // base + "/bot" + token: never logged as is
	secret  string
	secrets []string
}

// New builds an adapter from a channel's decrypted config.
func New(cfg channels.Config, deps channels.Deps) (*Adapter, error) {
	token, secret := cfg.Or(KeyBotToken, ""), cfg.Or(KeySecretToken, "")
	if token == "" {
		return nil, fmt.Errorf("telegram channel needs config %q (from @BotFather)", KeyBotToken)
	}
	if err := ValidSecretToken(secret); err != nil {
		return nil, err
	}
	base, err := cfg.BaseURL(KeyBaseURL, DefaultBaseURL)
	if err != nil {
		return nil, err
	}
	rate, err := cfg.Rate(DefaultRate)
	if err != nil {
		return nil, err
	}
	if deps.HTTP == nil {
		deps.HTTP = channels.DefaultHTTPClient()
	}
	caps := Capabilities()
	caps.DefaultRate = rate
	return &Adapter{caps: caps, http: deps.HTTP, api: base + "/bot" + token, secret: secret,
		secrets: []string{token, secret}}, nil
}

// ValidSecretToken checks Telegram's rule for secret_token: 1–256
// characters from A-Z, a-z, 0-9, _ and -.
func ValidSecretToken(s string) error {
	if s == "" || len(s) > 256 {
		return fmt.Errorf("telegram config %q must be 1 to 256 characters long", KeySecretToken)
	}
	for _, c := range s {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return fmt.Errorf("telegram config %q may only contain A-Z, a-z, 0-9, _ and -", KeySecretToken)
		}
	}
	return nil
}

// Type is telegram.
func (a *Adapter) Type() channels.Type { return channels.Telegram }

// Capabilities reflect this channel's rate_per_second.
func (a *Adapter) Capabilities() channels.Capabilities { return a.caps }
