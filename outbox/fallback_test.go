package outbox_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/pocketbase/dbx"

	"pregon/channels"
	"pregon/failedlog"
	"pregon/outbox"
)

// A broadcast row that carries text plus an outside-the-window template is
// decided at the call: the text where the window is open, the template
// where it is closed (a long broadcast's contacts open and close windows
// while it runs).
func TestOutsideWindowTemplateIsChosenAtSendTime(t *testing.T) {
	f := newFixture(t, waCaps, nil)
	closed, closedIDs := f.recipients(1, time.Time{})
	open, openIDs := f.recipients(1, epoch.Add(-time.Hour))
	promo := tmpl("promo")
	withFallback := func(c, id string) outbox.Item {
		it := f.item(c, id, text("Hola, 20% hoy"), outbox.SourceBroadcast)
		it.OutsideWindow = &promo
		return it
	}
	q := f.enqueue(withFallback(closed[0], closedIDs[0]), withFallback(open[0], openIDs[0]))
	f.start()
	f.waitFor("both sent", func() bool { return f.count("status = 'sent'", nil) == 2 })

	sent := map[string]channels.Content{}
	f.adapter.mu.Lock()
	for _, c := range f.adapter.calls {
		sent[c.ID] = c.Content
	}
	f.adapter.mu.Unlock()
	if c := sent[q[0].ID]; c.Type() != channels.ContentTemplate || c.Template.Name != "promo" {
		t.Fatalf("closed window: the template must go, got %+v", c)
	}
	if c := sent[q[1].ID]; c.Type() != channels.ContentText || c.Text != "Hola, 20% hoy" {
		t.Fatalf("open window: the text must go, got %+v", c)
	}

	// The row keeps both, so what was planned stays readable, and says
	// which one went; the failed log and the delivery answer read it.
	stored, raw := storedContent(t, f, q[0].ID)
	if stored.Text == "" || stored.OutsideWindow == nil || stored.Chosen != outbox.ChosenOutsideWindow {
		t.Fatalf("closed window: stored content %s", raw)
	}
	if typ, shown := failedlog.RenderContent(raw); typ != "template" || shown != "promo (es)" {
		t.Fatalf("closed window: the log must show the template that went, got %s %q", typ, shown)
	}
	if stored, raw := storedContent(t, f, q[1].ID); stored.Chosen != "" || stored.OutsideWindow == nil {
		t.Fatalf("open window: the text went, nothing to mark: %s", raw)
	}
}

// A template the provider refuses is what the failed log shows: the person
// investigating must see that the template was tried, not the text.
func TestARefusedOutsideWindowTemplateIsWhatTheLogShows(t *testing.T) {
	f := newFixture(t, waCaps, nil)
	closed, ids := f.recipients(1, time.Time{})
	promo := tmpl("promo")
	it := f.item(closed[0], ids[0], text("Hola, 20% hoy"), outbox.SourceBroadcast)
	it.OutsideWindow = &promo
	f.adapter.setAnswer(func(m channels.OutMessage, n int) (channels.SendResult, error) {
		return channels.SendResult{}, &channels.Error{Class: channels.ClassPermanent, Code: "132001", Detail: "template name does not exist in the translation"}
	})
	q := f.enqueue(it)
	f.start()
	f.waitFor("failed", func() bool { return f.msg(q[0].ID).Status == outbox.StatusFailed })
	stored, raw := storedContent(t, f, q[0].ID)
	if stored.Chosen != outbox.ChosenOutsideWindow {
		t.Fatalf("a failed call with the template must mark it: %s", raw)
	}
	if typ, shown := failedlog.RenderContent(raw); typ != "template" || shown != "promo (es)" {
		t.Fatalf("the failed log must show the refused template, got %s %q", typ, shown)
	}
}

func storedContent(t *testing.T, f *fixture, id string) (outbox.StoredContent, string) {
	t.Helper()
	var raw string
	if err := f.app.DB().NewQuery("SELECT content FROM messages WHERE id = {:id}").Bind(dbx.Params{"id": id}).Row(&raw); err != nil {
		t.Fatal(err)
	}
	var stored outbox.StoredContent
	if err := json.Unmarshal([]byte(raw), &stored); err != nil {
		t.Fatalf("stored content %s: %v", raw, err)
	}
	return stored, raw
}

func TestOutsideWindowMustBeATemplate(t *testing.T) {
	f := newFixture(t, waCaps, nil)
	cs, ids := f.recipients(1, time.Time{})
	it := f.item(cs[0], ids[0], text("hola"), outbox.SourceBroadcast)
	it.OutsideWindow = &channels.Content{Text: "otra"}
	if _, err := f.env.Outbox.Enqueue([]outbox.Item{it}); err == nil {
		t.Fatal("a text fallback outside the window must be refused")
	}
}
