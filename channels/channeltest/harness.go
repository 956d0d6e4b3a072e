// Package channeltest is the contract suite every channel adapter passes
// against its fake: sends, error classification, transport failures,
// webhook verification and parsing (including duplicated and reordered
// statuses). Each adapter's tests call Run with a Harness for its fake.
package channeltest

import (
	"testing"

	"pregon/channels"
	"pregon/channels/fakekit"
)

// Harness starts one adapter against a fresh fake.
type Harness struct {
	Start func(t *testing.T) *Env
}

// Env is an adapter wired to a running fake, plus what the suite needs to
// script that fake in the provider's own terms.
type Env struct {
	Adapter channels.Adapter
	// Config is the adapter's config (the suite checks no secret leaks).
	Config channels.Config
	// Rebuild builds the adapter again with some config keys changed.
	Rebuild func(change channels.Config) (channels.Adapter, error)
	Kit     *fakekit.Kit

	// To is a recipient as our identities store it; FakeTo is the same
	// recipient as the fake's rules and log name it.
	To, FakeTo string
	// Template is one the fake knows (nil when the channel has none).
	Template *channels.Template

	// PermanentCode makes the fake refuse one recipient for good.
	PermanentCode string
	// ThrottleCode is a rate-limit answer, classified with ThrottleScope.
	ThrottleCode  string
	ThrottleScope channels.Scope
	// AsyncFailCode is reported in a failed status (channels with receipts).
	AsyncFailCode string
	// CredentialKey is spoilt to provoke a config error.
	CredentialKey string

	// WebhookSecretKey is the config key Verify checks against;
	// SignatureHeader the header that carries it. BodySigned is false when
	// the provider authenticates the sender but not the body (Telegram).
	WebhookSecretKey string
	SignatureHeader  string
	BodySigned       bool
	// EchoesMessageID: status webhooks carry our message id (Twilio).
	EchoesMessageID bool
	// ReadReceipts: the provider reports "read" (WhatsApp), not only delivered.
	ReadReceipts bool

	// SetCallback points the fake's webhooks (inbound, and statuses where
	// the provider has one URL per channel) at url.
	SetCallback func(url string)
	// Inbound makes the fake's user (To) send text to the channel.
	Inbound func(t *testing.T, text string)
}
