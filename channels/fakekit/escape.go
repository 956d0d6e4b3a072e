package fakekit

import (
	"fmt"
	"unicode/utf8"
)

// EscapeNonASCII rewrites every non-ASCII character of a JSON document as a
// lowercase \uXXXX escape (surrogate pairs above U+FFFF), which is how Meta
// serialises webhook bodies before signing them. Receivers must verify the
// escaped bytes as received, and this makes a fake prove that they do.
func EscapeNonASCII(js []byte) []byte {
	out := make([]byte, 0, len(js)+len(js)/8)
	for i := 0; i < len(js); {
		c := js[i]
		if c < utf8.RuneSelf {
			out = append(out, c)
			i++
			continue
		}
		r, size := utf8.DecodeRune(js[i:])
		i += size
		if r >= 0x10000 {
			r -= 0x10000
			out = fmt.Appendf(out, `\u%04x\u%04x`, 0xd800+(r>>10), 0xdc00+(r&0x3ff))
			continue
		}
		out = fmt.Appendf(out, `\u%04x`, r)
	}
	return out
}
