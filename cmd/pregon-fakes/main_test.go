package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuf is written by run and read by the test.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var baseURL = regexp.MustCompile(`base_url=(\S+)`)

func TestRunServesAllThree(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuf{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-whatsapp", "127.0.0.1:0", "-telegram", "127.0.0.1:0", "-twilio", "127.0.0.1:0"}, out)
	}()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(out.String(), "control API") {
		if time.Now().After(deadline) {
			t.Fatalf("the fakes did not start: %q", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	urls := baseURL.FindAllStringSubmatch(out.String(), -1)
	if len(urls) != 3 {
		t.Fatalf("want three base URLs, got %q", out.String())
	}
	for _, u := range urls {
		resp, err := http.Get(u[1] + "/_fake/stats")
		if err != nil {
			t.Fatal(err)
		}
		var st map[string]any
		err = json.NewDecoder(resp.Body).Decode(&st)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || st["requests"] == nil {
			t.Fatalf("%s/_fake/stats: %d %v %v", u[1], resp.StatusCode, st, err)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestRefusesNonLoopbackAndBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-whatsapp", "0.0.0.0:9101"},
		{"-twilio", "10.0.0.5:80"},
		{"-telegram", "nohost"},
		{"-whatsapp-window", "sometimes"},
	} {
		if err := run(context.Background(), args, &syncBuf{}); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}
