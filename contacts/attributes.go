package contacts

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"
)

// NormalizeCountry returns an upper-case ISO 3166-1 alpha-2 code that
// phonenumbers knows ("mx" → "MX").
func NormalizeCountry(s string) (string, error) {
	c := strings.ToUpper(strings.TrimSpace(s))
	if len(c) != 2 || phonenumbers.GetCountryCodeForRegion(c) == 0 {
		return "", fmt.Errorf("country %q is not a two-letter country code (e.g. MX, PE, IN)", s)
	}
	return c, nil
}

var languageTag = regexp.MustCompile(`^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$`)

// NormalizeLanguage returns a BCP 47-style tag: "ES" → "es", "es_mx" → "es-MX".
func NormalizeLanguage(s string) (string, error) {
	t := strings.ReplaceAll(strings.TrimSpace(s), "_", "-")
	parts := strings.Split(t, "-")
	parts[0] = strings.ToLower(parts[0])
	for i := 1; i < len(parts); i++ {
		if len(parts[i]) == 2 {
			parts[i] = strings.ToUpper(parts[i])
		}
	}
	t = strings.Join(parts, "-")
	if !languageTag.MatchString(t) {
		return "", fmt.Errorf("language %q is not a language code (e.g. es, en, pt-BR, hi)", s)
	}
	return t, nil
}

// NormalizeTimezone checks an IANA zone name ("America/Lima").
func NormalizeTimezone(s string) (string, error) {
	z := strings.TrimSpace(s)
	if z == "" || strings.EqualFold(z, "local") {
		return "", fmt.Errorf("timezone %q is not an IANA time zone (e.g. America/Lima)", s)
	}
	if _, err := time.LoadLocation(z); err != nil {
		return "", fmt.Errorf("timezone %q is not an IANA time zone (e.g. America/Lima)", s)
	}
	return z, nil
}
