package telegram

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"pregon/channels"
)

// apiResponse is the Bot API envelope for every method.
type apiResponse struct {
	OK          bool            `json:"ok"`
	Result      json.RawMessage `json:"result"`
	ErrorCode   int             `json:"error_code"`
	Description string          `json:"description"`
	Parameters  *struct {
		RetryAfter      int   `json:"retry_after"`
		MigrateToChatID int64 `json:"migrate_to_chat_id"`
	} `json:"parameters"`
}

// call invokes one Bot API method with a JSON body and returns its result.
func (a *Adapter) call(ctx context.Context, method string, params any) (json.RawMessage, error) {
	body, err := json.Marshal(params)
	if err != nil {
		return nil, fmt.Errorf("encoding telegram %s: %w", method, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.api+"/"+method, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("building telegram %s: %s", method, channels.RedactError(err, a.secrets...))
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := channels.Exchange(a.http, req, a.secrets...)
	if err != nil {
		return nil, err
	}
	var out apiResponse
	if err := json.Unmarshal(resp.Body, &out); err != nil {
		return nil, channels.ClassifyHTTP(resp.Status, strconv.Itoa(resp.Status),
			fmt.Sprintf("telegram %s answered HTTP %d without a Bot API body", method, resp.Status))
	}
	if !out.OK {
		return nil, classify(resp.Status, out, a.secrets)
	}
	return out.Result, nil
}

// ChatID returns the chat_id parameter for one of our identifiers: numeric
// ids as numbers (groups are negative), "@channel" names as strings.
func ChatID(to string) (any, error) {
	to = strings.TrimSpace(to)
	if n, err := strconv.ParseInt(to, 10, 64); err == nil {
		return n, nil
	}
	if strings.HasPrefix(to, "@") && len(to) > 1 {
		return to, nil
	}
	return nil, fmt.Errorf("telegram recipient %q is neither a numeric chat id nor an @channel name", to)
}

type sentMessage struct {
	MessageID int64 `json:"message_id"`
	Chat      struct {
		ID int64 `json:"id"`
	} `json:"chat"`
}

// Send delivers one message. Telegram has no receipts: the answer is final.
func (a *Adapter) Send(ctx context.Context, m channels.OutMessage) (channels.SendResult, error) {
	chat, err := ChatID(m.To)
	if err != nil {
		return channels.SendResult{}, channels.InvalidMessage(err.Error())
	}
	method, params, err := buildParams(chat, m.Content)
	if err != nil {
		return channels.SendResult{}, err
	}
	raw, err := a.call(ctx, method, params)
	if err != nil {
		return channels.SendResult{}, err
	}
	var sent sentMessage
	if err := json.Unmarshal(raw, &sent); err != nil || sent.MessageID == 0 {
		// Telegram took it, so it may be delivered: never retry.
		return channels.SendResult{}, &channels.Error{Class: channels.ClassPermanent, Code: "no_message_id",
			Detail: "telegram answered ok without a message_id"}
	}
	// message_id is unique only per chat.
	return channels.SendResult{ProviderID: ProviderID(sent.Chat.ID, sent.MessageID), Final: true}, nil
}

// ProviderID is "chat_id:message_id", unique across chats.
func ProviderID(chat, message int64) string {
	return strconv.FormatInt(chat, 10) + ":" + strconv.FormatInt(message, 10)
}

// mediaMethods maps a media kind to its Bot API method and file field.
var mediaMethods = map[string]struct{ field, method string }{
	"":         {"photo", "sendPhoto"},
	"image":    {"photo", "sendPhoto"},
	"document": {"document", "sendDocument"},
	"video":    {"video", "sendVideo"},
	"audio":    {"audio", "sendAudio"},
}

// buildParams picks the method and checks limits Telegram would refuse.
func buildParams(chat any, c channels.Content) (string, map[string]any, error) {
	p := map[string]any{"chat_id": chat}
	switch c.Type() {
	case channels.ContentText:
		if n := utf8.RuneCountInString(c.Text); n > MaxTextLen {
			return "", nil, channels.InvalidMessage(fmt.Sprintf("text is %d characters; Telegram allows %d", n, MaxTextLen))
		}
		p["text"] = c.Text
		return "sendMessage", p, nil
	case channels.ContentMedia:
		md := c.Media
		u, err := url.Parse(md.URL)
		if err != nil || u.Scheme != "https" && u.Scheme != "http" || u.Host == "" {
			return "", nil, channels.InvalidMessage(fmt.Sprintf("media URL %q must be a public http(s) link Telegram can fetch", md.URL))
		}
		if n := utf8.RuneCountInString(md.Caption); n > MaxCaptionLen {
			return "", nil, channels.InvalidMessage(fmt.Sprintf("caption is %d characters; Telegram allows %d", n, MaxCaptionLen))
		}
		if md.Caption != "" {
			p["caption"] = md.Caption
		}
		fm, ok := mediaMethods[md.Kind]
		if !ok {
			return "", nil, channels.InvalidMessage(fmt.Sprintf("media kind %q is not one of image, document, audio, video", md.Kind))
		}
		p[fm.field] = md.URL
		return fm.method, p, nil
	case channels.ContentTemplate:
		return "", nil, channels.InvalidMessage("Telegram has no templates: send text or media")
	}
	return "", nil, channels.InvalidMessage("the message has no content: set text or media")
}

// Test checks the token with getMe.
func (a *Adapter) Test(ctx context.Context) error {
	if _, err := a.call(ctx, "getMe", struct{}{}); err != nil {
		return fmt.Errorf("checking the telegram bot token: %w", err)
	}
	return nil
}

// RegisterWebhook points the bot's updates at url with the channel's
// secret token, asking for the updates Pregón reads.
func (a *Adapter) RegisterWebhook(ctx context.Context, url string) error {
	_, err := a.call(ctx, "setWebhook", map[string]any{
		"url": url, "secret_token": a.secret,
		"allowed_updates": []string{"message", "edited_message", "my_chat_member"},
	})
	if err != nil {
		return fmt.Errorf("setting the telegram webhook: %w", err)
	}
	return nil
}
