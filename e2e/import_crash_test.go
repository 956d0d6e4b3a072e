package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"testing"
	"time"
)

// postMultipart sends a multipart body and decodes the JSON answer.
func postMultipart(t *testing.T, url, token, contentType string, body io.Reader, out any) int {
	t.Helper()
	req, err := http.NewRequest("POST", url, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", token)
	req.Header.Set("Content-Type", contentType)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	json.NewDecoder(res.Body).Decode(out)
	return res.StatusCode
}

// An import running when the process is killed resumes from its last
// committed batch after a restart: every row applied once, none lost.
func TestImportSurvivesAKill(t *testing.T) {
	s := StartServer(t, "")
	var setup struct{ Token string }
	if code := call(t, "POST", s.URL+"/api/pregon/setup", "",
		map[string]string{"email": "ana@tienda.mx", "password": "a-long-password-1", "name": "Ana"}, &setup); code != 200 {
		t.Fatalf("setup: %d", code)
	}
	const rows = 60000
	var csv bytes.Buffer
	csv.WriteString("phone,first_name\r\n")
	for i := 0; i < rows; i++ {
		fmt.Fprintf(&csv, "+51 9%08d,Cliente %d\r\n", i, i)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("mode", "add_update")
	mw.WriteField("identifier", "phone")
	fw, _ := mw.CreateFormFile("file", "clientes.csv")
	fw.Write(csv.Bytes())
	mw.Close()
	var imp struct {
		ID       string `json:"id"`
		Status   string `json:"status"`
		RowsRead int    `json:"rows_read"`
		Created  int    `json:"created_count"`
		Rejected int    `json:"rejected_count"`
		Message  string `json:"message"`
	}
	if code := postMultipart(t, s.URL+"/api/pregon/contacts/import", setup.Token, mw.FormDataContentType(), &body, &imp); code != 202 {
		t.Fatalf("upload: %d %s", code, imp.Message)
	}
	id := imp.ID
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the import did not start")
		}
		call(t, "GET", s.URL+"/api/pregon/imports/"+id, setup.Token, nil, &imp)
		if imp.RowsRead > 0 {
			break
		}
	}
	if imp.Status != "running" || imp.RowsRead >= rows {
		t.Skipf("the import finished before the kill (%s, %d rows): nothing to resume", imp.Status, imp.RowsRead)
	}
	t.Logf("killed with %d of %d rows read", imp.RowsRead, rows)
	s.Kill()
	killed := time.Now()

	s = StartServer(t, s.DataDir)
	for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the import did not finish after the restart: %+v\n%s", imp, s.Log())
		}
		call(t, "GET", s.URL+"/api/pregon/imports/"+id, setup.Token, nil, &imp)
		if imp.Status == "done" || imp.Status == "failed" {
			break
		}
	}
	t.Logf("resumed and finished in %s", time.Since(killed).Round(time.Millisecond))
	if imp.Status != "done" || imp.RowsRead != rows || imp.Created != rows || imp.Rejected != 0 {
		t.Fatalf("after the restart: %+v", imp)
	}
	var list struct {
		TotalItems int `json:"totalItems"`
	}
	call(t, "GET", s.URL+"/api/collections/contacts/records?perPage=1", setup.Token, nil, &list)
	if list.TotalItems != rows {
		t.Fatalf("%d contacts for %d rows", list.TotalItems, rows)
	}
	call(t, "GET", s.URL+"/api/collections/contact_identities/records?perPage=1", setup.Token, nil, &list)
	if list.TotalItems != 2*rows {
		t.Fatalf("%d identities for %d rows", list.TotalItems, rows)
	}
}
