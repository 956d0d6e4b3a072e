package contactcsv

import (
	"encoding/json"
	"testing"
	"time"

	"pregon/contacts"
)

// The writer completes the event the worker encoded: the result must be
// the encoding of the whole payload, whichever lists are empty.
func TestEventPayloadIsTheWholeEncoding(t *testing.T) {
	ana := contacts.IdentityFact{Identity: "i1", Kind: "sms", Identifier: "+525511112222", FromPhone: true}
	wa := contacts.IdentityFact{Identity: "i2", Kind: "whatsapp", Identifier: "+51987654321"}
	prev := &contacts.Consent{Status: "opted_out", At: time.Date(2024, 3, 15, 0, 0, 0, 0, time.UTC), Source: "sms \"BAJA\"", Wording: "BAJA"}
	consent := contacts.ConsentFact{IdentityFact: ana, From: "opted_out", To: "opted_in", At: "2026-11-21T07:00:00Z", Source: "import:a.csv", Wording: "Sí <acepto>", Previous: prev}
	heads := []contacts.Imported{
		{Line: 2, Action: "created"},
		contacts.NewImported(7, contacts.Compare(nil, contacts.Contact{FirstName: "Zoë", Phone: "+525511112222", Tags: []string{"vip"},
			Fields: map[string]any{"puntos": 12.5, "plan": "oro"}})),
	}
	facts := []contacts.Imported{
		{},
		{IdentitiesAdded: []contacts.IdentityFact{ana, wa}},
		{IdentitiesRemoved: []contacts.IdentityFact{wa}, IdentitiesAdded: []contacts.IdentityFact{ana}, ConsentChanged: []contacts.ConsentFact{consent}},
		{ConsentChanged: []contacts.ConsentFact{consent}},
	}
	for _, h := range heads {
		head, _ := json.Marshal(h)
		for _, f := range facts {
			whole := h
			whole.IdentitiesRemoved, whole.IdentitiesAdded, whole.ConsentChanged = f.IdentitiesRemoved, f.IdentitiesAdded, f.ConsentChanged
			want, _ := json.Marshal(whole)
			if got := eventPayload(head, &f); string(got) != string(want) {
				t.Errorf("got  %s\nwant %s", got, want)
			}
		}
	}
}
