package segments

import "strings"

// foldASCII lower-cases A-Z only, byte by byte: exactly what SQLite's
// lower() and NOCASE collation do without ICU, so that the evaluator and the
// SQL agree on every string ("PERÚ" and "perú" differ in both; "LIMA" and
// "lima" are equal in both).
func foldASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// literalInJSON reports whether every JSON encoder Pregón's writers use
// (Go's encoding/json through PocketBase and the importer, SQLite's JSON
// functions) writes s inside a JSON string byte for byte. Only then can a
// plain substring search on the stored JSON text rule a row out before the
// exact JSON check: Go escapes <, > and & and both escape quotes,
// backslashes and control characters; U+2028 and U+2029 are escaped by Go.
func literalInJSON(s string) bool {
	for _, r := range s {
		switch {
		case r < 0x20, r == '"', r == '\\', r == '<', r == '>', r == '&', r == 0x7f,
			r == '\u2028', r == '\u2029', r == '\uFFFD':
			return false
		}
	}
	return !strings.ContainsRune(s, 0)
}
