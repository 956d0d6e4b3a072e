package csvsafe

import (
	"strings"
	"testing"
)

func TestEscapeNeutralisesFormulasAndRoundTrips(t *testing.T) {
	for _, c := range []struct{ in, out string }{
		{"=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"},
		{"+52 55", "'+52 55"},
		{"-5% hoy", "'-5% hoy"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"\tcmd", "'\tcmd"},
		{"\rcmd", "'\rcmd"},
		{"'=1", "''=1"},
		{"''@x", "'''@x"},
		{"'hola", "'hola"},
		{"'", "'"},
		{"", ""},
		{"Ana", "Ana"},
		{"a=b", "a=b"},
		{"¡Hola! 🎉", "¡Hola! 🎉"},
	} {
		if got := Escape(c.in); got != c.out {
			t.Errorf("Escape(%q) = %q, want %q", c.in, got, c.out)
		}
		if back := Unescape(Escape(c.in)); back != c.in {
			t.Errorf("Unescape(Escape(%q)) = %q", c.in, back)
		}
	}
}

func FuzzEscapeRoundTrips(f *testing.F) {
	for _, s := range []string{"=1", "'=1", "''", "-", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e := Escape(s)
		if Unescape(e) != s {
			t.Fatalf("round trip of %q gave %q", s, Unescape(e))
		}
		if e != "" && strings.ContainsRune("=+-@\t\r", rune(e[0])) {
			t.Fatalf("Escape(%q) = %q still starts a formula", s, e)
		}
	})
}
