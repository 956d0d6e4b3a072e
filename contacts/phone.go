// Package contacts holds the rules of a contact: phone normalization, typed
// custom fields, tags, consent, identities, merge, import and export.
package contacts

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/nyaruka/phonenumbers"
)

// NormalizePhone parses raw against region (ISO 3166-1 alpha-2, the
// workspace default) and returns it in E.164. A number that does not parse,
// or parses but is not a valid number, is an error naming the value: a phone
// is never silently dropped or guessed.
func NormalizePhone(raw, region string) (string, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", fmt.Errorf("phone is empty")
	}
	if len(s) > 64 {
		return "", fmt.Errorf("phone %q is too long to be a phone number", s[:32]+"…")
	}
	// Spreadsheet habits: "00" international prefix, a leading apostrophe
	// that forces text, "tel:" links.
	s = strings.TrimPrefix(strings.TrimPrefix(s, "'"), "tel:")
	var b strings.Builder
	for _, r := range s {
		switch {
		case (r == '+' || r == '＋') && b.Len() == 0:
			r = '+'
			b.WriteRune(r)
		case unicode.Is(unicode.Nd, r):
			// Full-width, Devanagari or Arabic-Indic digits become ASCII.
			b.WriteRune('0' + decimalValue(r))
		case strings.ContainsRune(" -.()/\u00a0", r):
		default:
			// Letters (vanity numbers, "ext.") and other symbols are not guessed at.
			return "", fmt.Errorf("phone %q contains %q; use digits, spaces, dashes and a leading +", raw, r)
		}
	}
	s = b.String()
	if strings.HasPrefix(s, "00") {
		s = "+" + s[2:]
	}
	if strings.Trim(s, "+") == "" {
		return "", fmt.Errorf("phone %q has no digits", raw)
	}
	num, err := phonenumbers.Parse(s, strings.ToUpper(region))
	if err != nil {
		return "", fmt.Errorf("phone %q cannot be read (%s); write it with its country code, e.g. +52 55 1234 5678", raw, strings.ToLower(err.Error()))
	}
	if !phonenumbers.IsValidNumber(num) {
		return "", fmt.Errorf("phone %q is not a valid number for %s; check the digits or add the country code", raw, regionName(num, region))
	}
	return phonenumbers.Format(num, phonenumbers.E164), nil
}

// ValidRegion reports whether region is a region phonenumbers knows.
func ValidRegion(region string) bool {
	return phonenumbers.GetCountryCodeForRegion(strings.ToUpper(region)) != 0
}

func regionName(num *phonenumbers.PhoneNumber, fallback string) string {
	if r := phonenumbers.GetRegionCodeForNumber(num); r != "" && r != "ZZ" {
		return r
	}
	return strings.ToUpper(fallback)
}

// decimalValue returns the value of a Unicode decimal digit. Unicode keeps
// every script's decimal digits in contiguous runs of ten starting at zero,
// and unicode.Nd's ranges are unions of whole runs.
func decimalValue(r rune) rune {
	for _, rg := range unicode.Nd.R16 {
		if r >= rune(rg.Lo) && r <= rune(rg.Hi) {
			return (r - rune(rg.Lo)) % 10
		}
	}
	for _, rg := range unicode.Nd.R32 {
		if r >= rune(rg.Lo) && r <= rune(rg.Hi) {
			return (r - rune(rg.Lo)) % 10
		}
	}
	return 0
}
