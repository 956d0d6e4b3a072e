package telegram_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"pregon/channels"
	"pregon/channels/fakekit"
	"pregon/channels/telegram"
	"pregon/channels/telegram/fake"
)

func sendTo(t *testing.T, a channels.Adapter, to, text string) error {
	t.Helper()
	_, err := a.Send(context.Background(), channels.OutMessage{ID: "m", To: to, Content: channels.Content{Text: text}})
	return err
}

func classOf(t *testing.T, err error) *channels.Error {
	t.Helper()
	var e *channels.Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v, want a *channels.Error", err)
	}
	if strings.Contains(err.Error(), fake.DefaultToken) {
		t.Fatalf("the bot token leaks: %v", err)
	}
	return e
}

func TestRecipientFailuresClassified(t *testing.T) {
	f, _, build := start(t, fake.Options{ChatRate: fake.Unlimited})
	a, _ := build(nil)
	cases := []struct {
		code      string
		class     channels.Class
		optOut    bool
		migrateTo string
	}{
		{fake.CodeBlocked, channels.ClassPermanent, true, ""},
		{fake.CodeDeactivated, channels.ClassPermanent, false, ""},
		{fake.CodeNotStarted, channels.ClassPermanent, false, ""},
		{fake.CodeKicked, channels.ClassPermanent, false, ""},
		{fake.CodeChatNotFound, channels.ClassPermanent, false, ""},
		{fake.CodeMigratedPrefix + "-1001234567890", channels.ClassRetry, false, "-1001234567890"},
		{fake.Code500, channels.ClassRetry, false, ""},
		{fake.Code401, channels.ClassConfig, false, ""},
	}
	for i, c := range cases {
		to := string(rune('1'+i)) + "00"
		if err := f.Rules.Set(to, fakekit.Rule{Outcome: fakekit.FailSync, Code: c.code}); err != nil {
			t.Fatal(err)
		}
		e := classOf(t, sendTo(t, a, to, "hi"))
		if e.Class != c.class || e.OptOut != c.optOut || e.MigrateTo != c.migrateTo {
			t.Errorf("%s: got %s optout=%v migrate=%q, want %s %v %q", c.code, e.Class, e.OptOut, e.MigrateTo, c.class, c.optOut, c.migrateTo)
		}
	}
	if e := classOf(t, sendTo(t, a, "1", strings.Repeat("é", 4097))); e.Class != channels.ClassPermanent {
		t.Errorf("too long: %+v", e)
	}
}

func TestFloodControlRetryAfter(t *testing.T) {
	f, _, build := start(t, fake.Options{RetryAfter: 3})
	a, _ := build(nil)
	// Burst 3 per chat, then 429 with retry_after until it elapses.
	for i := 0; i < 3; i++ {
		if err := sendTo(t, a, "42", "hi"); err != nil {
			t.Fatalf("send %d inside the burst: %v", i, err)
		}
	}
	e := classOf(t, sendTo(t, a, "42", "hi"))
	if e.Class != channels.ClassThrottle || e.Wait != 3*time.Second || e.Code != "429" {
		t.Fatalf("got %+v, want throttle with Wait 3s", e)
	}
	// The fake keeps refusing the chat inside retry_after, and the log
	// tells a sender that ignored the wait.
	if e := classOf(t, sendTo(t, a, "42", "again")); e.Class != channels.ClassThrottle {
		t.Fatalf("inside retry_after: %+v", e)
	}
	if n := f.Log.IgnoredWaits(func(e fakekit.Entry) string { return e.Recipient }); n != 1 {
		t.Fatalf("IgnoredWaits = %d, want 1", n)
	}
	// Other chats are unaffected by one chat's limit.
	if err := sendTo(t, a, "43", "hi"); err != nil {
		t.Fatalf("another chat: %v", err)
	}
}

func TestGlobalLimit(t *testing.T) {
	f, _, build := start(t, fake.Options{GlobalRate: 5})
	a, _ := build(nil)
	var throttled int
	for i := 0; i < 8; i++ {
		if err := sendTo(t, a, strings.Repeat("7", i+1), "hi"); err != nil {
			if classOf(t, err).Class != channels.ClassThrottle {
				t.Fatalf("send %d: %v", i, err)
			}
			throttled++
		}
	}
	if throttled == 0 || f.Log.Count(fakekit.OnlyOK) > 6 {
		t.Fatalf("global limit 5/s let %d of 8 through (%d throttled)", f.Log.Count(fakekit.OnlyOK), throttled)
	}
}

func TestNetworkErrorRedactsToken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now: connection refused
	a, err := telegram.New(channels.Config{telegram.KeyBaseURL: "http://" + addr, telegram.KeyBotToken: fake.DefaultToken,
		telegram.KeySecretToken: "abc"}, channels.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	err = sendTo(t, a, "1", "hi")
	e := classOf(t, err)
	if e.Class != channels.ClassRetry || !strings.Contains(e.Detail, "/bot"+channels.Redacted+"/sendMessage") {
		t.Fatalf("got %+v, want a retry naming the redacted URL", e)
	}
	if err := a.Test(context.Background()); err == nil || strings.Contains(err.Error(), fake.DefaultToken) {
		t.Fatalf("Test: %v", err)
	}
}

func TestConfigValidation(t *testing.T) {
	for name, cfg := range map[string]channels.Config{
		"no token":   {telegram.KeySecretToken: "abc"},
		"bad secret": {telegram.KeyBotToken: "1:x", telegram.KeySecretToken: "has space"},
		"no secret":  {telegram.KeyBotToken: "1:x"},
		"bad base":   {telegram.KeyBotToken: "1:x", telegram.KeySecretToken: "abc", telegram.KeyBaseURL: "ftp://x"},
		"bad rate":   {telegram.KeyBotToken: "1:x", telegram.KeySecretToken: "abc", channels.RateKey: "-3"},
	} {
		if _, err := telegram.New(cfg, channels.Deps{}); err == nil {
			t.Errorf("%s: accepted", name)
		} else if strings.Contains(err.Error(), "1:x") {
			t.Errorf("%s: error quotes the token: %v", name, err)
		}
	}
	a, err := telegram.New(channels.Config{telegram.KeyBotToken: "1:x", telegram.KeySecretToken: "abc", channels.RateKey: "12.5"}, channels.Deps{})
	if err != nil || a.Capabilities().DefaultRate != 12.5 {
		t.Fatalf("rate_per_second: %v %v", err, a)
	}
	if e := classOf(t, sendTo(t, a, "not-a-chat", "hi")); e.Class != channels.ClassPermanent {
		t.Fatalf("bad chat id: %+v", e)
	}
}
