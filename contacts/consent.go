package contacts

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Consent statuses; "" means nothing was ever recorded.
const (
	ConsentOptedIn  = "opted_in"
	ConsentOptedOut = "opted_out"
)

// Limits of the consent evidence (contact_identities columns).
const (
	MaxConsentSource  = 200
	MaxConsentWording = 2000
)

// Consent is one identity's consent and the evidence kept for it.
type Consent struct {
	Status  string    `json:"status"`
	At      time.Time `json:"at"`
	Source  string    `json:"source"`
	Wording string    `json:"wording"`
}

// consentClockSkew tolerates a client clock slightly ahead of ours.
const consentClockSkew = 5 * time.Minute

// ApplyConsentRules checks a write of an identity's consent (before → after)
// and returns what to store and whether it records a new consent decision.
//
//   - An opt-in must carry its evidence: a source (where and how it was
//     given). An opt-out never needs one: a contact's wish to stop is
//     honoured whatever the paperwork.
//   - Recorded consent cannot be cleared, only replaced by a new decision,
//     so evidence is never silently lost (the event log keeps the old one).
//   - A new decision does not inherit the previous decision's source and
//     wording, and its time defaults to now; a time in the future is refused.
//
// Errors are keyed by column: consent, consent_at, consent_source,
// consent_wording.
func ApplyConsentRules(before, after Consent, now time.Time) (Consent, bool, FieldErrors) {
	fe := FieldErrors{}
	after.Source = strings.TrimSpace(after.Source)
	after.Wording = strings.TrimSpace(after.Wording)
	switch after.Status {
	case "", ConsentOptedIn, ConsentOptedOut:
	default:
		fe.Add("consent", fmt.Sprintf("consent %q is not a status; use opted_in or opted_out", after.Status))
		return after, false, fe
	}
	statusChanged := after.Status != before.Status
	sourceChanged := after.Source != before.Source
	wordingChanged := after.Wording != before.Wording
	atChanged := !after.At.Equal(before.At)
	if !statusChanged && !sourceChanged && !wordingChanged && !atChanged {
		return after, false, nil
	}
	if after.Status == "" {
		if before.Status != "" {
			fe.Add("consent", "recorded consent cannot be cleared; record a new decision (opted_in or opted_out) with its evidence instead")
		} else {
			fe.Add("consent", "consent evidence needs a decision: set consent to opted_in or opted_out")
		}
		return after, false, fe
	}
	if statusChanged {
		if !sourceChanged {
			after.Source = ""
		}
		if !wordingChanged {
			after.Wording = ""
		}
	}
	if !atChanged || after.At.IsZero() {
		after.At = now
	}
	if after.At.After(now.Add(consentClockSkew)) {
		fe.Add("consent_at", fmt.Sprintf("consent time %s is in the future", after.At.UTC().Format(time.RFC3339)))
	}
	if after.Status == ConsentOptedIn && after.Source == "" {
		fe.Add("consent_source", "an opt-in needs its evidence: give its source, where and how it was given (e.g. \"web form /registro\", \"WhatsApp reply ALTA\")")
	}
	if n := utf8.RuneCountInString(after.Source); n > MaxConsentSource {
		fe.Add("consent_source", fmt.Sprintf("consent source is %d characters; the maximum is %d", n, MaxConsentSource))
	}
	if n := utf8.RuneCountInString(after.Wording); n > MaxConsentWording {
		fe.Add("consent_wording", fmt.Sprintf("consent wording is %d characters; the maximum is %d", n, MaxConsentWording))
	}
	if len(fe) > 0 {
		return after, false, fe
	}
	return after, true, nil
}
