package channels

import (
	"strconv"
	"time"
)

// Rule is how one provider error code is handled.
type Rule struct {
	Class  Class
	Scope  Scope
	Wait   time.Duration
	OptOut bool
}

// Common rules for code tables.
var (
	RetryRule     = Rule{Class: ClassRetry}
	PermanentRule = Rule{Class: ClassPermanent}
	ConfigRule    = Rule{Class: ClassConfig}
)

// ThrottleRule slows scope down, for wait when the provider implies one.
func ThrottleRule(scope Scope, wait time.Duration) Rule {
	return Rule{Class: ClassThrottle, Scope: scope, Wait: wait}
}

// CodeTable maps a provider's numeric error codes to rules. Providers reuse
// HTTP statuses across classes, so the code decides whenever it is known.
type CodeTable map[int]Rule

// Classify turns code into an *Error. Unknown codes fall back to the HTTP
// status; with httpStatus 0 (a failure reported in a status webhook) an
// unknown code is permanent: the message did not go.
func (t CodeTable) Classify(code int, detail string, httpStatus int) *Error {
	c := strconv.Itoa(code)
	r, ok := t[code]
	if !ok {
		if httpStatus == 0 {
			return &Error{Class: ClassPermanent, Code: c, Detail: detail}
		}
		return ClassifyHTTP(httpStatus, c, detail)
	}
	return &Error{Class: r.Class, Scope: r.Scope, Wait: r.Wait, Code: c, Detail: detail, OptOut: r.OptOut, HTTPStatus: httpStatus}
}
