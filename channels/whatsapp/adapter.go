// Package whatsapp is the adapter for Meta's WhatsApp Business Cloud API
// (channel type whatsapp_cloud): Graph API sends, X-Hub-Signature-256
// webhooks, the hub.challenge handshake, and Meta's error codes mapped to
// Pregón's error classes.
package whatsapp

import (
	"fmt"
	"net/http"
	"time"

	"pregon/channels"
)

// Config keys (shared with the dashboard and the tests).
const (
	KeyBaseURL       = "base_url"
	KeyAPIVersion    = "api_version"
	KeyPhoneNumberID = "phone_number_id"
	KeyAccessToken   = "access_token"
	KeyAppSecret     = "app_secret"
	KeyVerifyToken   = "verify_token"
)

// Defaults; both are per-channel settings because Meta moves them.
const (
	DefaultBaseURL    = "https://graph.facebook.com"
	DefaultAPIVersion = "v25.0"
)

// Limits from Meta's docs (channel-contracts.md §1).
const (
	MaxTextLen    = 4096
	MaxCaptionLen = 1024
	DefaultRate   = 80
	PairSpacing   = 6 * time.Second
	ServiceWindow = 24 * time.Hour
)

// Capabilities of whatsapp_cloud with the default rate.
func Capabilities() channels.Capabilities {
	return channels.Capabilities{
		IdentityKind:           channels.KindWhatsApp,
		Broadcasts:             true,
		ContentTypes:           []channels.ContentType{channels.ContentText, channels.ContentTemplate, channels.ContentMedia},
		MaxTextLen:             MaxTextLen,
		MaxCaption:             MaxCaptionLen,
		DefaultRate:            DefaultRate,
		RecipientSpacing:       PairSpacing,
		Window:                 ServiceWindow,
		TemplatesOutsideWindow: true,
		Receipts:               true,
		DailyTier:              true,
		SecretKeys:             []string{KeyAccessToken, KeyAppSecret, KeyVerifyToken},
		RequiredKeys:           []string{KeyPhoneNumberID, KeyAccessToken, KeyAppSecret, KeyVerifyToken},
		ConfigKeys:             []string{KeyBaseURL, KeyAPIVersion, KeyPhoneNumberID, KeyAccessToken, KeyAppSecret, KeyVerifyToken},
	}
}

// Register adds whatsapp_cloud to r.
func Register(r *channels.Registry) {
	r.Register(channels.WhatsAppCloud, Capabilities(), func(cfg channels.Config, deps channels.Deps) (channels.Adapter, error) {
		return New(cfg, deps)
	})
}

// Adapter is one WhatsApp Cloud phone number.
type Adapter struct {
	caps        channels.Capabilities
	http        *http.Client
	now         func() time.Time
	base        string // base URL + version, e.g. https://graph.facebook.com/v25.0
	pnid        string
	sendURL     string
	auth        string // "Bearer <token>"
	appSecret   []byte
	verifyToken string
	secrets     []string
}

// New builds an adapter from a channel's decrypted config.
func New(cfg channels.Config, deps channels.Deps) (*Adapter, error) {
	for _, k := range Capabilities().RequiredKeys {
		if cfg.Or(k, "") == "" {
			return nil, fmt.Errorf("whatsapp_cloud channel needs config %q", k)
		}
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
	if deps.Now == nil {
		deps.Now = func() time.Time { return time.Now().UTC() }
	}
	caps := Capabilities()
	caps.DefaultRate = rate
	a := &Adapter{
		caps:        caps,
		http:        deps.HTTP,
		now:         deps.Now,
		base:        base + "/" + cfg.Or(KeyAPIVersion, DefaultAPIVersion),
		pnid:        cfg.Or(KeyPhoneNumberID, ""),
		auth:        "Bearer " + cfg.Or(KeyAccessToken, ""),
		appSecret:   []byte(cfg.Or(KeyAppSecret, "")),
		verifyToken: cfg.Or(KeyVerifyToken, ""),
	}
	a.sendURL = a.base + "/" + a.pnid + "/messages"
	a.secrets = []string{cfg[KeyAccessToken], cfg[KeyAppSecret], cfg[KeyVerifyToken]}
	return a, nil
}

// Type is whatsapp_cloud.
func (a *Adapter) Type() channels.Type { return channels.WhatsAppCloud }

// Capabilities reflect this channel's rate_per_second.
func (a *Adapter) Capabilities() channels.Capabilities { return a.caps }
