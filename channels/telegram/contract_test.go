package telegram_test

import (
	"context"
	"testing"

	"pregon/channels"
	"pregon/channels/channeltest"
	"pregon/channels/telegram"
	"pregon/channels/telegram/fake"
)

const chatID = 3527065

// start runs a fake and returns an adapter builder configured against it.
func start(t *testing.T, o fake.Options) (*fake.Fake, channels.Config, func(channels.Config) (channels.Adapter, error)) {
	t.Helper()
	f, err := fake.Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	cfg := channels.Config{
		telegram.KeyBaseURL: f.URL(), telegram.KeyBotToken: f.Options().Token, telegram.KeySecretToken: "s3cret-Token_x",
	}
	build := func(change channels.Config) (channels.Adapter, error) {
		return telegram.New(cfg.With(change), channels.Deps{})
	}
	return f, cfg, build
}

func TestContract(t *testing.T) {
	channeltest.Run(t, channeltest.Harness{Start: func(t *testing.T) *channeltest.Env {
		f, cfg, build := start(t, fake.Options{})
		a, err := build(nil)
		if err != nil {
			t.Fatal(err)
		}
		return &channeltest.Env{
			Adapter: a, Config: cfg, Rebuild: build, Kit: f.Kit,
			To: "3527065", FakeTo: "3527065",
			PermanentCode: fake.CodeNotStarted, ThrottleCode: fake.Code429, ThrottleScope: channels.ScopeChannel,
			CredentialKey:    telegram.KeyBotToken,
			WebhookSecretKey: telegram.KeySecretToken, SignatureHeader: telegram.SecretHeader,
			SetCallback: func(url string) {
				if err := a.(channels.WebhookRegistrar).RegisterWebhook(context.Background(), url); err != nil {
					t.Fatalf("RegisterWebhook: %v", err)
				}
			},
			Inbound: func(t *testing.T, text string) {
				if err := f.Text(fake.User{ID: chatID, FirstName: "Åsa", LastName: "Öst"}, text); err != nil {
					t.Fatal(err)
				}
			},
		}
	}})
}
