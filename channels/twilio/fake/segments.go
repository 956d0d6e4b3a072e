package fake

import "unicode/utf16"

// gsm7 holds the GSM 03.38 basic character set; the extension table
// (counted as two septets) is gsm7ext.
const gsm7 = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
const gsm7ext = "^{}\\[~]|€\f"

var gsmSet, gsmExt = runeSet(gsm7), runeSet(gsm7ext)

func runeSet(s string) map[rune]bool {
	m := map[rune]bool{}
	for _, r := range s {
		m[r] = true
	}
	return m
}

// Segments counts SMS segments the way carriers bill them: GSM-7 (160 per
// single, 153 per part) or UCS-2 when any character is outside GSM-7 (70,
// then 67 UTF-16 units per part).
func Segments(body string) int {
	septets, gsm := 0, true
	for _, r := range body {
		switch {
		case gsmSet[r]:
			septets++
		case gsmExt[r]:
			septets += 2
		default:
			gsm = false
		}
	}
	if gsm {
		return parts(septets, 160, 153)
	}
	return parts(len(utf16.Encode([]rune(body))), 70, 67)
}

func parts(n, single, multi int) int {
	if n <= single {
		return 1
	}
	return (n + multi - 1) / multi
}
