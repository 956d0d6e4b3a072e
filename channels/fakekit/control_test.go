package fakekit

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestControlAPI(t *testing.T) {
	k := NewKit(nil)
	defer k.Close()
	resets := 0
	mux := http.NewServeMux()
	k.ControlRoutes(mux, func() { resets++; k.ResetTraffic() })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	post := func(path, body string) int {
		resp, err := http.Post(srv.URL+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := post("/_fake/rules", `{"to":"51987654321","outcome":"read","after":"2s"}`); st != 200 {
		t.Fatalf("rules: %d", st)
	}
	if r := k.Rules.For("51987654321"); r.Outcome != Read || r.After != 2*time.Second {
		t.Fatalf("rule not set: %+v", r)
	}
	if st := post("/_fake/inject", `{"count":2,"code":"130429"}`); st != 200 {
		t.Fatalf("inject: %d", st)
	}
	if in, ok := k.Inject.Next(); !ok || in.Code != "130429" {
		t.Fatal("injection not queued")
	}
	if st := post("/_fake/latency", `{"latency":"15ms"}`); st != 200 || k.Latency() != 15*time.Millisecond {
		t.Fatalf("latency: %d %v", st, k.Latency())
	}
	if st := post("/_fake/emitter", `{"duplicate":true,"delay":"1s"}`); st != 200 || !k.Emitter.Options().Duplicate {
		t.Fatalf("emitter: %d", st)
	}
	for path, body := range map[string]string{
		"/_fake/rules":   `{"to":"x","outcome":"explode"}`,
		"/_fake/inject":  `{"count":0,"code":"1"}`,
		"/_fake/latency": `{"latency":"soon"}`,
		"/_fake/log":     `{"unknown":true}`,
	} {
		if st := post(path, body); st != http.StatusBadRequest {
			t.Errorf("%s %s: %d, want 400", path, body, st)
		}
	}
	if st := post("/_fake/reset", `{}`); st != 200 || resets != 1 || k.Latency() != 0 {
		t.Fatalf("reset: %d, resets %d", st, resets)
	}
}
