package twilio_test

import (
	"testing"

	"pregon/channels"
	"pregon/channels/channeltest"
	"pregon/channels/twilio"
	"pregon/channels/twilio/fake"
)

const contact = "+51987654321"

// start runs a fake and returns an adapter builder of type t against it.
func start(t *testing.T, typ channels.Type, o fake.Options) (*fake.Fake, channels.Config, func(channels.Config) (channels.Adapter, error)) {
	t.Helper()
	f, err := fake.Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	opts := f.Options()
	cfg := channels.Config{
		twilio.KeyBaseURL: f.URL(), twilio.KeyAccountSID: opts.AccountSID, twilio.KeyAuthToken: opts.AuthToken,
		twilio.KeyFrom: opts.Numbers[0],
	}
	build := func(change channels.Config) (channels.Adapter, error) {
		return twilio.New(typ, cfg.With(change), channels.Deps{})
	}
	return f, cfg, build
}

func harness(typ channels.Type) channeltest.Harness {
	whatsapp := typ == channels.TwilioWhatsApp
	return channeltest.Harness{Start: func(t *testing.T) *channeltest.Env {
		f, cfg, build := start(t, typ, fake.Options{IgnoreWindow: true})
		a, err := build(nil)
		if err != nil {
			t.Fatal(err)
		}
		fakeTo := contact
		if whatsapp {
			fakeTo = "whatsapp:" + contact
		}
		env := &channeltest.Env{
			Adapter: a, Config: cfg, Rebuild: build, Kit: f.Kit, To: contact, FakeTo: fakeTo,
			PermanentCode: "21211", ThrottleCode: "20429", ThrottleScope: channels.ScopeAccount,
			AsyncFailCode: "30007", CredentialKey: twilio.KeyAuthToken,
			WebhookSecretKey: twilio.KeyAuthToken, SignatureHeader: twilio.SignatureHeader, BodySigned: true,
			EchoesMessageID: true, ReadReceipts: whatsapp,
			SetCallback: f.SetInboundURL,
			Inbound: func(t *testing.T, text string) {
				if _, err := f.Inbound(fake.Inbound{From: contact, Body: text, WhatsApp: whatsapp, Name: "Åsa"}); err != nil {
					t.Fatal(err)
				}
			},
		}
		if whatsapp {
			env.Template = &channels.Template{Name: "HX0123456789abcdef0123456789abcdef", Language: "es", Params: []string{"Ana"}}
		}
		return env
	}}
}

func TestContractSMS(t *testing.T)      { channeltest.Run(t, harness(channels.TwilioSMS)) }
func TestContractWhatsApp(t *testing.T) { channeltest.Run(t, harness(channels.TwilioWhatsApp)) }
