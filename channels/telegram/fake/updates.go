package fake

import (
	"encoding/json"
	"fmt"
	"net/http"

	"pregon/channels/fakekit"
	"pregon/channels/telegram"
)

// User is the fake's Telegram user (a private chat has the user's id).
type User struct {
	ID        int64  `json:"id"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name,omitempty"`
	Username  string `json:"username,omitempty"`
}

// Text posts a message update from user to the webhook.
func (f *Fake) Text(u User, text string) error {
	return f.post("message", func(id int64) map[string]any {
		return map[string]any{"message": f.message(u, map[string]any{"text": text})}
	})
}

// Photo posts a photo update with a caption.
func (f *Fake) Photo(u User, caption string) error {
	return f.post("message", func(id int64) map[string]any {
		return map[string]any{"message": f.message(u, map[string]any{
			"caption": caption,
			"photo": []map[string]any{
				{"file_id": fmt.Sprintf("FAKEPHOTO%dS", id), "width": 90, "height": 90},
				{"file_id": fmt.Sprintf("FAKEPHOTO%dL", id), "width": 1280, "height": 1280},
			},
		})}
	})
}

// Start posts "/start payload" (payload may be empty), the user's opt-in.
func (f *Fake) Start(u User, payload string) error {
	text := "/start"
	if payload != "" {
		text += " " + payload
	}
	return f.Text(u, text)
}

// Kicked posts the my_chat_member update of a user blocking the bot.
func (f *Fake) Kicked(u User) error {
	return f.post("my_chat_member", func(int64) map[string]any {
		return map[string]any{"my_chat_member": map[string]any{
			"chat":            map[string]any{"id": u.ID, "type": "private", "first_name": u.FirstName},
			"from":            u,
			"date":            f.Now().Unix(),
			"old_chat_member": map[string]any{"status": "member", "user": map[string]any{"id": botID(f.opts.Token), "is_bot": true}},
			"new_chat_member": map[string]any{"status": "kicked", "until_date": 0, "user": map[string]any{"id": botID(f.opts.Token), "is_bot": true}},
		}}
	})
}

func (f *Fake) message(u User, fields map[string]any) map[string]any {
	f.mu.Lock()
	f.msgIDs[u.ID]++
	id := f.msgIDs[u.ID]
	f.mu.Unlock()
	m := map[string]any{
		"message_id": id,
		"from":       map[string]any{"id": u.ID, "is_bot": false, "first_name": u.FirstName, "last_name": u.LastName, "username": u.Username},
		"chat":       map[string]any{"id": u.ID, "type": "private", "first_name": u.FirstName},
		"date":       f.Now().Unix(),
	}
	for k, v := range fields {
		m[k] = v
	}
	return m
}

// post numbers an update and queues it to the webhook with the secret header.
func (f *Fake) post(kind string, build func(updateID int64) map[string]any) error {
	f.mu.Lock()
	url, secret := f.hookURL, f.secret
	f.updateID++
	id := f.updateID
	f.mu.Unlock()
	if url == "" {
		return fmt.Errorf("no webhook set: call setWebhook (or SetWebhook) first")
	}
	u := build(id)
	u["update_id"] = id
	body, err := json.Marshal(u)
	if err != nil {
		return fmt.Errorf("encoding the update: %w", err)
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	if secret != "" {
		h.Set(telegram.SecretHeader, secret)
	}
	f.Emitter.Emit(fakekit.Webhook{URL: url, Header: h, Body: body, SigHeader: telegram.SecretHeader, Kind: kind})
	return nil
}

func (f *Fake) controlRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /_fake/inbound", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			User    User   `json:"user"`
			Text    string `json:"text"`
			Start   *bool  `json:"start"`
			Payload string `json:"payload"`
			Kicked  bool   `json:"kicked"`
		}
		if !fakekit.ReadJSON(w, r, &in) {
			return
		}
		if in.User.ID == 0 {
			fakekit.ControlError(w, fmt.Errorf("user.id is required"))
			return
		}
		var err error
		switch {
		case in.Kicked:
			err = f.Kicked(in.User)
		case in.Start != nil && *in.Start:
			err = f.Start(in.User, in.Payload)
		default:
			err = f.Text(in.User, in.Text)
		}
		if err != nil {
			fakekit.ControlError(w, err)
			return
		}
		fakekit.WriteJSON(w, http.StatusOK, map[string]bool{"ok": true})
	})
}
