package inbound

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// optOutWords and optInWords are the consent keywords, matched against the
// whole message. The English words are Twilio's own opt-out list, so that
// Pregón's consent agrees with what Twilio already enforces on SMS; the
// Spanish ones are what customers write in Latin America.
var (
	optOutWords = []string{"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT",
		"BAJA", "CANCELAR", "DAR DE BAJA", "DARME DE BAJA"}
	optInWords = []string{"START", "UNSTOP", "ALTA", "DAR DE ALTA", "DARME DE ALTA"}
)

// Keyword reports whether text, as a whole, is a consent keyword, and which
// one (its canonical upper-case form). Matching ignores case, accents,
// surrounding spaces and punctuation ("¡Baja!", "stop."), and reads a
// Telegram command ("/start", "/stop@MiBot", "/start promo") by its name.
// "Stop sending me offers" is a message, not a keyword.
func Keyword(text string) (word string, optIn bool, ok bool) {
	s := strings.TrimSpace(text)
	if len(s) == 0 || len(s) > 64 {
		return "", false, false
	}
	if strings.HasPrefix(s, "/") {
		f := strings.Fields(s[1:])
		if len(f) == 0 {
			return "", false, false
		}
		s, _, _ = strings.Cut(f[0], "@")
	}
	s = fold(s)
	s = strings.TrimFunc(s, func(r rune) bool { return unicode.IsPunct(r) || unicode.IsSpace(r) || unicode.IsSymbol(r) })
	s = strings.Join(strings.Fields(s), " ")
	for _, w := range optOutWords {
		if s == w {
			return w, false, true
		}
	}
	for _, w := range optInWords {
		if s == w {
			return w, true, true
		}
	}
	return "", false, false
}

// fold upper-cases s and strips its accents ("Cancelár" -> "CANCELAR").
func fold(s string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		b.WriteRune(unicode.ToUpper(r))
	}
	return b.String()
}
