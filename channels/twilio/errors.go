package twilio

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"pregon/channels"
)

type rule struct {
	class  channels.Class
	scope  channels.Scope
	wait   time.Duration
	optOut bool
}

var (
	retry     = rule{class: channels.ClassRetry}
	permanent = rule{class: channels.ClassPermanent}
	config    = rule{class: channels.ClassConfig}
)

// codes maps Twilio error codes, from the API or from status callbacks,
// to classes (channel-contracts.md §3.2).
var codes = map[int]rule{
	20003: config, // authentication failed
	20404: config, // account (or resource) not found: wrong SID
	21606: config, // From is not a valid, message-capable number of this account
	21212: config, // invalid From
	21659: config, // From is not a Twilio number
	30034: config, // US A2P 10DLC: sender not registered

	20429: {class: channels.ClassThrottle, scope: channels.ScopeAccount}, // concurrency cap
	21611: {class: channels.ClassThrottle, scope: channels.ScopeChannel}, // sender queue full
	30001: {class: channels.ClassThrottle, scope: channels.ScopeChannel}, // queue overflow
	63018: {class: channels.ClassThrottle, scope: channels.ScopeChannel}, // WhatsApp rate
	63017: {class: channels.ClassThrottle, scope: channels.ScopeAccount},

	21211: permanent, 21614: permanent, 21617: permanent, 21602: permanent,
	// Geo permissions: a config matter for the admin, but pausing the whole
	// channel would stop every other country too; fail only this contact.
	21408: permanent,
	21610: {class: channels.ClassPermanent, optOut: true}, // replied STOP
	30004: permanent, 30005: permanent, 30006: permanent, 30007: permanent, 30036: permanent,
	63016: permanent, 63024: permanent, 63032: permanent,

	// The handset is off or out of coverage: worth another try hours later.
	30003: {class: channels.ClassRetry, wait: time.Hour},
	30008: retry,
}

// Classify maps a Twilio error code to a class. httpStatus is 0 for codes
// from status callbacks.
func Classify(code int, detail string, httpStatus int) *channels.Error {
	c := strconv.Itoa(code)
	r, ok := codes[code]
	if !ok {
		if httpStatus == 0 {
			return &channels.Error{Class: channels.ClassPermanent, Code: c, Detail: detail}
		}
		return channels.ClassifyHTTP(httpStatus, c, detail)
	}
	return &channels.Error{Class: r.class, Scope: r.scope, Wait: r.wait, Code: c, Detail: detail,
		OptOut: r.optOut, HTTPStatus: httpStatus}
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
