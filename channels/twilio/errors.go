package twilio

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"pregon/channels"
)

var (
	permanent = channels.PermanentRule
	config    = channels.ConfigRule
)

// codes maps Twilio error codes, from the API or from status callbacks,
// to classes (channel-contracts.md §3.2).
var codes = channels.CodeTable{
	20003: config, // authentication failed
	20404: config, // account (or resource) not found: wrong SID
	21606: config, // From is not a valid, message-capable number of this account
	21212: config, // invalid From
	21659: config, // From is not a Twilio number
	30034: config, // US A2P 10DLC: sender not registered

	20429: channels.ThrottleRule(channels.ScopeAccount, 0), // concurrency cap
	21611: channels.ThrottleRule(channels.ScopeChannel, 0), // sender queue full
	30001: channels.ThrottleRule(channels.ScopeChannel, 0), // queue overflow
	63018: channels.ThrottleRule(channels.ScopeChannel, 0), // WhatsApp rate
	63017: channels.ThrottleRule(channels.ScopeAccount, 0),

	21211: permanent, 21614: permanent, 21617: permanent, 21602: permanent,
	// Geo permissions: a config matter for the admin, but pausing the whole
	// channel would stop every other country too; fail only this contact.
	21408: permanent,
	21610: {Class: channels.ClassPermanent, OptOut: true}, // replied STOP
	30004: permanent, 30005: permanent, 30006: permanent, 30007: permanent, 30036: permanent,
	63016: permanent, 63024: permanent, 63032: permanent,

	// The handset is off or out of coverage: worth another try hours later.
	30003: {Class: channels.ClassRetry, Wait: time.Hour},
	30008: channels.RetryRule,
}

// Classify maps a Twilio error code to a class. httpStatus is 0 for codes
// from status callbacks.
func Classify(code int, detail string, httpStatus int) *channels.Error {
	return codes.Classify(code, detail, httpStatus)
}

func classifyResponse(status int, body []byte, secrets []string) *channels.Error {
	var e struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(body, &e); err != nil || e.Code == 0 {
		return channels.ClassifyHTTP(status, strconv.Itoa(status),
			fmt.Sprintf("Twilio answered HTTP %d (%s) without an error code", status, http.StatusText(status)))
	}
	return Classify(e.Code, channels.Redact(e.Message, secrets...), status)
}
