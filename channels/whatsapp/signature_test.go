package whatsapp

import (
	"net/http"
	"net/url"
	"testing"

	"pregon/channels"
)

func TestSignSanityVector(t *testing.T) {
	// channel-contracts.md §1.6: HMAC-SHA256(key "secret", message "test").
	want := "sha256=0329a06b62cd16b33eb6792be8c60b158d89a2ee3a876fce9a881ebb488c0914"
	if got := Sign([]byte("secret"), []byte("test")); got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
}

func testAdapter(t *testing.T) *Adapter {
	t.Helper()
	a, err := New(channels.Config{
		KeyPhoneNumberID: "123", KeyAccessToken: "tok-abcdef", KeyAppSecret: "app-secret", KeyVerifyToken: "verify-me",
	}, channels.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestVerifyEscapedNonASCII(t *testing.T) {
	a := testAdapter(t)
	// Meta signs its \u-escaped serialisation; the escaped bytes must verify
	// as they are, and the unescaped equivalent must not.
	escaped := []byte(`{"text":{"body":"\u00e4\u00f6\u00e5 \ud83c\udf89"}}`)
	plain := []byte(`{"text":{"body":"äöå 🎉"}}`)
	h := http.Header{}
	h.Set(SignatureHeader, Sign([]byte("app-secret"), escaped))
	if err := a.Verify(&channels.WebhookRequest{Method: "POST", Header: h, Body: escaped}); err != nil {
		t.Fatalf("escaped body: %v", err)
	}
	err := a.Verify(&channels.WebhookRequest{Method: "POST", Header: h, Body: plain})
	if e := channels.Classify(err); e == nil || e.HTTPStatus != http.StatusForbidden {
		t.Fatalf("re-encoded body: got %v, want a 403", err)
	}
}

func TestVerifyRejects(t *testing.T) {
	a := testAdapter(t)
	body := []byte(`{"object":"whatsapp_business_account"}`)
	cases := map[string]struct {
		header string
		status int
	}{
		"missing":     {"", http.StatusUnauthorized},
		"no prefix":   {Sign([]byte("app-secret"), body)[len("sha256="):], http.StatusForbidden},
		"not hex":     {"sha256=zz", http.StatusForbidden},
		"wrong key":   {Sign([]byte("other"), body), http.StatusForbidden},
		"sha1 legacy": {"sha1=abc", http.StatusForbidden},
	}
	for name, c := range cases {
		h := http.Header{}
		if c.header != "" {
			h.Set(SignatureHeader, c.header)
		}
		err := a.Verify(&channels.WebhookRequest{Method: "POST", Header: h, Body: body})
		if e := channels.Classify(err); e == nil || e.HTTPStatus != c.status {
			t.Errorf("%s: got %v, want HTTP %d", name, err, c.status)
		}
	}
}

func TestHandshake(t *testing.T) {
	a := testAdapter(t)
	req := func(q string) *channels.WebhookRequest {
		u, _ := url.Parse("https://pregon.example/api/pregon/webhooks/ch1?" + q)
		return &channels.WebhookRequest{Method: "GET", PublicURL: u}
	}
	st, body, ok := a.Handshake(req("hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=42"))
	if !ok || st != 200 || string(body) != "42" {
		t.Fatalf("good token: %v %d %q", ok, st, body)
	}
	for _, q := range []string{
		"hub.mode=subscribe&hub.verify_token=verify-m&hub.challenge=42",
		"hub.mode=unsubscribe&hub.verify_token=verify-me&hub.challenge=42",
		"hub.mode=subscribe&hub.challenge=42",
	} {
		if st, _, ok := a.Handshake(req(q)); !ok || st != http.StatusForbidden {
			t.Errorf("%s: got %v %d, want a 403", q, ok, st)
		}
	}
	if _, _, ok := a.Handshake(req("")); ok {
		t.Error("a GET without hub.* parameters is not a handshake")
	}
}
