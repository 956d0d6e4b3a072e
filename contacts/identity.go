package contacts

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Identity kinds (contact_identities.kind): channel families.
const (
	KindWhatsApp  = "whatsapp"
	KindSMS       = "sms"
	KindTelegram  = "telegram"
	KindMessenger = "messenger"
	KindEmail     = "email"
	KindWebChat   = "webchat"
	KindSandbox   = "sandbox"
)

// Kinds lists every identity kind.
var Kinds = []string{KindWhatsApp, KindSMS, KindTelegram, KindMessenger, KindEmail, KindWebChat, KindSandbox}

// PhoneKinds are the kinds a contact's phone is also an identity of.
var PhoneKinds = []string{KindSMS, KindWhatsApp}

// ValidKind reports whether k is an identity kind.
func ValidKind(k string) bool {
	for _, x := range Kinds {
		if x == k {
			return true
		}
	}
	return false
}

// MaxIdentifierLen bounds an identifier (contact_identities.identifier).
const MaxIdentifierLen = 320

// whatsappUserID is a WhatsApp business-scoped user id: a two-letter
// country code, a dot and an alphanumeric string ("US.13491208655302741918").
// Meta says to store it exactly as received, so its case is kept.
var whatsappUserID = regexp.MustCompile(`^[A-Z]{2}\.[A-Za-z0-9]{1,128}$`)

// NormalizeIdentifier checks raw as an identifier of kind and returns its
// stored form: E.164 for phone numbers (parsed against region), a WhatsApp
// user id as given, a Telegram chat id as a plain integer, a lower-case
// e-mail address; Messenger PSIDs, web-chat and sandbox visitor ids are
// opaque and only trimmed.
func NormalizeIdentifier(kind, raw, region string) (string, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", fmt.Errorf("a %s identifier cannot be empty", kind)
	}
	if utf8.RuneCountInString(s) > MaxIdentifierLen {
		return "", fmt.Errorf("a %s identifier is at most %d characters", kind, MaxIdentifierLen)
	}
	switch kind {
	case KindWhatsApp:
		if whatsappUserID.MatchString(s) {
			return s, nil
		}
		p, err := NormalizePhone(s, region)
		if err != nil {
			return "", fmt.Errorf("whatsapp identifier %q is neither a phone number nor a WhatsApp user id (like US.1234): %w", s, err)
		}
		return p, nil
	case KindSMS:
		p, err := NormalizePhone(s, region)
		if err != nil {
			return "", fmt.Errorf("sms identifiers are phone numbers: %w", err)
		}
		return p, nil
	case KindTelegram:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n == 0 {
			return "", fmt.Errorf("telegram identifier %q is not a chat id; Telegram chat ids are whole numbers, e.g. 123456789", s)
		}
		return strconv.FormatInt(n, 10), nil
	case KindEmail:
		e, err := NormalizeEmail(s)
		if err != nil {
			return "", fmt.Errorf("email identifiers are e-mail addresses: %w", err)
		}
		return e, nil
	case KindMessenger, KindWebChat, KindSandbox:
		for _, r := range s {
			if r < 0x20 || r == 0x7f {
				return "", fmt.Errorf("%s identifier %q contains a control character", kind, s)
			}
		}
		return s, nil
	}
	return "", fmt.Errorf("%q is not an identity kind; use one of %s", kind, strings.Join(Kinds, ", "))
}
