package channels

import (
	"errors"
	"fmt"
	"time"
)

// Class says what to do about a failed send or webhook.
type Class string

const (
	// ClassRetry: transient; send the same message again after a backoff.
	ClassRetry Class = "retry"
	// ClassThrottle: slow down Scope for Wait (or a backoff when Wait is 0).
	ClassThrottle Class = "throttle"
	// ClassPermanent: this message to this recipient will not go; never retry.
	ClassPermanent Class = "permanent"
	// ClassConfig: credentials, policy or billing; pause the channel and alert the admin.
	ClassConfig Class = "config"
)

// Scope is what a throttle applies to.
type Scope string

const (
	ScopeChannel   Scope = "channel"   // the sending number / bot
	ScopeRecipient Scope = "recipient" // one contact (pair rate)
	ScopeAccount   Scope = "account"   // the whole provider account
)

// Error is a classified provider failure.
type Error struct {
	Class Class
	Scope Scope         // for ClassThrottle
	Wait  time.Duration // provider's hint (Telegram retry_after); 0 = use backoff
	// Code is the provider's own code ("131056", "21610", "429"...).
	Code string
	// Detail is the provider's message, secrets redacted.
	Detail string
	// OptOut: the failure means the recipient opted out (Twilio 21610,
	// Telegram blocked, WhatsApp 131050); consent must be updated.
	OptOut bool
	// HTTPStatus is set by Verify failures (401/403) and when known.
	HTTPStatus int
	// MigrateTo carries Telegram's migrate_to_chat_id.
	MigrateTo string
}

func (e *Error) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("%s error %s: %s", e.Class, e.Code, e.Detail)
	}
	return fmt.Sprintf("%s error: %s", e.Class, e.Detail)
}

// Classify returns err as an *Error; anything unclassified (network errors,
// timeouts, closed connections) is a retry.
func Classify(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Class: ClassRetry, Detail: err.Error()}
}

// InvalidMessage is an adapter's refusal of a message the provider would
// refuse anyway (too long, no recipient, unsupported content): permanent,
// and detail says what to fix.
func InvalidMessage(detail string) *Error {
	return &Error{Class: ClassPermanent, Code: "invalid_message", Detail: detail}
}
