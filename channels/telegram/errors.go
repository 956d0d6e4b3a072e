package telegram

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"pregon/channels"
)

// classify maps a Bot API error (channel-contracts.md §2.2). Telegram's
// descriptions are not a stable API, so the code decides first and a
// lowercase substring refines it.
func classify(status int, r apiResponse, secrets []string) *channels.Error {
	code := r.ErrorCode
	if code == 0 {
		code = status
	}
	desc := channels.Redact(r.Description, secrets...)
	e := &channels.Error{Code: strconv.Itoa(code), Detail: desc, HTTPStatus: status}
	d := strings.ToLower(r.Description)
	switch {
	case r.Parameters != nil && r.Parameters.MigrateToChatID != 0:
		// The group became a supergroup: the same message goes to the new
		// id once the outbox swaps To for MigrateTo.
		e.Class, e.MigrateTo = channels.ClassRetry, strconv.FormatInt(r.Parameters.MigrateToChatID, 10)
	case code == http.StatusTooManyRequests:
		// retry_after does not say whether one chat or the whole bot hit
		// the limit; pausing the bot for that long is the safe reading.
		e.Class, e.Scope = channels.ClassThrottle, channels.ScopeChannel
		if r.Parameters != nil && r.Parameters.RetryAfter > 0 {
			e.Wait = time.Duration(r.Parameters.RetryAfter) * time.Second
		}
	case code == http.StatusUnauthorized || code == http.StatusNotFound && d == "not found":
		// 401 Unauthorized, or a bare 404 Not Found for a malformed token.
		e.Class = channels.ClassConfig
	case code == http.StatusForbidden:
		e.Class = channels.ClassPermanent
		e.OptOut = strings.Contains(d, "bot was blocked by the user")
	case code >= 500:
		e.Class = channels.ClassRetry
	default:
		e.Class = channels.ClassPermanent
	}
	return e
}
