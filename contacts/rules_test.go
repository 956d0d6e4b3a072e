package contacts

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestNormalizeContact(t *testing.T) {
	defs := FieldDefs{"points": {Key: "points", Type: FieldNumber}}
	c := Contact{FirstName: "  Ana ", Email: " Ana@Tienda.MX", Phone: "55 1234 5678", Language: "ES_mx", Country: "mx",
		Timezone: "America/Mexico_City", Tags: []string{"VIP", " vip "}, Fields: map[string]any{"points": "12,5"}}
	if fe := Normalize(&c, defs, "MX"); len(fe) != 0 {
		t.Fatalf("errors: %v", fe)
	}
	if c.FirstName != "Ana" || c.Email != "ana@tienda.mx" || c.Phone != "+525512345678" || c.Language != "es-MX" ||
		c.Country != "MX" || strings.Join(c.Tags, ",") != "vip" || c.Fields["points"] != 12.5 {
		t.Fatalf("not normalized: %+v", c)
	}

	bad := Contact{Email: "x@", Phone: "12", Language: "español", Country: "Perú", Timezone: "Lima",
		Tags: []string{"a,b"}, Fields: map[string]any{"points": "doce"}}
	fe := Normalize(&bad, defs, "MX")
	if got := strings.Join(fe.Fields(), ","); got != "country,email,fields,language,phone,tags,timezone" {
		t.Fatalf("error fields = %s", got)
	}
	if !strings.Contains(fe["fields"], `custom field "points" (number): "doce" is not a number`) {
		t.Fatalf("fields error = %s", fe["fields"])
	}
}

func TestNormalizeIdentifier(t *testing.T) {
	ok := []struct{ kind, in, want string }{
		{KindWhatsApp, "US.13491208655302741918", "US.13491208655302741918"},
		{KindWhatsApp, "55 1234 5678", "+525512345678"},
		{KindSMS, "+1 650 253 0000", "+16502530000"},
		{KindTelegram, "-100123", "-100123"},
		{KindTelegram, "0042", "42"},
		{KindEmail, " Ana@Tienda.MX ", "ana@tienda.mx"},
		{KindMessenger, " 24681357 ", "24681357"},
		{KindWebChat, "v_9f8e7d", "v_9f8e7d"},
		{KindSandbox, "tester-1", "tester-1"},
	}
	for _, c := range ok {
		got, err := NormalizeIdentifier(c.kind, c.in, "MX")
		if err != nil || got != c.want {
			t.Errorf("NormalizeIdentifier(%s, %q) = %q, %v; want %q", c.kind, c.in, got, err, c.want)
		}
	}
	bad := []struct{ kind, in string }{
		{KindWhatsApp, "us.1234"}, {KindWhatsApp, "US."}, {KindSMS, "US.1234"}, {KindTelegram, "@ana"},
		{KindTelegram, "0"}, {KindTelegram, "99999999999999999999999"}, {KindEmail, "ana"}, {KindWebChat, ""},
		{KindMessenger, "a\nb"}, {"fax", "123"}, {KindSandbox, strings.Repeat("x", MaxIdentifierLen+1)},
	}
	for _, c := range bad {
		if got, err := NormalizeIdentifier(c.kind, c.in, "MX"); err == nil {
			t.Errorf("NormalizeIdentifier(%s, %q) accepted as %q", c.kind, c.in, got)
		}
	}
}

func TestPlanPhoneIdentities(t *testing.T) {
	const p1, p2 = "+525512345678", "+525500001111"
	fp := func(id, kind, ident string) Identity {
		return Identity{ID: id, Contact: "c1", Kind: kind, Identifier: ident, FromPhone: true}
	}
	summary := func(p PhonePlan) string {
		var s []string
		for _, x := range p.Create {
			s = append(s, "+"+x.Kind+":"+x.Identifier)
		}
		for _, x := range p.Move {
			s = append(s, "~"+x.ID+":"+x.Identifier)
		}
		for _, x := range p.Delete {
			s = append(s, "-"+x.ID)
		}
		return strings.Join(s, " ")
	}
	cases := []struct {
		name, contact, phone string
		ids                  []Identity
		want                 string
	}{
		{"new contact gets both", "", p1, nil, "+sms:" + p1 + " +whatsapp:" + p1},
		{"phone change moves", "c1", p2, []Identity{fp("s", "sms", p1), fp("w", "whatsapp", p1)}, "~s:" + p2 + " ~w:" + p2},
		{"clearing removes", "c1", "", []Identity{fp("s", "sms", p1), fp("w", "whatsapp", p1)}, "-s -w"},
		{"unchanged is a no-op", "c1", p1, []Identity{fp("s", "sms", p1), fp("w", "whatsapp", p1)}, ""},
		{"explicit whatsapp with another number wins", "c1", p1,
			[]Identity{{ID: "w", Contact: "c1", Kind: "whatsapp", Identifier: "US.1234"}}, "+sms:" + p1},
		{"a phone already the contact's own identity absorbs the old one", "c1", p2,
			[]Identity{fp("s", "sms", p1), {ID: "s2", Contact: "c1", Kind: "sms", Identifier: p2}}, "+whatsapp:" + p2 + " -s"},
		{"other kinds are left alone", "c1", p1, []Identity{{ID: "t", Contact: "c1", Kind: "telegram", Identifier: "1"}},
			"+sms:" + p1 + " +whatsapp:" + p1},
	}
	for _, c := range cases {
		plan, err := PlanPhoneIdentities(c.contact, c.phone, c.ids)
		if err != nil || summary(plan) != c.want {
			t.Errorf("%s: plan = %q, %v; want %q", c.name, summary(plan), err, c.want)
		}
	}
	_, err := PlanPhoneIdentities("c1", p1, []Identity{{ID: "x", Contact: "c2", Kind: "whatsapp", Identifier: p1}})
	if err == nil || !strings.Contains(err.Error(), "c2") || !strings.Contains(err.Error(), p1) {
		t.Fatalf("conflict = %v", err)
	}
	if _, err := PlanPhoneIdentities("", p1, []Identity{{ID: "x", Contact: "c2", Kind: "sms", Identifier: p1}}); err == nil {
		t.Fatal("a new contact took another contact's number")
	}
}

func TestApplyConsentRules(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	earlier := now.Add(-48 * time.Hour)
	optedIn := Consent{Status: ConsentOptedIn, At: earlier, Source: "web form", Wording: "Acepto"}

	got, changed, fe := ApplyConsentRules(Consent{}, Consent{Status: ConsentOptedIn, Source: " web form "}, now)
	if len(fe) > 0 || !changed || !got.At.Equal(now) || got.Source != "web form" {
		t.Fatalf("opt-in: %+v %v %v", got, changed, fe)
	}
	if _, _, fe := ApplyConsentRules(Consent{}, Consent{Status: ConsentOptedIn}, now); fe["consent_source"] == "" {
		t.Fatal("opt-in without source accepted")
	}
	got, changed, fe = ApplyConsentRules(optedIn, Consent{Status: ConsentOptedOut, At: earlier, Source: "web form", Wording: "Acepto"}, now)
	if len(fe) > 0 || !changed || got.Source != "" || got.Wording != "" || !got.At.Equal(now) {
		t.Fatalf("opt-out inherited evidence or time: %+v %v", got, fe)
	}
	if _, changed, fe := ApplyConsentRules(optedIn, optedIn, now); changed || len(fe) > 0 {
		t.Fatal("an unchanged consent counted as a decision")
	}
	got, changed, _ = ApplyConsentRules(optedIn, Consent{Status: ConsentOptedIn, At: earlier, Source: "WhatsApp ALTA", Wording: "Acepto"}, now)
	if !changed || !got.At.Equal(now) || got.Wording != "Acepto" {
		t.Fatalf("new evidence for the same decision: %+v %v", got, changed)
	}
	historic := now.Add(-24 * 365 * time.Hour)
	if got, _, _ := ApplyConsentRules(Consent{}, Consent{Status: ConsentOptedIn, Source: "paper form", At: historic}, now); !got.At.Equal(historic) {
		t.Fatalf("an explicit time was replaced: %v", got.At)
	}
	for name, c := range map[string]struct {
		before, after Consent
		field         string
	}{
		"clearing":      {optedIn, Consent{}, "consent"},
		"evidence only": {Consent{}, Consent{Source: "x"}, "consent"},
		"bad status":    {Consent{}, Consent{Status: "yes"}, "consent"},
		"future":        {Consent{}, Consent{Status: ConsentOptedOut, At: now.Add(time.Hour)}, "consent_at"},
		"long source":   {Consent{}, Consent{Status: ConsentOptedIn, Source: strings.Repeat("x", MaxConsentSource+1)}, "consent_source"},
	} {
		if _, _, fe := ApplyConsentRules(c.before, c.after, now); fe[c.field] == "" {
			t.Errorf("%s: want an error on %s, got %v", name, c.field, fe)
		}
	}
}

func TestChangeEventsOfANewContact(t *testing.T) {
	evs := ChangeEvents(nil, Contact{ID: "c1", FirstName: "Ana", Tags: []string{"vip"}, Fields: map[string]any{"points": 3.0}, Assignee: "u1"}, "user:u9")
	var got []string
	for _, e := range evs {
		b, _ := json.Marshal(e.Payload)
		got = append(got, e.Type+string(b))
		if e.Contact != "c1" || e.Actor != "user:u9" {
			t.Fatalf("event %+v", e)
		}
	}
	want := `contact.created{"first_name":"Ana"} tag.added{"tag":"vip"} field.changed{"from":null,"key":"points","to":3} contact.assigned{"from":"","to":"u1"}`
	if strings.Join(got, " ") != want {
		t.Fatalf("events:\n%s\nwant\n%s", strings.Join(got, " "), want)
	}
}

func TestMergeContacts(t *testing.T) {
	s := Contact{ID: "s", FirstName: "Ana", Phone: "+525512345678", Tags: []string{"vip"}, Fields: map[string]any{"points": 10.0, "city": ""}}
	o := Contact{ID: "o", FirstName: "Anita", LastName: "Pérez", Email: "ana@x.mx", Tags: []string{"nuevo", "vip"},
		Fields: map[string]any{"points": 99.0, "city": "Lima"}, Assignee: "u1"}
	m, out := MergeContacts(s, o)
	if m.FirstName != "Ana" || m.LastName != "Pérez" || m.Email != "ana@x.mx" || strings.Join(m.Tags, ",") != "vip,nuevo" ||
		m.Fields["points"] != 10.0 || m.Fields["city"] != "Lima" || m.Assignee != "u1" {
		t.Fatalf("merged = %+v", m)
	}
	if strings.Join(out.Attributes, ",") != "last_name,email" || strings.Join(out.Tags, ",") != "nuevo" ||
		strings.Join(out.Fields, ",") != "city" || out.Assignee != "u1" || out.OtherData["first_name"] != "Anita" {
		t.Fatalf("outcome = %+v", out)
	}
	if len(s.Tags) != 1 {
		t.Fatal("MergeContacts modified the survivor's tags")
	}
}

func TestFieldDefinitionChanges(t *testing.T) {
	d := FieldDef{Key: "level", Type: FieldList, Options: []string{" Gold ", "Silver"}}
	if fe := CheckFieldDef(&d); len(fe) > 0 || d.Options[0] != "Gold" {
		t.Fatalf("CheckFieldDef: %v %v", fe, d.Options)
	}
	for _, bad := range []FieldDef{
		{Key: "level", Type: FieldList},
		{Key: "level", Type: FieldList, Options: []string{"Gold", "gold"}},
		{Key: "level", Type: FieldList, Options: []string{" "}},
		{Key: "points", Type: FieldNumber, Options: []string{"1"}},
	} {
		if fe := CheckFieldDef(&bad); fe["options"] == "" {
			t.Errorf("CheckFieldDef(%+v) accepted", bad)
		}
	}

	held := []FieldValue{{Contact: "a", Raw: json.RawMessage(`"12"`)}, {Contact: "b", Raw: json.RawMessage(`"7,5"`)}}
	rw, err := PlanFieldConversion(held, FieldDef{Key: "points", Type: FieldNumber}, "MX")
	if err != nil || len(rw) != 2 || rw[0].To != 12.0 || rw[1].To != 7.5 {
		t.Fatalf("text to number: %+v %v", rw, err)
	}
	rw, err = PlanFieldConversion([]FieldValue{{Contact: "a", Raw: json.RawMessage(`12`)}, {Contact: "b", Raw: json.RawMessage(`true`)}},
		FieldDef{Key: "note", Type: FieldText}, "MX")
	if err != nil || rw[0].To != "12" || rw[1].To != "true" {
		t.Fatalf("to text: %+v %v", rw, err)
	}
	_, err = PlanFieldConversion(append(held, FieldValue{Contact: "c", Raw: json.RawMessage(`"doce"`)}), FieldDef{Key: "points", Type: FieldNumber}, "MX")
	if err == nil || !strings.Contains(err.Error(), `1 of the 3 contacts`) || !strings.Contains(err.Error(), `contact c has "doce"`) {
		t.Fatalf("unconvertible values: %v", err)
	}
	rw, err = PlanFieldConversion([]FieldValue{{Contact: "a", Raw: json.RawMessage(`"Gold"`)}}, FieldDef{Key: "level", Type: FieldList, Options: []string{"Gold"}}, "MX")
	if err != nil || len(rw) != 0 {
		t.Fatalf("an unchanged value is not a rewrite: %+v %v", rw, err)
	}
}

func FuzzNormalizeIdentifier(f *testing.F) {
	for _, k := range Kinds {
		f.Add(k, "+52 55 1234 5678")
	}
	f.Add(KindWhatsApp, "US.13491208655302741918")
	f.Add(KindTelegram, "-100123")
	f.Add(KindEmail, "Ana@Tienda.MX")
	f.Add(KindMessenger, "\x00")
	f.Fuzz(func(t *testing.T, kind, raw string) {
		out, err := NormalizeIdentifier(kind, raw, "MX")
		if err != nil {
			return
		}
		if out == "" || len([]rune(out)) > MaxIdentifierLen {
			t.Fatalf("NormalizeIdentifier(%q, %q) = %q", kind, raw, out)
		}
		if kind == KindSMS && !e164.MatchString(out) {
			t.Fatalf("sms identifier %q is not E.164", out)
		}
		again, err := NormalizeIdentifier(kind, out, "MX")
		if err != nil || again != out {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", raw, out, again, err)
		}
	})
}
