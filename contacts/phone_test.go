package contacts

import (
	"regexp"
	"strings"
	"testing"
)

func TestNormalizePhone(t *testing.T) {
	cases := []struct{ raw, region, want string }{
		{"+52 55 1234 5678", "MX", "+525512345678"},
		{"55 1234 5678", "MX", "+525512345678"},
		{"0052 55 1234 5678", "US", "+525512345678"},
		{"'+51 987 654 321", "MX", "+51987654321"},
		{"987654321", "PE", "+51987654321"},
		{"(011) 4321-5678", "AR", "+541143215678"},
		{"+91 98765 43210", "MX", "+919876543210"},
		{"98765 43210", "IN", "+919876543210"},
		{"tel:+1-650-253-0000", "MX", "+16502530000"},
		{"＋５２ ５５ １２３４ ５６７８", "MX", "+525512345678"}, // full-width
		{"+९१ ९८७६५ ४३२१०", "IN", "+919876543210"},  // Devanagari
	}
	for _, c := range cases {
		got, err := NormalizePhone(c.raw, c.region)
		if err != nil || got != c.want {
			t.Errorf("NormalizePhone(%q, %s) = %q, %v; want %q", c.raw, c.region, got, err, c.want)
		}
	}
}

func TestNormalizePhoneErrorsNameTheValue(t *testing.T) {
	for _, raw := range []string{"", "abc", "12", "+52 55 1234", "1-800-FLOWERS", "+++", "5512345678 ext 3", "+999 1234567"} {
		_, err := NormalizePhone(raw, "MX")
		if err == nil {
			t.Errorf("NormalizePhone(%q) accepted an invalid number", raw)
			continue
		}
		if raw != "" && !strings.Contains(err.Error(), raw) {
			t.Errorf("error for %q does not name the value: %v", raw, err)
		}
	}
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

func FuzzNormalizePhone(f *testing.F) {
	for _, s := range []string{"+52 55 1234 5678", "987654321", "00442071838750", "＋５２", "tel:+1", "'0", "+९१ ९८७६५ ४३२१०", "()-./"} {
		f.Add(s, "MX")
	}
	f.Add("9876543210", "IN")
	f.Fuzz(func(t *testing.T, raw, region string) {
		out, err := NormalizePhone(raw, region)
		if err != nil {
			return
		}
		if !e164.MatchString(out) {
			t.Fatalf("NormalizePhone(%q,%q) = %q, not E.164", raw, region, out)
		}
		again, err := NormalizePhone(out, "ZZ")
		if err != nil || again != out {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", raw, out, again, err)
		}
	})
}
