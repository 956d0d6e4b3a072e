package telegram

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"pregon/channels"
)

// SecretHeader carries the secret_token given to setWebhook.
const SecretHeader = "X-Telegram-Bot-Api-Secret-Token"

// Verify checks the secret-token header in constant time. Telegram signs
// nothing; the header proves the sender knows the secret.
func (a *Adapter) Verify(r *channels.WebhookRequest) error {
	got := r.Header.Get(SecretHeader)
	if got == "" {
		return channels.MissingCredential("the webhook has no " + SecretHeader + " header")
	}
	if !channels.SecretEqual(got, a.secret) {
		return channels.BadCredential(SecretHeader + " does not match the channel's secret_token")
	}
	return nil
}

// Handshake: Telegram has none.
func (a *Adapter) Handshake(*channels.WebhookRequest) (int, []byte, bool) { return 0, nil, false }

// update is one Bot API Update, reduced to what Pregón reads.
type update struct {
	UpdateID      int64    `json:"update_id"`
	Message       *message `json:"message"`
	EditedMessage *message `json:"edited_message"`
	MyChatMember  *struct {
		Chat          chat `json:"chat"`
		NewChatMember struct {
			Status string `json:"status"`
		} `json:"new_chat_member"`
	} `json:"my_chat_member"`
}

type chat struct {
	ID    int64  `json:"id"`
	Type  string `json:"type"`
	Title string `json:"title"`
}

type file struct {
	FileID string `json:"file_id"`
}

type message struct {
	MessageID int64 `json:"message_id"`
	From      *struct {
		FirstName string `json:"first_name"`
		LastName  string `json:"last_name"`
		Username  string `json:"username"`
	} `json:"from"`
	Chat     chat   `json:"chat"`
	Date     int64  `json:"date"`
	Text     string `json:"text"`
	Caption  string `json:"caption"`
	Photo    []file `json:"photo"` // sizes, smallest first
	Document *file  `json:"document"`
	Video    *file  `json:"video"`
	Audio    *file  `json:"audio"`
	Voice    *file  `json:"voice"`
	Sticker  *file  `json:"sticker"`
}

// FileURL is how inbound media is referenced: Telegram's download URL
// contains the bot token, so Pregón stores the file id and resolves it
// (getFile) only when someone opens it.
func FileURL(fileID string) string { return "telegram:file/" + fileID }

// Parse reads one update. Unknown update kinds give an empty batch.
func (a *Adapter) Parse(r *channels.WebhookRequest) (channels.WebhookBatch, error) {
	var u update
	if err := json.Unmarshal(r.Body, &u); err != nil {
		return channels.WebhookBatch{}, fmt.Errorf("reading the telegram update: %w", err)
	}
	var b channels.WebhookBatch
	if mm := u.MyChatMember; mm != nil && mm.Chat.ID != 0 && mm.NewChatMember.Status == "kicked" {
		// The user blocked the bot (or removed it from a group).
		b.Consents = append(b.Consents, channels.ConsentSignal{From: chatKey(mm.Chat.ID), Source: "telegram:my_chat_member kicked"})
	}
	m := u.Message
	if m == nil {
		m = u.EditedMessage
	}
	if m == nil || m.Chat.ID == 0 {
		return b, nil
	}
	in := channels.Inbound{
		ProviderID: ProviderID(m.Chat.ID, m.MessageID),
		From:       chatKey(m.Chat.ID),
		Timestamp:  time.Unix(m.Date, 0).UTC(),
		Content:    content(m),
	}
	if m.From != nil {
		in.Name = strings.TrimSpace(m.From.FirstName + " " + m.From.LastName)
		if in.Name == "" {
			in.Name = m.From.Username
		}
	}
	if in.Name == "" {
		in.Name = m.Chat.Title
	}
	if in.Content.Type() == "" {
		return b, nil // service messages (joins, pins) carry nothing to show
	}
	b.Messages = append(b.Messages, in)
	if cmd := strings.Fields(m.Text); u.Message != nil && len(cmd) > 0 && (cmd[0] == "/start" || strings.HasPrefix(cmd[0], "/start@")) {
		// Starting the bot is the user's opt-in; a deep-link payload says where from.
		src := "telegram:/start"
		if len(cmd) > 1 {
			src += " " + cmd[1]
		}
		b.Consents = append(b.Consents, channels.ConsentSignal{From: in.From, OptIn: true, Source: src})
	}
	return b, nil
}

func chatKey(id int64) string { return fmt.Sprint(id) }

func content(m *message) channels.Content {
	media := func(kind string, f *file) channels.Content {
		return channels.Content{Media: &channels.Media{URL: FileURL(f.FileID), Kind: kind, Caption: m.Caption}}
	}
	switch {
	case m.Text != "":
		return channels.Content{Text: m.Text}
	case len(m.Photo) > 0:
		return media("image", &m.Photo[len(m.Photo)-1])
	case m.Document != nil:
		return media("document", m.Document)
	case m.Video != nil:
		return media("video", m.Video)
	case m.Audio != nil:
		return media("audio", m.Audio)
	case m.Voice != nil:
		return media("audio", m.Voice)
	case m.Sticker != nil:
		return media("image", m.Sticker)
	}
	return channels.Content{}
}
