package channels

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestRedact(t *testing.T) {
	cases := map[string]string{
		"https://api.telegram.org/bot110201543:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/sendMessage": "https://api.telegram.org/bot" + Redacted + "/sendMessage",
		"https://graph.facebook.com/v25.0/me/messages?access_token=EAAB123&x=1":                "https://graph.facebook.com/v25.0/me/messages?access_token=" + Redacted + "&x=1",
		"callback?hub.verify_token=abcd&hub.challenge=1":                                       "callback?hub.verify_token=" + Redacted + "&hub.challenge=1",
		"monkey=banana&mykey=still-visible":                                                    "monkey=banana&mykey=still-visible",
		"the secret is sup3rs3cret!":                                                           "the secret is " + Redacted + "!",
	}
	for in, want := range cases {
		if got := Redact(in, "sup3rs3cret"); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
	if got := Redact("a b c", "a"); got != "a b c" {
		t.Errorf("a 1-byte secret shredded the text: %q", got)
	}
}

func TestRedactURLUserinfo(t *testing.T) {
	u, _ := url.Parse("https://AC123:authtok@api.twilio.com/2010-04-01/Accounts/AC123.json")
	if got := RedactURL(u); strings.Contains(got, "authtok") || !strings.Contains(got, "AC123@api.twilio.com") {
		t.Fatalf("RedactURL = %q", got)
	}
}

// A real *url.Error from http.Client quotes the URL, token and all.
func TestRedactErrorFromTransport(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	const token = "110201543:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
	req, _ := http.NewRequest("POST", "http://"+addr+"/bot"+token+"/getMe?access_token=zzz9", nil)
	_, err = http.DefaultClient.Do(req)
	if err == nil {
		t.Fatal("want a connection error")
	}
	if !strings.Contains(err.Error(), token) {
		t.Fatalf("premise: Go's error quotes the URL: %v", err)
	}
	got := RedactError(err)
	if strings.Contains(got, token) || strings.Contains(got, "zzz9") || !strings.Contains(got, "/bot"+Redacted+"/getMe") {
		t.Fatalf("RedactError = %q", got)
	}
	e := NetworkError(err, token)
	if e.Class != ClassRetry || strings.Contains(e.Error(), token) {
		t.Fatalf("NetworkError = %+v", e)
	}
}

func TestExchangeTimeoutIsRetry(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close() // accepts, never answers
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+ln.Addr().String()+"/x", nil)
	_, err = Exchange(http.DefaultClient, req)
	var e *Error
	if !errors.As(err, &e) || e.Class != ClassRetry || !strings.HasPrefix(e.Detail, "timed out") {
		t.Fatalf("got %v", err)
	}
}

func TestClassifyUnwraps(t *testing.T) {
	inner := &Error{Class: ClassConfig, Code: "190"}
	if got := Classify(errors.Join(errors.New("context"), inner)); got != inner {
		t.Fatalf("Classify lost the wrapped class: %+v", got)
	}
	if got := Classify(errors.New("dial tcp: refused")); got.Class != ClassRetry {
		t.Fatalf("an unclassified error must be a retry: %+v", got)
	}
}

func TestConfigHelpers(t *testing.T) {
	c := Config{"base_url": "http://127.0.0.1:9/", RateKey: "2.5"}
	if b, err := c.BaseURL("base_url", "https://x"); err != nil || b != "http://127.0.0.1:9" {
		t.Fatalf("BaseURL = %q, %v", b, err)
	}
	if _, err := (Config{"base_url": "127.0.0.1"}).BaseURL("base_url", "https://x"); err == nil {
		t.Fatal("a base URL without scheme was accepted")
	}
	if r, err := c.Rate(80); err != nil || r != 2.5 {
		t.Fatalf("Rate = %v, %v", r, err)
	}
	for _, bad := range []string{"0", "-1", "fast"} {
		if _, err := (Config{RateKey: bad}).Rate(80); err == nil {
			t.Errorf("rate %q accepted", bad)
		}
	}
	if w := c.With(Config{RateKey: "9"}); w[RateKey] != "9" || c[RateKey] != "2.5" || w["base_url"] == "" {
		t.Fatalf("With: %v (original %v)", w, c)
	}
}

func TestSecretEqual(t *testing.T) {
	if !SecretEqual("abc", "abc") || SecretEqual("abc", "abd") || SecretEqual("", "abc") || SecretEqual("abc", "abcd") {
		t.Fatal("SecretEqual is wrong")
	}
}
