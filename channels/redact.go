package channels

import (
	"errors"
	"net/url"
	"regexp"
	"strings"
)

// Redacted replaces a secret in any text that leaves an adapter.
const Redacted = "[REDACTED]"

// telegramToken matches a bot token ("123456:AA...") wherever it appears,
// because Telegram puts it in every request path and Go's *url.Error quotes
// that path in its message.
var telegramToken = regexp.MustCompile(`[0-9]{3,}:[A-Za-z0-9_-]{20,}`)

// secretParams are query parameters that carry credentials (Messenger's
// page token, signed links); their values are hidden in URLs.
var secretParams = []string{"access_token", "token", "key", "secret", "signature", "sig", "password", "hub.verify_token"}

// Redact returns s with every given secret, every Telegram bot token and
// every credential query parameter replaced by Redacted. Secrets shorter
// than 4 bytes are not replaced on their own: hiding "a" would shred the
// text without protecting anything.
func Redact(s string, secrets ...string) string {
	for _, sec := range secrets {
		if len(sec) >= 4 {
			s = strings.ReplaceAll(s, sec, Redacted)
		}
	}
	s = telegramToken.ReplaceAllString(s, Redacted)
	for _, p := range secretParams {
		s = redactParam(s, p)
	}
	return s
}

// redactParam hides the value of name=value pairs in s, whether s is a
// whole URL or an error message quoting one.
func redactParam(s, name string) string {
	var b strings.Builder
	rest := s
	for {
		i := indexParam(rest, name)
		if i < 0 {
			b.WriteString(rest)
			return b.String()
		}
		start := i + len(name) + 1
		b.WriteString(rest[:start])
		end := start
		for end < len(rest) && !strings.ContainsRune("&# \"'\n", rune(rest[end])) {
			end++
		}
		if end > start {
			b.WriteString(Redacted)
		}
		rest = rest[end:]
	}
}

// indexParam finds "name=" preceded by '?', '&' or ';' (so "mykey=" is not "key=").
func indexParam(s, name string) int {
	off := 0
	for {
		i := strings.Index(s[off:], name+"=")
		if i < 0 {
			return -1
		}
		i += off
		if i > 0 && strings.ContainsRune("?&;", rune(s[i-1])) {
			return i
		}
		off = i + 1
	}
}

// RedactURL renders u without its credentials: the userinfo password, a
// Telegram bot token in the path, credential query parameters and any of
// secrets.
func RedactURL(u *url.URL, secrets ...string) string {
	if u == nil {
		return ""
	}
	c := *u
	if c.User != nil {
		c.User = url.User(c.User.Username())
	}
	return Redact(c.String(), secrets...)
}

// RedactError renders err's message with every secret hidden. A *url.Error
// (what http.Client returns for network failures) quotes the request URL,
// so its URL is rebuilt through RedactURL first.
func RedactError(err error, secrets ...string) string {
	if err == nil {
		return ""
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		msg := ue.Op + " " + redactRawURL(ue.URL, secrets) + ": " + ue.Err.Error()
		return Redact(msg, secrets...)
	}
	return Redact(err.Error(), secrets...)
}

func redactRawURL(raw string, secrets []string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return Redact(raw, secrets...)
	}
	return RedactURL(u, secrets...)
}
