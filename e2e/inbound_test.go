package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"
)

// call sends a JSON request and decodes a JSON answer into out (if not nil).
func call(t *testing.T, method, url, token string, body any, out any) int {
	t.Helper()
	var r io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: %s (%v)", method, url, raw, err)
		}
	}
	return res.StatusCode
}

// TestSandboxDeliveriesSurviveACrash sends sandbox messages to the real
// binary, kills it with SIGKILL right after the last one was acknowledged,
// and restarts it: every acknowledged message is processed exactly once.
func TestSandboxDeliveriesSurviveACrash(t *testing.T) {
	s := StartServer(t, "")
	var setup struct{ Token string }
	if st := call(t, "POST", s.URL+"/api/pregon/setup", "", map[string]string{
		"email": "duena@tienda.mx", "password": "a-long-password-1", "name": "Dueña"}, &setup); st != 200 {
		t.Fatalf("setup: %d", st)
	}
	var ch struct{ ID string }
	if st := call(t, "POST", s.URL+"/api/collections/channels/records", setup.Token,
		map[string]any{"name": "Teléfono de prueba", "type": "sandbox"}, &ch); st != 200 {
		t.Fatalf("creating the sandbox channel: %d", st)
	}
	const n = 150
	for i := 0; i < n; i++ {
		st := call(t, "POST", s.URL+"/api/pregon/sandbox/"+ch.ID+"/messages", setup.Token, map[string]string{
			"from": fmt.Sprintf("tester-%d", i%10), "text": fmt.Sprintf("mensaje %d", i)}, nil)
		if st != 202 {
			t.Fatalf("message %d: %d", i, st)
		}
	}
	s.Kill()

	s = StartServer(t, s.DataDir)
	deadline := time.Now().Add(60 * time.Second)
	for {
		var list struct {
			TotalItems int `json:"totalItems"`
		}
		call(t, "GET", s.URL+"/api/collections/messages/records?perPage=1&filter="+
			"(direction='in')", setup.Token, nil, &list)
		var contacts struct {
			TotalItems int `json:"totalItems"`
		}
		call(t, "GET", s.URL+"/api/collections/contacts/records?perPage=1", setup.Token, nil, &contacts)
		if list.TotalItems == n && contacts.TotalItems == 10 {
			break
		}
		if list.TotalItems > n || contacts.TotalItems > 10 {
			t.Fatalf("%d messages and %d contacts after the restart: something was applied twice", list.TotalItems, contacts.TotalItems)
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the restart: %d of %d messages, %d of 10 contacts\n%s", list.TotalItems, n, contacts.TotalItems, s.Log())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
