package whatsapp

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"pregon/channels"
)

var (
	permanent = channels.PermanentRule
	config    = channels.ConfigRule
	retry     = channels.RetryRule
)

// codes maps Meta's error codes to classes (channel-contracts.md §1.4).
// Meta reuses HTTP statuses across classes (131056 has come as 400, 403
// and 429), so the code decides.
var codes = channels.CodeTable{
	0: config, 190: config, 3: config, 10: config, 368: config,
	131031: config, 131042: config, 133010: config,

	100: permanent, 131008: permanent, 131009: permanent, 131021: permanent, 131051: permanent,
	131047: permanent, 131026: permanent, 131049: permanent, 130472: permanent, 130497: permanent,
	132000: permanent, 132001: permanent, 132005: permanent, 132007: permanent, 132012: permanent,
	132015: permanent, 132016: permanent,
	131050: {Class: channels.ClassPermanent, OptOut: true},

	1: retry, 2: retry, 131000: retry, 131016: retry, 131053: retry,

	4:      channels.ThrottleRule(channels.ScopeAccount, 0),
	80007:  channels.ThrottleRule(channels.ScopeAccount, 0),
	133016: channels.ThrottleRule(channels.ScopeAccount, 0),
	130429: channels.ThrottleRule(channels.ScopeChannel, 0),
	// Pair rate: Meta asks for about one message per 6 s to one user.
	131056: channels.ThrottleRule(channels.ScopeRecipient, PairSpacing),
	// Spam rate limit: the number is restricted for hours; waiting an hour
	// before the next probe stops a campaign from digging the hole deeper.
	131048: channels.ThrottleRule(channels.ScopeChannel, time.Hour),
}

// Classify maps a Graph error code (with Meta's detail text) to a class.
// httpStatus is the answer's status, or 0 for errors reported in webhooks.
func Classify(code int, detail string, httpStatus int) *channels.Error {
	if _, known := codes[code]; !known && code >= 200 && code <= 299 {
		// 200–299: a permission the token lacks.
		return channels.CodeTable{code: config}.Classify(code, detail, httpStatus)
	}
	return codes.Classify(code, detail, httpStatus)
}

// graphError is the Graph API error envelope.
type graphError struct {
	Error *struct {
		Message   string `json:"message"`
		Code      int    `json:"code"`
		ErrorData struct {
			Details string `json:"details"`
		} `json:"error_data"`
	} `json:"error"`
}

// classifyResponse classifies a non-2xx Graph answer. A body that is not
// Graph JSON (a proxy's 502 page) falls back to the HTTP status.
func classifyResponse(status int, body []byte, secrets []string) *channels.Error {
	var ge graphError
	if err := json.Unmarshal(body, &ge); err != nil || ge.Error == nil {
		return channels.ClassifyHTTP(status, strconv.Itoa(status),
			fmt.Sprintf("WhatsApp answered HTTP %d (%s) without a Graph error", status, http.StatusText(status)))
	}
	detail := ge.Error.Message
	// Meta often repeats the message in error_data.details ("(#190) X" and
	// "X"): add the details only when they say something more.
	if d := ge.Error.ErrorData.Details; d != "" && !strings.Contains(detail, d) {
		detail += ": " + d
	}
	return Classify(ge.Error.Code, channels.Redact(detail, secrets...), status)
}
