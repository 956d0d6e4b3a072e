package contacts

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// A contact.imported payload stands for the granular events of the same
// write: Events lists them with the hooks' payloads.
func TestImportedStandsForTheGranularEvents(t *testing.T) {
	before := Contact{ID: "c1", FirstName: "Ana", Phone: "+525511112222", Tags: []string{"vip"}, Fields: map[string]any{"points": 3.0}}
	after := before
	after.FirstName, after.Tags, after.Fields = "Ana María", []string{"vip", "lima"}, map[string]any{"points": 4.0, "city": "Lima"}
	p := NewImported(12, Compare(&before, after))
	sms := IdentityFact{Identity: "i1", Kind: KindSMS, Identifier: "+51987654321", FromPhone: true}
	p.IdentitiesRemoved = []IdentityFact{{Identity: "i1", Kind: KindSMS, Identifier: "+525511112222", FromPhone: true}}
	p.IdentitiesAdded = []IdentityFact{sms}
	prev := Consent{Status: ConsentOptedOut, At: time.Date(2024, 3, 15, 0, 0, 0, 0, time.UTC), Source: "BAJA", Wording: "BAJA"}
	p.ConsentChanged = []ConsentFact{{IdentityFact: sms, From: ConsentOptedOut, To: ConsentOptedIn, At: "2026-11-21T07:00:00Z",
		Source: "import:a.csv", Wording: "Opt-in", Previous: &prev}}

	raw, _ := json.Marshal(p)
	if !strings.HasPrefix(string(raw), `{"line":12,"action":"updated","changes":{"first_name":{"from":"Ana","to":"Ana María"}},"tags_added":["lima"],`) ||
		strings.Contains(string(raw), `"attributes"`) {
		t.Fatalf("payload %s", raw)
	}
	var back Imported
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range back.Events("c1", "import:x") {
		b, _ := json.Marshal(e.Payload)
		got = append(got, e.Type+" "+e.Subject+" "+string(b))
		if e.Contact != "c1" || e.Actor != "import:x" {
			t.Fatalf("event %+v", e)
		}
	}
	want := []string{
		`contact.updated  {"changes":{"first_name":{"from":"Ana","to":"Ana María"}}}`,
		`tag.added  {"tag":"lima"}`,
		`field.changed  {"from":null,"key":"city","to":"Lima"}`,
		`field.changed  {"from":3,"key":"points","to":4}`,
		`identity.removed i1 {"from_phone":true,"identifier":"+525511112222","identity":"i1","kind":"sms"}`,
		`identity.added i1 {"from_phone":true,"identifier":"+51987654321","identity":"i1","kind":"sms"}`,
		`consent.changed i1 {"at":"2026-11-21T07:00:00Z","from":"opted_out","from_phone":true,"identifier":"+51987654321","identity":"i1","kind":"sms",` +
			`"previous":{"status":"opted_out","at":"2024-03-15T00:00:00Z","source":"BAJA","wording":"BAJA"},"source":"import:a.csv","to":"opted_in","wording":"Opt-in"}`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	created := NewImported(2, Compare(nil, Contact{ID: "c2", Email: "a@b.mx"}))
	evs := created.Events("c2", "import:x")
	if len(evs) != 1 || evs[0].Type != EventContactCreated || created.Action != ImportCreated {
		t.Fatalf("created: %+v", evs)
	}
}
