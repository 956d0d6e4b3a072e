// Command pregon-fakes runs the WhatsApp Cloud, Telegram and Twilio fakes
// on loopback ports for manual runs and whole-system benchmarks. It prints
// the channel config to paste into Pregón and serves each fake's /_fake/
// control API. See docs/CHANNELS-FAKES.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"pregon/channels/fakekit"
	telegram "pregon/channels/telegram/fake"
	twilio "pregon/channels/twilio/fake"
	whatsapp "pregon/channels/whatsapp/fake"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "pregon-fakes:", err)
		os.Exit(2)
	}
}

type settings struct {
	waAddr, tgAddr, twAddr string

	waToken, waSecret, waPNID, waCallback, waWindow string
	waRate                                          float64
	waPair                                          time.Duration
	waTier                                          int
	waStatuses                                      bool

	tgToken      string
	tgRetryAfter int

	twSID, twToken, twInbound, twFrom string
	twMaxInFlight                     int
	twSegments                        float64

	record bool
}

func parse(args []string) (settings, error) {
	var s settings
	fs := flag.NewFlagSet("pregon-fakes", flag.ContinueOnError)
	fs.StringVar(&s.waAddr, "whatsapp", "127.0.0.1:9101", `WhatsApp fake address ("off" to skip)`)
	fs.StringVar(&s.tgAddr, "telegram", "127.0.0.1:9102", `Telegram fake address ("off" to skip)`)
	fs.StringVar(&s.twAddr, "twilio", "127.0.0.1:9103", `Twilio fake address ("off" to skip)`)
	fs.StringVar(&s.waToken, "whatsapp-token", "fake-access-token", "WhatsApp access token")
	fs.StringVar(&s.waSecret, "whatsapp-app-secret", "fake-app-secret", "WhatsApp app secret (signs webhooks)")
	fs.StringVar(&s.waPNID, "whatsapp-phone-number-id", "100000000000001", "WhatsApp phone number id")
	fs.StringVar(&s.waCallback, "whatsapp-webhook", "", "where WhatsApp status and inbound webhooks go (the app's webhook URL)")
	fs.StringVar(&s.waWindow, "whatsapp-window", "async", "closed-window enforcement: async, sync or off")
	fs.Float64Var(&s.waRate, "whatsapp-rate", 80, "messages per second per number (-1 = unlimited)")
	fs.DurationVar(&s.waPair, "whatsapp-pair-spacing", 6*time.Second, "pair-rate spacing per recipient (-1ns = off)")
	fs.IntVar(&s.waTier, "whatsapp-tier", 0, "unique business-initiated recipients per 24 h (0 = off, -1 = count only)")
	fs.BoolVar(&s.waStatuses, "whatsapp-statuses", true, "emit status webhooks (needs -whatsapp-webhook)")
	fs.StringVar(&s.tgToken, "telegram-token", telegram.DefaultToken, "Telegram bot token")
	fs.IntVar(&s.tgRetryAfter, "telegram-retry-after", 0, "fixed retry_after seconds in 429s (0 = computed)")
	fs.StringVar(&s.twSID, "twilio-account-sid", "AC00000000000000000000000000000001", "Twilio account SID")
	fs.StringVar(&s.twToken, "twilio-auth-token", "fake-auth-token-0123456789abcdef", "Twilio auth token (signs webhooks)")
	fs.StringVar(&s.twFrom, "twilio-from", "+15017122661", "the Twilio number the account owns")
	fs.StringVar(&s.twInbound, "twilio-webhook", "", "where Twilio inbound messages go (statuses go to each message's StatusCallback)")
	fs.IntVar(&s.twMaxInFlight, "twilio-max-in-flight", 5, "concurrent API requests before 429 20429 (-1 = unlimited)")
	fs.Float64Var(&s.twSegments, "twilio-segments-per-second", 0, "per-sender queue drain rate (0 = no queue, 1 = US long code)")
	fs.BoolVar(&s.record, "log", true, "record requests for /_fake/requests and /_fake/stats windows (off for peak throughput)")
	if err := fs.Parse(args); err != nil {
		return s, err
	}
	for _, a := range []string{s.waAddr, s.tgAddr, s.twAddr} {
		if err := loopback(a); err != nil {
			return s, err
		}
	}
	switch whatsapp.WindowMode(s.waWindow) {
	case whatsapp.WindowAsync, whatsapp.WindowSync, whatsapp.WindowOff:
	default:
		return s, fmt.Errorf("-whatsapp-window %q: use async, sync or off", s.waWindow)
	}
	return s, nil
}

// loopback refuses addresses off this machine: the fakes are test doubles
// and must never be reachable from elsewhere.
func loopback(addr string) error {
	if addr == "off" {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("address %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("address %q is not loopback: the fakes only listen on 127.0.0.0/8 or ::1", addr)
	}
	return nil
}

func run(ctx context.Context, args []string, out io.Writer) error {
	s, err := parse(args)
	if err != nil {
		return err
	}
	var kits []*fakekit.Kit
	defer func() {
		for _, k := range kits {
			k.Close()
		}
	}()
	if s.waAddr != "off" {
		f, err := whatsapp.Start(whatsapp.Options{
			Addr: s.waAddr, PhoneNumberID: s.waPNID, AccessToken: s.waToken, AppSecret: s.waSecret,
			Rate: s.waRate, PairSpacing: s.waPair, Tier: s.waTier, Window: whatsapp.WindowMode(s.waWindow), NoStatuses: !s.waStatuses,
		})
		if err != nil {
			return fmt.Errorf("starting the WhatsApp fake: %w", err)
		}
		kits = append(kits, f.Kit)
		f.SetCallback(s.waCallback)
		fmt.Fprintf(out, "whatsapp_cloud  base_url=%s phone_number_id=%s access_token=%s app_secret=%s (verify_token: any you choose)\n",
			f.URL(), s.waPNID, s.waToken, s.waSecret)
	}
	if s.tgAddr != "off" {
		f, err := telegram.Start(telegram.Options{Addr: s.tgAddr, Token: s.tgToken, RetryAfter: s.tgRetryAfter})
		if err != nil {
			return fmt.Errorf("starting the Telegram fake: %w", err)
		}
		kits = append(kits, f.Kit)
		fmt.Fprintf(out, "telegram        base_url=%s bot_token=%s (the app's setWebhook sets the target)\n", f.URL(), s.tgToken)
	}
	if s.twAddr != "off" {
		f, err := twilio.Start(twilio.Options{
			Addr: s.twAddr, AccountSID: s.twSID, AuthToken: s.twToken, Numbers: []string{s.twFrom},
			MaxInFlight: s.twMaxInFlight, SegmentsPerSecond: s.twSegments,
		})
		if err != nil {
			return fmt.Errorf("starting the Twilio fake: %w", err)
		}
		kits = append(kits, f.Kit)
		f.SetInboundURL(s.twInbound)
		fmt.Fprintf(out, "twilio_sms/_whatsapp base_url=%s account_sid=%s auth_token=%s from=%s\n", f.URL(), s.twSID, s.twToken, s.twFrom)
	}
	for _, k := range kits {
		k.Log.SetRecording(s.record)
	}
	fmt.Fprintln(out, "control API: POST /_fake/reset, GET /_fake/stats, /_fake/requests, /_fake/webhooks; POST /_fake/rules, /_fake/inject, /_fake/latency, /_fake/emitter, /_fake/inbound, /_fake/callback")
	<-ctx.Done()
	return nil
}
