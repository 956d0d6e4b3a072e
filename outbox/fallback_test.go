package outbox_test

import (
	"encoding/json"
	"testing"
	"time"

	"pregon/channels"
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

	// The row keeps both, so what was planned stays readable.
	var raw string
	f.app.DB().NewQuery("SELECT content FROM messages WHERE id = '" + q[0].ID + "'").Row(&raw)
	var stored outbox.StoredContent
	if err := json.Unmarshal([]byte(raw), &stored); err != nil || stored.Text == "" || stored.OutsideWindow == nil {
		t.Fatalf("stored content %s: %v", raw, err)
	}
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
