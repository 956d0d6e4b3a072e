package pb_public_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"

	"pregon/channels"
	"pregon/channels/webchat"
	"pregon/internal/testapp"
	"pregon/outbox"
)

// chromium is Debian's package; .ci/run installs it.
const chromium = "/usr/bin/chromium"

// TestWidgetInBrowser embeds the widget in a shop's page (another origin),
// has a visitor write through it in a real Chromium, checks that the
// message became a contact and an inbound message, and that a reply reaches
// the page over PocketBase realtime.
func TestWidgetInBrowser(t *testing.T) {
	if _, err := os.Stat(chromium); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is missing: .ci/run installs Debian's chromium", chromium)
		}
		t.Skipf("%s is not installed (apt-get install chromium)", chromium)
	}
	app, env := testapp.New(t)

	// The shop's page, on its own origin.
	var pregonURL, channelID string
	shop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html lang="es"><head><meta charset="utf-8"><title>Tienda</title></head>
<body><h1>Tienda Lupita</h1><script src="%s/widget.js" data-channel="%s" async></script></body></html>`, pregonURL, channelID)
	}))
	t.Cleanup(shop.Close)

	col, err := app.FindCollectionByNameOrId("channels")
	if err != nil {
		t.Fatal(err)
	}
	ch := core.NewRecord(col)
	ch.Set("name", "Web")
	ch.Set("type", "webchat")
	ch.Set("config", map[string]any{"allowed_origins": shop.URL, "title": "Tienda Lupita"})
	if err := app.Save(ch); err != nil {
		t.Fatal(err)
	}
	channelID = ch.Id
	pregonURL = testapp.Serve(t, app).URL // also starts the inbox worker

	// No UserDataDir: chromedp gives the browser a fresh temporary profile
	// and removes it once the browser process has exited.
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromium), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true))
	ctx, cancelBrowser := chromedp.NewContext(alloc)
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	// Cleanups run last-in first-out: the browser goes before the servers,
	// whose realtime streams it holds open.
	t.Cleanup(func() { cancelTimeout(); cancelBrowser(); cancelAlloc() })

	const text = "Hola, ¿tienen envíos a Puebla?"
	var launcher, expanded, heading string
	if err := chromedp.Run(ctx,
		chromedp.Navigate(shop.URL),
		chromedp.WaitVisible(".pregon-launch", chromedp.ByQuery),
		chromedp.Text(".pregon-launch", &launcher, chromedp.ByQuery),
		chromedp.Click(".pregon-launch", chromedp.ByQuery),
		chromedp.WaitVisible("#pregon-input", chromedp.ByQuery),
		chromedp.AttributeValue(".pregon-launch", "aria-expanded", &expanded, nil, chromedp.ByQuery),
		chromedp.Poll(`document.querySelector("#pregon-title").textContent === "Tienda Lupita"`, nil),
		chromedp.Text("#pregon-title", &heading, chromedp.ByQuery),
		// Enter sends (the keyboard path); Shift+Enter would add a line.
		chromedp.SendKeys("#pregon-input", text+"\r", chromedp.ByQuery),
	); err != nil {
		t.Fatalf("using the widget: %v", err)
	}
	if !strings.Contains(launcher, "Chatea con nosotros") || expanded != "true" || heading != "Tienda Lupita" {
		t.Fatalf("widget: launcher %q, aria-expanded %q, heading %q", launcher, expanded, heading)
	}

	// The visitor became a contact with a web-chat identity and the message
	// is stored as inbound.
	var visitor, contact string
	waitFor(t, "the inbound message", func() bool {
		err := app.DB().NewQuery(`SELECT i.identifier, m.contact FROM messages m JOIN contact_identities i ON i.id = m.identity
			WHERE m.direction = 'in' AND m.channel = {:ch} AND i.kind = 'webchat' AND json_extract(m.content, '$.text') = {:text}`).
			Bind(dbx.Params{"ch": ch.Id, "text": text}).Row(&visitor, &contact)
		return err == nil
	})
	if !webchat.ValidVisitor(visitor) || contact == "" {
		t.Fatalf("visitor %q contact %q", visitor, contact)
	}

	// Wait until the page has subscribed to its topic, then reply through
	// the outbox, as an agent's reply goes: queued, dispatched through the
	// web-chat adapter's Send, pushed to the page over realtime.
	waitFor(t, "the page's realtime subscription", func() bool {
		for _, c := range app.SubscriptionsBroker().Clients() {
			if c.HasSubscription(webchat.Topic(visitor)) {
				return true
			}
		}
		return false
	})
	var identity string
	if err := app.DB().NewQuery(`SELECT id FROM contact_identities WHERE kind = 'webchat' AND identifier = {:v}`).
		Bind(dbx.Params{"v": visitor}).Row(&identity); err != nil {
		t.Fatal(err)
	}
	queued, err := env.Outbox.Enqueue([]outbox.Item{{Channel: ch.Id, Contact: contact, Identity: identity,
		Content: channels.Content{Text: "¡Sí! Enviamos a todo México."}, Source: "agent"}})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the reply to be sent", func() bool {
		var status string
		app.DB().NewQuery(`SELECT status FROM messages WHERE id = {:id}`).Bind(dbx.Params{"id": queued[0].ID}).Row(&status)
		return status == "sent"
	})

	var reply string
	if err := chromedp.Run(ctx,
		chromedp.WaitVisible("li.pregon-out", chromedp.ByQuery),
		chromedp.Text("li.pregon-out", &reply, chromedp.ByQuery),
	); err != nil {
		t.Fatalf("waiting for the reply in the page: %v", err)
	}
	if !strings.Contains(reply, "¡Sí! Enviamos a todo México.") {
		t.Fatalf("reply shown as %q", reply)
	}

	// Escape closes the chat and gives the focus back to its button.
	var focused string
	if err := chromedp.Run(ctx,
		chromedp.Focus("#pregon-input", chromedp.ByQuery),
		chromedp.KeyEvent(kb.Escape),
		chromedp.WaitNotVisible("#pregon-panel", chromedp.ByQuery),
		chromedp.Evaluate(`document.activeElement.className`, &focused),
		chromedp.AttributeValue(".pregon-launch", "aria-expanded", &expanded, nil, chromedp.ByQuery),
	); err != nil {
		t.Fatalf("closing with Escape: %v", err)
	}
	if focused != "pregon-launch" || expanded != "false" {
		t.Fatalf("after Escape: focus on %q, aria-expanded %q", focused, expanded)
	}
}

// waitFor polls cond until it holds; the deadline is generous because the
// machine is shared, and it is a bound, not a measurement.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
