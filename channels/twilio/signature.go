package twilio

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"net"
	"net/url"
	"sort"
	"strings"
)

// SignatureHeader carries Twilio's webhook signature.
const SignatureHeader = "X-Twilio-Signature"

// Sign computes X-Twilio-Signature (channel-contracts.md §3.4): the full
// URL as Twilio requested it (query included), then each POST parameter's
// name and value appended in name order (repeated names once per value,
// values sorted, as the official SDKs do), HMAC-SHA1 keyed with the auth
// token, standard Base64.
func Sign(authToken, fullURL string, params url.Values) string {
	m := hmac.New(sha1.New, []byte(authToken))
	m.Write([]byte(fullURL))
	names := make([]string, 0, len(params))
	for k := range params {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		vs := append([]string(nil), params[k]...)
		sort.Strings(vs)
		for _, v := range vs {
			m.Write([]byte(k))
			m.Write([]byte(v))
		}
	}
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// urlVariants are the spellings of u a signature may have been computed
// over: as received, and with the scheme's default port added or removed,
// because proxies and Twilio's console disagree about ":443".
func urlVariants(u *url.URL) []string {
	out := []string{u.String()}
	def := map[string]string{"https": "443", "http": "80"}[u.Scheme]
	if def == "" {
		return out
	}
	c := *u
	_, port, err := net.SplitHostPort(u.Host)
	switch {
	case err == nil && port == def:
		c.Host = strings.TrimSuffix(u.Host, ":"+def)
	case err != nil:
		c.Host = net.JoinHostPort(u.Hostname(), def)
	default:
		return out
	}
	return append(out, c.String())
}

// ValidSignature reports whether sig matches u and params under any of
// tokens (primary and secondary during rotation), in constant time.
func ValidSignature(tokens []string, sig string, u *url.URL, params url.Values) bool {
	got, err := base64.StdEncoding.Strict().DecodeString(sig)
	if err != nil {
		return false
	}
	ok := false
	for _, t := range tokens {
		for _, v := range urlVariants(u) {
			want, _ := base64.StdEncoding.DecodeString(Sign(t, v, params))
			if hmac.Equal(got, want) {
				ok = true
			}
		}
	}
	return ok
}
