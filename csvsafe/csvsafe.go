// Package csvsafe keeps CSV cells that Pregón writes from being run as
// formulas when a person opens the file in a spreadsheet (CSV injection:
// a contact's name or a message comes from the public, and Excel, LibreOffice
// and Google Sheets execute cells that start with = + - @, a tab or a
// carriage return).
package csvsafe

import "strings"

// Escape returns s with a leading apostrophe when a spreadsheet would run
// it: spreadsheets show the rest as plain text and hide the apostrophe.
// Cells that already start with apostrophes before such a character get one
// more, so Unescape(Escape(s)) == s for every s and a file exported by
// Pregón imports back unchanged.
func Escape(s string) string {
	if needsEscape(s) {
		return "'" + s
	}
	return s
}

// Unescape undoes Escape.
func Unescape(s string) string {
	if len(s) > 1 && s[0] == '\'' && needsEscape(s[1:]) {
		return s[1:]
	}
	return s
}

func needsEscape(s string) bool {
	s = strings.TrimLeft(s, "'")
	return s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0]))
}
