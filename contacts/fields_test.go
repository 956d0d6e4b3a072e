package contacts

import (
	"strings"
	"testing"
)

func TestCoerceByType(t *testing.T) {
	defs := FieldDefs{
		"city":     {Key: "city", Type: FieldText},
		"points":   {Key: "points", Type: FieldNumber},
		"birthday": {Key: "birthday", Type: FieldDate},
		"vip":      {Key: "vip", Type: FieldBoolean},
		"level":    {Key: "level", Type: FieldList, Options: []string{"Gold", "Silver"}},
		"work":     {Key: "work", Type: FieldEmail},
		"office":   {Key: "office", Type: FieldPhone},
		"site":     {Key: "site", Type: FieldURL},
	}
	ok := []struct {
		key  string
		in   any
		want any
	}{
		{"city", " Lima ", "Lima"},
		{"points", 120.0, 120.0},
		{"points", "12,5", 12.5},
		{"points", "1234.75", 1234.75},
		{"birthday", "31/03/1990", "1990-03-31"},
		{"birthday", "1990-03-31", "1990-03-31"},
		{"vip", "sí", true},
		{"vip", false, false},
		{"level", "gold", "Gold"},
		{"work", " Ana@Tienda.MX ", "ana@tienda.mx"},
		{"office", "55 1234 5678", "+525512345678"},
		{"site", "https://tienda.mx/ana", "https://tienda.mx/ana"},
		{"city", "", nil},
		{"points", nil, nil},
	}
	for _, c := range ok {
		got, err := defs[c.key].Coerce(c.in, "MX")
		if err != nil || got != c.want {
			t.Errorf("%s.Coerce(%#v) = %#v, %v; want %#v", c.key, c.in, got, err, c.want)
		}
	}
	bad := []struct {
		key string
		in  any
	}{
		{"city", 12.0}, {"points", "doce"}, {"points", "1.234,5"}, {"points", true},
		{"birthday", "03/31/1990"}, {"birthday", "ayer"}, {"vip", "maybe"}, {"level", "Bronze"},
		{"work", "ana@"}, {"office", "123"}, {"site", "javascript:alert(1)"}, {"city", strings.Repeat("x", MaxFieldText+1)},
	}
	for _, c := range bad {
		_, err := defs[c.key].Coerce(c.in, "MX")
		if err == nil {
			t.Errorf("%s.Coerce(%#v) accepted bad input", c.key, c.in)
		} else if !strings.Contains(err.Error(), c.key) {
			t.Errorf("%s.Coerce error does not name the field: %v", c.key, err)
		}
	}
}

func TestValidateRejectsUnknownKeysAndDropsEmpty(t *testing.T) {
	defs := FieldDefs{"city": {Key: "city", Type: FieldText}}
	out, err := defs.Validate(map[string]any{"city": ""}, "MX")
	if err != nil || len(out) != 0 {
		t.Fatalf("empty value should drop the key: %v %v", out, err)
	}
	_, err = defs.Validate(map[string]any{"ciudad": "Lima"}, "MX")
	if err == nil || !strings.Contains(err.Error(), `"ciudad"`) || !strings.Contains(err.Error(), "city") {
		t.Fatalf("unknown key error should name it and list known keys: %v", err)
	}
	// A new workspace has no definitions: say so instead of "(known: )".
	_, err = FieldDefs{}.Validate(map[string]any{"points": "12,5"}, "MX")
	if err == nil || !strings.Contains(err.Error(), `"points"`) || !strings.Contains(err.Error(), "none is defined yet") {
		t.Fatalf("unknown key with no definitions should say none is defined: %v", err)
	}
}

func TestNormalizeTags(t *testing.T) {
	got, err := NormalizeTags([]string{" Cliente  VIP ", "cliente vip", "Lima", "lima"})
	if err != nil || strings.Join(got, "|") != "cliente vip|lima" {
		t.Fatalf("NormalizeTags = %v, %v", got, err)
	}
	for _, bad := range []string{"", "   ", "a,b", strings.Repeat("x", MaxTagLen+1)} {
		if _, err := NormalizeTag(bad); err == nil {
			t.Errorf("NormalizeTag(%q) accepted", bad)
		}
	}
	if got := SplitTags("vip, lima|;  ,nuevo"); strings.Join(got, "|") != "vip| lima|nuevo" {
		t.Fatalf("SplitTags = %q", got)
	}
}

func TestAttributes(t *testing.T) {
	if c, err := NormalizeCountry(" mx "); err != nil || c != "MX" {
		t.Errorf("country: %q %v", c, err)
	}
	if _, err := NormalizeCountry("México"); err == nil {
		t.Error("country name accepted as code")
	}
	if l, err := NormalizeLanguage("es_mx"); err != nil || l != "es-MX" {
		t.Errorf("language: %q %v", l, err)
	}
	if _, err := NormalizeLanguage("español"); err == nil {
		t.Error("language name accepted as code")
	}
	if z, err := NormalizeTimezone("America/Lima"); err != nil || z != "America/Lima" {
		t.Errorf("timezone: %q %v", z, err)
	}
	for _, bad := range []string{"Lima", "Local", "../etc/passwd", ""} {
		if _, err := NormalizeTimezone(bad); err == nil {
			t.Errorf("timezone %q accepted", bad)
		}
	}
}
