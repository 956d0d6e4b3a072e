package whatsapp

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"

	"pregon/channels"
)

// SignatureHeader carries Meta's webhook signature.
const SignatureHeader = "X-Hub-Signature-256"

// Sign returns the X-Hub-Signature-256 value for body: "sha256=" and the
// lowercase hex HMAC-SHA256 of the raw bytes keyed with the app secret.
func Sign(appSecret, body []byte) string {
	m := hmac.New(sha256.New, appSecret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks X-Hub-Signature-256 over the raw body as received: Meta
// signs its own \u-escaped serialisation, so the body is never re-encoded.
func (a *Adapter) Verify(r *channels.WebhookRequest) error {
	return verifySignature(a.appSecret, r.Header, r.Body)
}

func verifySignature(secret []byte, h http.Header, body []byte) error {
	got := h.Get(SignatureHeader)
	if got == "" {
		return channels.MissingCredential("the webhook has no " + SignatureHeader + " header")
	}
	hexSig, ok := strings.CutPrefix(got, "sha256=")
	if !ok {
		return channels.BadCredential(SignatureHeader + ` must start with "sha256="`)
	}
	sig, err := hex.DecodeString(hexSig)
	if err != nil {
		return channels.BadCredential(SignatureHeader + " is not hex")
	}
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	if !hmac.Equal(sig, m.Sum(nil)) {
		return channels.BadCredential(SignatureHeader + " does not match the body: check the channel's app secret")
	}
	return nil
}

// Handshake answers Meta's subscription check: GET with hub.mode=subscribe,
// hub.verify_token and hub.challenge; the challenge is echoed only when the
// token matches.
func (a *Adapter) Handshake(r *channels.WebhookRequest) (int, []byte, bool) {
	if r.Method != http.MethodGet || r.PublicURL == nil {
		return 0, nil, false
	}
	q := r.PublicURL.Query()
	if !q.Has("hub.mode") && !q.Has("hub.challenge") && !q.Has("hub.verify_token") {
		return 0, nil, false
	}
	if q.Get("hub.mode") != "subscribe" || !channels.SecretEqual(q.Get("hub.verify_token"), a.verifyToken) {
		return http.StatusForbidden, []byte("verify token mismatch"), true
	}
	return http.StatusOK, []byte(q.Get("hub.challenge")), true
}
