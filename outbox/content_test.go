package outbox

import (
	"strings"
	"testing"
	"unicode/utf8"

	"pregon/channels"
)

var fuzzCaps = channels.Capabilities{
	ContentTypes: []channels.ContentType{channels.ContentText, channels.ContentTemplate, channels.ContentMedia},
	MaxTextLen:   4096, MaxCaption: 1024,
}

var twilioWA = channels.Capabilities{ContentTypes: []channels.ContentType{channels.ContentText, channels.ContentTemplate},
	MaxTextLen: 1600, TemplateIDPrefix: "HX"}

func TestValidateContentSaysWhatToFix(t *testing.T) {
	textOnly := channels.Capabilities{ContentTypes: []channels.ContentType{channels.ContentText}, MaxTextLen: 10}
	cases := []struct {
		caps channels.Capabilities
		c    channels.Content
		want string // "" = valid
	}{
		{fuzzCaps, channels.Content{Text: "Hola 👋"}, ""},
		{textOnly, channels.Content{Text: "ñandú ñandú"}, "11 characters; this channel takes at most 10"},
		{textOnly, channels.Content{Text: "ñandú"}, ""},
		{fuzzCaps, channels.Content{}, "content is empty"},
		{fuzzCaps, channels.Content{Text: "   "}, "text is blank"},
		{fuzzCaps, channels.Content{Text: "a", Template: &channels.Template{Name: "t", Language: "es"}}, "exactly one"},
		{textOnly, channels.Content{Template: &channels.Template{Name: "t", Language: "es"}}, "cannot send template messages; it sends text"},
		{fuzzCaps, channels.Content{Template: &channels.Template{Language: "es"}}, "template name (template.name) is required"},
		{fuzzCaps, channels.Content{Template: &channels.Template{Name: "t"}}, "template language (template.language) is required"},
		{fuzzCaps, channels.Content{Template: &channels.Template{Name: "t", Language: "es", Params: []string{"Ana", "#1"}}}, ""},
		{fuzzCaps, channels.Content{Media: &channels.Media{URL: "https://tienda.mx/a.jpg", Caption: "Foto"}}, ""},
		{fuzzCaps, channels.Content{Media: &channels.Media{URL: "/a.jpg"}}, "absolute http(s) URL"},
		{fuzzCaps, channels.Content{Media: &channels.Media{URL: "javascript:alert(1)"}}, "absolute http(s) URL"},
		{fuzzCaps, channels.Content{Media: &channels.Media{URL: "https://x.mx/a", Kind: "sticker"}}, `media kind (media.kind) "sticker"`},
		{fuzzCaps, channels.Content{Media: &channels.Media{URL: "https://x.mx/a", Caption: strings.Repeat("é", 1025)}}, "1025 characters"},
		// Twilio WhatsApp names a template by its Content SID, and the SID
		// already names the language's version.
		{twilioWA, channels.Content{Template: &channels.Template{Name: "promo", Language: "es"}}, `Content SID, HX…, from Content Template Builder), not by its name: template.name is "promo"`},
		{twilioWA, channels.Content{Template: &channels.Template{Name: "HX0123456789abcdef0123456789abcdef", Params: []string{"Ana"}}}, ""},
	}
	for i, c := range cases {
		err := ValidateContent(c.caps, c.c)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("case %d: want valid, got %v", i, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("case %d: want %q, got %v", i, c.want, err)
		}
	}
}

// FuzzValidateContent: any text, template or media either passes or is
// refused with a message; accepted text always fits the channel's limit.
func FuzzValidateContent(f *testing.F) {
	f.Add("Hola", "", "", "", "")
	f.Add("", "order_update", "es", "", "")
	f.Add("", "", "", "https://tienda.mx/a.jpg", "foto 📷")
	f.Add("\xff\xfe", "", "", "http://[::1]:80/x", "")
	f.Fuzz(func(t *testing.T, text, name, lang, url, caption string) {
		c := channels.Content{Text: text}
		if name != "" || lang != "" {
			c.Template = &channels.Template{Name: name, Language: lang, Params: []string{caption}}
		}
		if url != "" {
			c.Media = &channels.Media{URL: url, Caption: caption}
		}
		err := ValidateContent(fuzzCaps, c)
		if err == nil && c.Type() == channels.ContentText && utf8.RuneCountInString(text) > fuzzCaps.MaxTextLen {
			t.Fatalf("accepted %d characters of text", utf8.RuneCountInString(text))
		}
		if err != nil && err.Error() == "" {
			t.Fatal("a refusal must say why")
		}
	})
}
