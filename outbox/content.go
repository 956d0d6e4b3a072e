package outbox

import (
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"

	"pregon/channels"
)

// Content limits that hold whatever the channel.
const (
	maxTemplateName   = 512
	maxTemplateParams = 100
	maxURLLen         = 2000
)

// ValidateContent checks that c is one well-formed shape that a channel with
// caps can send, and returns an error that says what to fix. Enqueue does
// not call it (a broadcast validates its content once, not per row); every
// caller that takes content from a person or an integrator must.
func ValidateContent(caps channels.Capabilities, c channels.Content) error {
	shapes := 0
	if c.Text != "" {
		shapes++
	}
	if c.Template != nil {
		shapes++
	}
	if c.Media != nil {
		shapes++
	}
	switch {
	case shapes == 0:
		return fmt.Errorf("content is empty: send text, template or media")
	case shapes > 1:
		return fmt.Errorf("content has more than one of text, template and media: send exactly one")
	}
	typ := c.Type()
	if !caps.Supports(typ) {
		return fmt.Errorf("this channel cannot send %s messages; it sends %s", typ, contentTypeList(caps))
	}
	switch typ {
	case channels.ContentText:
		if strings.TrimSpace(c.Text) == "" {
			return fmt.Errorf("text is blank")
		}
		if !utf8.ValidString(c.Text) {
			return fmt.Errorf("text is not valid UTF-8")
		}
		if n := utf8.RuneCountInString(c.Text); caps.MaxTextLen > 0 && n > caps.MaxTextLen {
			return fmt.Errorf("text is %d characters; this channel takes at most %d", n, caps.MaxTextLen)
		}
	case channels.ContentTemplate:
		t := c.Template
		if strings.TrimSpace(t.Name) == "" {
			return fmt.Errorf("the template name (template.name) is required")
		}
		if len(t.Name) > maxTemplateName {
			return fmt.Errorf("the template name (template.name) is longer than %d characters", maxTemplateName)
		}
		if caps.TemplateIDPrefix != "" && !strings.HasPrefix(t.Name, caps.TemplateIDPrefix) {
			return fmt.Errorf("on this channel a template is named by its id, which starts with %s (on Twilio: the Content SID, HX…, from Content Template Builder), not by its name: template.name is %q",
				caps.TemplateIDPrefix, t.Name)
		}
		// A template id already names one language's version.
		if strings.TrimSpace(t.Language) == "" && caps.TemplateIDPrefix == "" {
			return fmt.Errorf("the template language (template.language) is required, e.g. es or en_US")
		}
		if len(t.Params) > maxTemplateParams {
			return fmt.Errorf("the template has %d parameters (template.params); at most %d", len(t.Params), maxTemplateParams)
		}
		for i, p := range t.Params {
			if caps.MaxTextLen > 0 && utf8.RuneCountInString(p) > caps.MaxTextLen {
				return fmt.Errorf("template parameter %d (template.params[%d]) is longer than %d characters", i+1, i, caps.MaxTextLen)
			}
		}
	case channels.ContentMedia:
		m := c.Media
		u, err := url.Parse(m.URL)
		if m.URL == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("the media URL (media.url) must be an absolute http(s) URL the provider can fetch")
		}
		if len(m.URL) > maxURLLen {
			return fmt.Errorf("the media URL (media.url) is longer than %d characters", maxURLLen)
		}
		switch m.Kind {
		case "", "image", "document", "audio", "video":
		default:
			return fmt.Errorf("the media kind (media.kind) %q is not one of image, document, audio, video", m.Kind)
		}
		if n := utf8.RuneCountInString(m.Caption); caps.MaxCaption > 0 && n > caps.MaxCaption {
			return fmt.Errorf("the media caption (media.caption) is %d characters; this channel takes at most %d", n, caps.MaxCaption)
		}
	}
	return nil
}

func contentTypeList(caps channels.Capabilities) string {
	names := make([]string, len(caps.ContentTypes))
	for i, t := range caps.ContentTypes {
		names[i] = string(t)
	}
	if len(names) == 0 {
		return "nothing"
	}
	return strings.Join(names, ", ")
}
