package e2e

import (
	"encoding/json"
	"errors"
	"net/url"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// A newcomer's first minutes: `pregon demo` on an empty dir, then `pregon
// serve`, sign in with a printed password and find a living workspace.
func TestDemoThenServe(t *testing.T) {
	dir := t.TempDir()
	out, err := exec.Command(binary, "demo", "--dir="+dir, "--contacts=60").CombinedOutput()
	if err != nil {
		t.Fatalf("pregon demo: %v\n%s", err, out)
	}
	accounts := map[string][2]string{}
	for _, m := range regexp.MustCompile(`(?m)^\s+(owner|manager|agent)\s+(\S+@\S+)\s+(\S+)$`).FindAllStringSubmatch(string(out), -1) {
		accounts[m[1]] = [2]string{m[2], m[3]}
	}
	if len(accounts) != 3 || !strings.Contains(string(out), "60 contacts") {
		t.Fatalf("demo output:\n%s", out)
	}

	// A second run refuses, with a failing exit status.
	out, err = exec.Command(binary, "demo", "--dir="+dir).CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(string(out), "already holds a workspace") {
		t.Fatalf("rerun: %v\n%s", err, out)
	}

	s := StartServer(t, dir)
	login := func(role string) string {
		body := `{"identity":"` + accounts[role][0] + `","password":"` + accounts[role][1] + `"}`
		var res struct {
			Token  string
			Record struct{ ID string }
		}
		demoCall(t, "POST", s.URL+"/api/collections/users/auth-with-password", "", body, &res)
		if res.Token == "" {
			t.Fatalf("%s cannot sign in with the printed password", role)
		}
		return res.Token
	}
	owner, agent := login("owner"), login("agent")

	var page struct {
		TotalItems int `json:"totalItems"`
		Items      []struct {
			ID       string `json:"id"`
			Phone    string `json:"phone"`
			Assignee string `json:"assignee"`
		} `json:"items"`
	}
	demoCall(t, "GET", s.URL+"/api/collections/contacts/records?perPage=100", owner, "", &page)
	if page.TotalItems != 60 || !strings.HasPrefix(page.Items[0].Phone, "+") {
		t.Fatalf("owner sees %d contacts, first phone %q", page.TotalItems, page.Items[0].Phone)
	}
	var timeline struct {
		Items []struct{ Type string } `json:"items"`
	}
	demoCall(t, "GET", s.URL+"/api/pregon/contacts/"+page.Items[0].ID+"/timeline", owner, "", &timeline)
	if len(timeline.Items) == 0 || timeline.Items[len(timeline.Items)-1].Type != "contact.created" {
		t.Fatalf("timeline = %+v", timeline.Items)
	}

	// The agent sees exactly the contacts assigned to them.
	var me struct {
		Items []struct{ ID string } `json:"items"`
	}
	demoCall(t, "GET", s.URL+"/api/collections/users/records?filter="+url.QueryEscape(`role="agent"`), owner, "", &me)
	assigned := 0
	for _, c := range page.Items {
		if c.Assignee == me.Items[0].ID {
			assigned++
		}
	}
	var agentPage struct {
		TotalItems int `json:"totalItems"`
	}
	demoCall(t, "GET", s.URL+"/api/collections/contacts/records", agent, "", &agentPage)
	if assigned == 0 || agentPage.TotalItems != assigned {
		t.Fatalf("agent sees %d contacts, %d are assigned to them", agentPage.TotalItems, assigned)
	}
}

func demoCall(t *testing.T, method, u, token, body string, into any) {
	t.Helper()
	var b any
	if body != "" {
		b = json.RawMessage(body)
	}
	if st := call(t, method, u, token, b, into); st != 200 {
		t.Fatalf("%s %s: %d", method, u, st)
	}
}

// The first start prints how to create a superuser, never a live token:
// PocketBase's installer link (/_/#/pbinstal/<token>) would land in Docker
// logs. Once a superuser exists the hint is gone.
func TestFirstStartPrintsNoSuperuserToken(t *testing.T) {
	dir := t.TempDir()
	s := StartServer(t, dir)
	s.Stop(t) // PocketBase would print its link from a goroutine after listening: read the whole run's output
	log := s.Log()
	if strings.Contains(log, "pbinstal") || !strings.Contains(log, "superuser upsert EMAIL PASSWORD") {
		t.Fatalf("first start output:\n%s", log)
	}
	if out, err := exec.Command(binary, "superuser", "upsert", "root@tienda.mx", "a-long-password-1", "--dir="+dir).CombinedOutput(); err != nil {
		t.Fatalf("superuser upsert: %v\n%s", err, out)
	}
	s = StartServer(t, dir)
	s.Stop(t)
	if log := s.Log(); strings.Contains(log, "superuser upsert") || strings.Contains(log, "pbinstal") {
		t.Fatalf("with a superuser the hint must be gone:\n%s", log)
	}
}
