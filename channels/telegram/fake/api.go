package fake

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"pregon/channels/fakekit"
	"pregon/channels/telegram"
)

// answer is one Bot API reply.
type answer struct {
	status      int
	description string
	retryAfter  int
	migrateTo   int64
	result      any
}

func ok(result any) answer { return answer{status: http.StatusOK, result: result} }

func apiError(status int, description string) answer {
	return answer{status: status, description: description}
}

func (a answer) write(w http.ResponseWriter) {
	body := map[string]any{"ok": a.status == http.StatusOK}
	if a.status == http.StatusOK {
		body["result"] = a.result
	} else {
		body["error_code"] = a.status
		body["description"] = a.description
		switch {
		case a.retryAfter > 0:
			body["parameters"] = map[string]int{"retry_after": a.retryAfter}
		case a.migrateTo != 0:
			body["parameters"] = map[string]int64{"migrate_to_chat_id": a.migrateTo}
		}
	}
	fakekit.WriteJSON(w, a.status, body)
}

func (f *Fake) handle(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	f.InFlight.Inc()
	defer f.InFlight.Dec()
	method := r.PathValue("method")
	e := fakekit.Entry{At: start, Method: r.Method, Op: method}
	injected, handled := f.Intercept(w, r)
	if handled {
		e.Duration = time.Since(start)
		f.Log.Add(e)
		return
	}
	var ans answer
	params, err := readParams(r)
	switch {
	case r.PathValue("bot") != "bot"+f.opts.Token:
		ans = apiError(http.StatusUnauthorized, "Unauthorized")
	case err != nil:
		ans = apiError(http.StatusBadRequest, "Bad Request: "+err.Error())
	default:
		e.Recipient = params["chat_id"]
		ans = f.dispatch(method, params, injected)
	}
	e.Status = ans.status
	if ans.status != http.StatusOK {
		e.Code = strconv.Itoa(ans.status)
		e.Wait = time.Duration(ans.retryAfter) * time.Second
	}
	if f.Log.KeepBodies() {
		e.Body, _ = json.Marshal(params)
	}
	ans.write(w)
	e.Duration = time.Since(start)
	f.Log.Add(e)
}

// readParams merges query, form, multipart and JSON parameters, as the
// Bot API accepts all four.
func readParams(r *http.Request) (map[string]string, error) {
	p := map[string]string{}
	for k, v := range r.URL.Query() {
		p[k] = v[0]
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/json":
		var m map[string]json.RawMessage
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(body, &m); err != nil {
			return nil, fmt.Errorf("body is not a JSON object: %v", err)
		}
		for k, v := range m {
			var s string
			if json.Unmarshal(v, &s) == nil {
				p[k] = s
			} else {
				p[k] = string(v) // numbers, arrays and objects as raw JSON
			}
		}
	case "multipart/form-data":
		if err := r.ParseMultipartForm(10 << 20); err != nil {
			return nil, err
		}
		for k, v := range r.MultipartForm.Value {
			p[k] = v[0]
		}
		for k := range r.MultipartForm.File {
			p[k] = "attach://" + k
		}
	case "application/x-www-form-urlencoded":
		if err := r.ParseForm(); err != nil {
			return nil, err
		}
		for k, v := range r.PostForm {
			p[k] = v[0]
		}
	}
	return p, nil
}

func (f *Fake) dispatch(method string, p map[string]string, injected string) answer {
	switch method {
	case "getMe":
		return ok(map[string]any{"id": botID(f.opts.Token), "is_bot": true, "first_name": "Pregón Fake", "username": f.opts.BotUsername})
	case "setWebhook":
		if p["url"] != "" && p["secret_token"] != "" {
			if err := telegram.ValidSecretToken(p["secret_token"]); err != nil {
				return apiError(http.StatusBadRequest, "Bad Request: secret token contains unallowed characters")
			}
		}
		f.SetWebhook(p["url"], p["secret_token"])
		return ok(true)
	case "deleteWebhook":
		f.SetWebhook("", "")
		return ok(true)
	case "getWebhookInfo":
		url, _ := f.Webhook()
		return ok(map[string]any{"url": url, "has_custom_certificate": false, "pending_update_count": f.Emitter.Pending()})
	case "sendMessage", "sendPhoto", "sendDocument", "sendVideo", "sendAudio":
		return f.send(method, p, injected)
	}
	return apiError(http.StatusNotFound, "Not Found: method not found")
}

func botID(token string) int64 {
	n, _ := strconv.ParseInt(strings.SplitN(token, ":", 2)[0], 10, 64)
	return n
}

var mediaField = map[string]string{"sendPhoto": "photo", "sendDocument": "document", "sendVideo": "video", "sendAudio": "audio"}

func (f *Fake) send(method string, p map[string]string, injected string) answer {
	chatStr := p["chat_id"]
	if chatStr == "" {
		return apiError(http.StatusBadRequest, "Bad Request: chat_id is empty")
	}
	chat, err := strconv.ParseInt(chatStr, 10, 64)
	if err != nil {
		return apiError(http.StatusBadRequest, "Bad Request: chat not found")
	}
	if injected != "" {
		return f.failure(injected, chatStr)
	}
	if a, limited := f.limit(chat); limited {
		return a
	}
	if rule := f.Rules.For(chatStr); rule.Outcome == fakekit.FailSync {
		return f.failure(rule.Code, chatStr)
	}
	msg := map[string]any{"chat": chatObject(chat)}
	if method == "sendMessage" {
		text := p["text"]
		if text == "" {
			return apiError(http.StatusBadRequest, "Bad Request: message text is empty")
		}
		if utf8.RuneCountInString(text) > 4096 {
			return apiError(http.StatusBadRequest, "Bad Request: message is too long")
		}
		msg["text"] = text
	} else {
		field := mediaField[method]
		if p[field] == "" {
			return apiError(http.StatusBadRequest, "Bad Request: there is no "+field+" in the request")
		}
		if utf8.RuneCountInString(p["caption"]) > 1024 {
			return apiError(http.StatusBadRequest, "Bad Request: message caption is too long")
		}
		msg[field] = []map[string]string{{"file_id": "FAKEFILE" + strconv.Itoa(len(p[field]))}}
		if p["caption"] != "" {
			msg["caption"] = p["caption"]
		}
	}
	f.mu.Lock()
	f.msgIDs[chat]++
	msg["message_id"] = f.msgIDs[chat]
	f.mu.Unlock()
	msg["date"] = f.Now().Unix()
	msg["from"] = map[string]any{"id": botID(f.opts.Token), "is_bot": true, "first_name": "Pregón Fake", "username": f.opts.BotUsername}
	return ok(msg)
}

func chatObject(id int64) map[string]any {
	if id < 0 {
		return map[string]any{"id": id, "type": "supergroup", "title": "Fake group"}
	}
	return map[string]any{"id": id, "type": "private", "first_name": "Fake"}
}

// failure renders a scripted or injected failure code.
func (f *Fake) failure(code, chat string) answer {
	switch code {
	case CodeBlocked:
		return apiError(http.StatusForbidden, "Forbidden: bot was blocked by the user")
	case CodeDeactivated:
		return apiError(http.StatusForbidden, "Forbidden: user is deactivated")
	case CodeNotStarted:
		return apiError(http.StatusForbidden, "Forbidden: bot can't initiate conversation with a user")
	case CodeKicked:
		return apiError(http.StatusForbidden, "Forbidden: bot was kicked from the group chat")
	case CodeChatNotFound:
		return apiError(http.StatusBadRequest, "Bad Request: chat not found")
	case Code401:
		return apiError(http.StatusUnauthorized, "Unauthorized")
	case Code500:
		return apiError(http.StatusInternalServerError, "Internal Server Error")
	case Code429:
		return f.tooMany(time.Second)
	}
	if to, found := strings.CutPrefix(code, CodeMigratedPrefix); found {
		a := apiError(http.StatusBadRequest, "Bad Request: group chat was upgraded to a supergroup chat")
		a.migrateTo, _ = strconv.ParseInt(to, 10, 64)
		return a
	}
	return apiError(http.StatusBadRequest, "Bad Request: "+code)
}

func (f *Fake) retryAfter(wait time.Duration) int {
	if f.opts.RetryAfter > 0 {
		return f.opts.RetryAfter
	}
	return int(math.Max(1, math.Ceil(wait.Seconds())))
}
