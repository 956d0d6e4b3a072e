package whatsapp_test

import (
	"testing"

	"pregon/channels"
	"pregon/channels/channeltest"
	"pregon/channels/whatsapp"
	"pregon/channels/whatsapp/fake"
)

// start runs a fake and an adapter configured against it.
func start(t *testing.T, o fake.Options) (*fake.Fake, channels.Config, func(channels.Config) (channels.Adapter, error)) {
	t.Helper()
	f, err := fake.Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	opts := f.Options()
	cfg := channels.Config{
		whatsapp.KeyBaseURL: f.URL(), whatsapp.KeyPhoneNumberID: opts.PhoneNumberID,
		whatsapp.KeyAccessToken: opts.AccessToken, whatsapp.KeyAppSecret: opts.AppSecret,
		whatsapp.KeyVerifyToken: "verify-token-123",
	}
	build := func(change channels.Config) (channels.Adapter, error) {
		return whatsapp.New(cfg.With(change), channels.Deps{})
	}
	return f, cfg, build
}

func TestContract(t *testing.T) {
	channeltest.Run(t, channeltest.Harness{Start: func(t *testing.T) *channeltest.Env {
		f, cfg, build := start(t, fake.Options{
			Templates: []fake.Template{{Name: "order_update", Language: "es", Params: 2}},
			Window:    fake.WindowOff,
		})
		a, err := build(nil)
		if err != nil {
			t.Fatal(err)
		}
		return &channeltest.Env{
			Adapter: a, Config: cfg, Rebuild: build, Kit: f.Kit,
			To: "+51987654321", FakeTo: "51987654321",
			Template:      &channels.Template{Name: "order_update", Language: "es", Params: []string{"Ana", "#1234"}},
			PermanentCode: "131026", ThrottleCode: "130429", ThrottleScope: channels.ScopeChannel,
			AsyncFailCode: "131050", CredentialKey: whatsapp.KeyAccessToken, ReadReceipts: true,
			WebhookSecretKey: whatsapp.KeyAppSecret, SignatureHeader: whatsapp.SignatureHeader, BodySigned: true,
			SetCallback: f.SetCallback,
			Inbound: func(t *testing.T, text string) {
				if _, err := f.Inbound(fake.Inbound{From: "51987654321", Name: "Åsa", Text: text}); err != nil {
					t.Fatal(err)
				}
			},
		}
	}})
}
