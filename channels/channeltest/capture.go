package channeltest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"pregon/channels"
)

// receiver plays the app's webhook endpoint: it records each request as a
// channels.WebhookRequest and answers through the adapter the way the app
// does (handshake, verify, parse, provider reply).
type receiver struct {
	srv     *httptest.Server
	adapter channels.Adapter

	mu   sync.Mutex
	got  []*channels.WebhookRequest
	more chan struct{}
}

func newReceiver(t *testing.T, a channels.Adapter) *receiver {
	rc := &receiver{adapter: a, more: make(chan struct{}, 1)}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	return rc
}

// URL is the receiver's base URL; any path and query are accepted.
func (rc *receiver) URL() string { return rc.srv.URL }

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	pub, _ := url.Parse("http://" + r.Host + r.URL.RequestURI())
	req := &channels.WebhookRequest{Method: r.Method, PublicURL: pub, Header: r.Header.Clone(), Body: body}
	rc.mu.Lock()
	rc.got = append(rc.got, req)
	rc.mu.Unlock()
	select {
	case rc.more <- struct{}{}:
	default:
	}
	if st, b, ok := rc.adapter.Handshake(req); ok {
		w.WriteHeader(st)
		_, _ = w.Write(b)
		return
	}
	if err := rc.adapter.Verify(req); err != nil {
		w.WriteHeader(channels.Classify(err).HTTPStatus)
		return
	}
	batch, err := rc.adapter.Parse(req)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if batch.Reply != nil {
		w.Header().Set("Content-Type", batch.ReplyContentType)
		_, _ = w.Write(batch.Reply)
	}
}

// waitFor returns the first n requests received, failing the test if they
// do not come. The deadline only stops a broken run from hanging; nothing
// is asserted about time.
func (rc *receiver) waitFor(t *testing.T, n int) []*channels.WebhookRequest {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		rc.mu.Lock()
		if len(rc.got) >= n {
			out := append([]*channels.WebhookRequest(nil), rc.got[:n]...)
			rc.mu.Unlock()
			return out
		}
		have := len(rc.got)
		rc.mu.Unlock()
		select {
		case <-rc.more:
		case <-deadline:
			t.Fatalf("received %d webhooks, want %d", have, n)
		}
	}
}

// clone copies a request so a test can spoil it.
func clone(r *channels.WebhookRequest) *channels.WebhookRequest {
	c := *r
	c.Header = r.Header.Clone()
	c.Body = append([]byte(nil), r.Body...)
	if r.PublicURL != nil {
		u := *r.PublicURL
		c.PublicURL = &u
	}
	return &c
}
