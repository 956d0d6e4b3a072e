package whatsapp

import (
	"testing"
	"time"

	"pregon/channels"
)

func TestClassifyTable(t *testing.T) {
	cases := []struct {
		code   int
		status int
		class  channels.Class
		scope  channels.Scope
		optOut bool
	}{
		{190, 401, channels.ClassConfig, "", false},
		{0, 401, channels.ClassConfig, "", false},
		{200, 403, channels.ClassConfig, "", false},
		{299, 403, channels.ClassConfig, "", false},
		{368, 403, channels.ClassConfig, "", false},
		{133010, 400, channels.ClassConfig, "", false},
		{100, 400, channels.ClassPermanent, "", false},
		{131047, 400, channels.ClassPermanent, "", false},
		{131026, 400, channels.ClassPermanent, "", false},
		{132001, 404, channels.ClassPermanent, "", false},
		{131050, 400, channels.ClassPermanent, "", true},
		{131000, 500, channels.ClassRetry, "", false},
		{131053, 400, channels.ClassRetry, "", false},
		{130429, 429, channels.ClassThrottle, channels.ScopeChannel, false},
		// Same code, different statuses: the code decides.
		{131056, 400, channels.ClassThrottle, channels.ScopeRecipient, false},
		{131056, 403, channels.ClassThrottle, channels.ScopeRecipient, false},
		{131056, 429, channels.ClassThrottle, channels.ScopeRecipient, false},
		{80007, 400, channels.ClassThrottle, channels.ScopeAccount, false},
		{4, 400, channels.ClassThrottle, channels.ScopeAccount, false},
		{131048, 400, channels.ClassThrottle, channels.ScopeChannel, false},
		// Unknown codes fall back to the HTTP status.
		{999999, 503, channels.ClassRetry, "", false},
		{999999, 400, channels.ClassPermanent, "", false},
	}
	for _, c := range cases {
		e := Classify(c.code, "d", c.status)
		if e.Class != c.class || e.Scope != c.scope || e.OptOut != c.optOut {
			t.Errorf("code %d (HTTP %d): got %s/%s optout=%v, want %s/%s optout=%v",
				c.code, c.status, e.Class, e.Scope, e.OptOut, c.class, c.scope, c.optOut)
		}
	}
	if w := Classify(131056, "", 400).Wait; w != 6*time.Second {
		t.Errorf("pair rate wait = %v, want 6s", w)
	}
}

func TestClassifyResponseNonJSON(t *testing.T) {
	e := classifyResponse(502, []byte("<html>bad gateway</html>"), nil)
	if e.Class != channels.ClassRetry {
		t.Fatalf("a proxy's 502 page: got %s, want retry", e.Class)
	}
	e = classifyResponse(400, []byte(`{"error":{"message":"(#100) token tok-abcdef is odd","code":100}}`), []string{"tok-abcdef"})
	if e.Class != channels.ClassPermanent || e.Code != "100" || e.Detail != "(#100) token [REDACTED] is odd" {
		t.Fatalf("got %+v", e)
	}
}

// A channel test against a revoked token showed "(#190) Error validating
// access token: …: Error validating access token: …": Meta repeats the
// message in error_data.details, and the details are added only when they
// say more.
func TestClassifyResponseDetailsAddedOnlyWhenNew(t *testing.T) {
	same := `{"error":{"message":"(#190) Error validating access token","code":190,"error_data":{"details":"Error validating access token"}}}`
	if e := classifyResponse(401, []byte(same), nil); e.Detail != "(#190) Error validating access token" {
		t.Fatalf("repeated details: %q", e.Detail)
	}
	more := `{"error":{"message":"(#131026) Message undeliverable","code":131026,"error_data":{"details":"Recipient is not on WhatsApp"}}}`
	if e := classifyResponse(400, []byte(more), nil); e.Detail != "(#131026) Message undeliverable: Recipient is not on WhatsApp" {
		t.Fatalf("new details: %q", e.Detail)
	}
}
