package contactcsv

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"pregon/contacts"
	"pregon/csvfile"
	"pregon/csvsafe"
)

func TestParseHeaderAliasesIgnoredAndErrors(t *testing.T) {
	defs := contacts.FieldDefs{"puntos": {Key: "puntos", Type: contacts.FieldNumber}}
	h, err := ParseHeader([]string{"\uFEFFContact ID", "First Name", "PHONE", "field:Puntos", "notes", "", "created"}, defs, ByID)
	if err != nil {
		t.Fatal(err)
	}
	if h.idx[colID] != 0 || h.idx[colFirstName] != 1 || h.idx[colPhone] != 2 || len(h.fields) != 1 || h.fields[0].idx != 3 {
		t.Fatalf("mapping %+v", h)
	}
	if !reflect.DeepEqual(h.Ignored, []string{"notes", "created"}) {
		t.Fatalf("ignored %q", h.Ignored)
	}
	// The id column only counts when importing by id.
	h, _ = ParseHeader([]string{"id", "phone"}, defs, ByPhone)
	if h.idx[colID] != -1 || !reflect.DeepEqual(h.Ignored, []string{"id"}) {
		t.Fatalf("by phone: %+v", h)
	}
	for _, c := range []struct {
		row   []string
		ident Identifier
		want  string
	}{
		{[]string{"phone", "email"}, ByID, `no "id" column`},
		{[]string{"phone", " Phone "}, ByPhone, "appears twice"},
		{[]string{"email", "field:nivel", "field:zona"}, ByEmail, `"nivel", "zona"; create the custom field first`},
	} {
		_, err := ParseHeader(c.row, defs, c.ident)
		var ie *InputError
		if !errors.As(err, &ie) || !strings.Contains(ie.Msg, c.want) {
			t.Errorf("%q: %v, want %q", c.row, err, c.want)
		}
	}
}

func TestOptInValues(t *testing.T) {
	for v, want := range map[string]int{"yes": consentIn, "Sí": consentIn, "x": consentIn, "no": consentOut, "NO": consentOut, "2024-03-15": consentIn, "15/03/2024": consentIn} {
		got, _, err := optIn(v)
		if err != nil || got != want {
			t.Errorf("optIn(%q) = %d, %v", v, got, err)
		}
	}
	if _, at, _ := optIn("15/03/2024"); !at.Equal(time.Date(2024, 3, 15, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("date %q", at)
	}
	for _, v := range []string{"maybe", "2999-01-01"} {
		if _, _, err := optIn(v); err == nil {
			t.Errorf("optIn(%q) accepted", v)
		}
	}
}

func TestIDsGrowAndLookLikePocketBaseIDs(t *testing.T) {
	s := newIDSeq(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	prev := ""
	for i := 0; i < 2000; i++ {
		id := s.next()
		if !contactID.MatchString(id) || id <= prev {
			t.Fatalf("id %q after %q", id, prev)
		}
		prev = id
	}
	if later := newIDSeq(time.Date(2026, 1, 2, 3, 4, 6, 0, time.UTC)).next(); later <= prev {
		t.Fatalf("a later import's ids must sort after: %q <= %q", later, prev)
	}
}

func TestExportIdentitiesOptInCell(t *testing.T) {
	row := func(parts ...string) string { return strings.Join(parts, "\x1f") }
	cases := []struct {
		raw, optIn, whatsapp, telegram string
	}{
		{row("sms", "+52", "1", "opted_in", "2024-03-15 10:00:00.000Z") + "\x1e" + row("whatsapp", "+52", "1", "opted_in", "2024-01-01 00:00:00.000Z"), "2024-01-01", "", ""},
		{row("sms", "+52", "1", "opted_out", "") + "\x1e" + row("whatsapp", "+51", "0", "opted_out", ""), "no", "+51", ""},
		{row("sms", "+52", "1", "opted_in", "") + "\x1e" + row("telegram", "123", "0", "", ""), "", "", "123"},
		{"", "", "", ""},
	}
	for _, c := range cases {
		out := make([]string, numCols)
		if got := exportIdentities(out, c.raw); got != c.optIn || out[colWhatsApp] != csvsafe.Escape(c.whatsapp) || out[colTelegram] != c.telegram {
			t.Errorf("%q: opt_in %q whatsapp %q telegram %q", c.raw, got, out[colWhatsApp], out[colTelegram])
		}
	}
}

func TestParseRequestDefaults(t *testing.T) {
	r, err := ParseRequest(" add_only ", "email", "VIP, lima|vip", "", "", "clientes.csv")
	if err != nil || r.Mode != AddOnly || !reflect.DeepEqual(r.Tags, []string{"vip", "lima"}) || r.ConsentSource != "import:clientes.csv" {
		t.Fatalf("%+v %v", r, err)
	}
}

func TestFlatObjectMatchesEncodingJSON(t *testing.T) {
	for _, raw := range []string{
		`{"a":"x","n":-12.5,"b":true,"f":false,"z":null,"big":1000000}`, `{"k":"a,b:c"}`, `{}`,
	} {
		got, ok := flatObject(raw)
		if !ok {
			t.Fatalf("%s: not read", raw)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(raw), &m); err != nil {
			t.Fatal(err)
		}
		for k, v := range m {
			if got[k] != fieldText(v) {
				t.Errorf("%s: %s = %q, encoding/json says %q", raw, k, got[k], fieldText(v))
			}
		}
	}
	for _, raw := range []string{`{"a":"say \"hi\""}`, `{"a":{"b":1}}`, `{"a":[1]}`, `{"a":1`, `{"a" 1}`, `{"a":nope}`} {
		if _, ok := flatObject(raw); ok {
			t.Errorf("%s: read, should fall back", raw)
		}
	}
}

func TestScientificPhonesAreExplained(t *testing.T) {
	n := &normalizer{region: "MX", ident: ByPhone, mode: AddUpdate}
	n.h, _ = ParseHeader([]string{"phone"}, nil, ByPhone)
	r := n.normalize(csvfile.Record{Line: 2, Fields: []string{"5.21551E+12"}})
	if !strings.Contains(r.reject, "format the column as Text") {
		t.Fatalf("reject %q", r.reject)
	}
}
