package twilio

import (
	"net/url"
	"strings"
	"testing"
)

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// The documented vector (channel-contracts.md §3.4).
func TestSignDocumentedVector(t *testing.T) {
	params := url.Values{
		"CallSid": {"CA1234567890ABCDE"}, "Caller": {"+12349013030"}, "Digits": {"1234"},
		"From": {"+12349013030"}, "To": {"+18005551212"},
	}
	const u = "https://mycompany.com/myapp.php?foo=1&bar=2"
	const want = "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
	if got := Sign("12345", u, params); got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
	if !ValidSignature([]string{"12345"}, want, mustURL(t, u), params) {
		t.Fatal("the documented signature does not validate")
	}
	// Twilio's SDKs accept the same URL with the default port spelled out.
	if !ValidSignature([]string{"12345"}, want, mustURL(t, "https://mycompany.com:443/myapp.php?foo=1&bar=2"), params) {
		t.Fatal("the signature over the URL without :443 must validate a request seen with :443")
	}
	if ValidSignature([]string{"12345"}, want, mustURL(t, "https://mycompany.com/myapp.php?foo=1&bar=3"), params) {
		t.Fatal("a changed query validated")
	}
	if ValidSignature([]string{"54321"}, want, mustURL(t, u), params) {
		t.Fatal("a wrong token validated")
	}
}

func TestSignPortAndRepeatedParams(t *testing.T) {
	// An explicit non-default port is part of the URL and never dropped;
	// repeated names contribute every value, values sorted.
	u := "http://127.0.0.1:8080/hooks/tw?message_id=abc"
	p := url.Values{"MediaUrl": {"https://b.example/2.jpg", "https://a.example/1.jpg"}, "Body": {"hi"}}
	sig := Sign("tok", u, p)
	const manual = "http://127.0.0.1:8080/hooks/tw?message_id=abc" + "Bodyhi" +
		"MediaUrlhttps://a.example/1.jpg" + "MediaUrlhttps://b.example/2.jpg"
	if sig != signString("tok", manual) {
		t.Fatal("repeated parameters are not appended name+value per value, values sorted")
	}
	if !ValidSignature([]string{"tok"}, sig, mustURL(t, u), p) {
		t.Fatal("valid signature with port rejected")
	}
	if ValidSignature([]string{"tok"}, sig, mustURL(t, "http://127.0.0.1/hooks/tw?message_id=abc"), p) {
		t.Fatal("dropping a non-default port must change the signature")
	}
	// Signed over http://host:80/..., received as http://host/...
	sig80 := Sign("tok", "http://example.com:80/x", nil)
	if !ValidSignature([]string{"tok"}, sig80, mustURL(t, "http://example.com/x"), nil) {
		t.Fatal("a signature over :80 must validate without the port")
	}
	// Secondary token during rotation.
	if !ValidSignature([]string{"old", "tok"}, sig, mustURL(t, u), p) {
		t.Fatal("the secondary token is not tried")
	}
}

func signString(token, s string) string { return Sign(token, s, nil) }

// A signature whose base64 differs only in padding bits decodes to the same
// bytes under a lenient decoder; it must still be refused.
func TestVerifyRefusesNonCanonicalBase64(t *testing.T) {
	params := url.Values{"Body": {"hola"}, "From": {"+5215512345678"}}
	const u = "https://example.com/api/pregon/webhooks/ch1"
	good := Sign("token", u, params)
	b := []byte(good)
	// The last data character of a 20-byte HMAC-SHA1 in base64 carries 4
	// bits and 2 padding bits; flip a padding bit of its value.
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	i := len(b) - 2
	b[i] = alphabet[strings.IndexByte(alphabet, b[i])^1]
	if !ValidSignature([]string{"token"}, good, mustURL(t, u), params) {
		t.Fatal("the canonical signature must verify")
	}
	if ValidSignature([]string{"token"}, string(b), mustURL(t, u), params) {
		t.Fatalf("non-canonical signature %q (canonical %q) was accepted", b, good)
	}
}
