package contacts

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Tag limits. Tags are matched exactly by segments, so they are stored in one
// canonical form: trimmed, inner spaces collapsed, lower-cased.
const (
	MaxTagLen         = 64
	MaxTagsPerContact = 100
)

// NormalizeTag returns t's canonical form.
func NormalizeTag(t string) (string, error) {
	t = strings.ToLower(strings.Join(strings.Fields(t), " "))
	switch {
	case t == "":
		return "", fmt.Errorf("a tag cannot be empty")
	case !utf8.ValidString(t):
		return "", fmt.Errorf("tag %q is not valid text", t)
	case utf8.RuneCountInString(t) > MaxTagLen:
		return "", fmt.Errorf("tag %q is longer than %d characters", t, MaxTagLen)
	case strings.ContainsAny(t, ",;|"):
		return "", fmt.Errorf("tag %q contains a comma, semicolon or bar; those separate tags", t)
	}
	return t, nil
}

// NormalizeTags canonicalizes and de-duplicates tags, keeping first-seen order.
func NormalizeTags(tags []string) ([]string, error) {
	out := make([]string, 0, len(tags))
	seen := make(map[string]bool, len(tags))
	for _, t := range tags {
		n, err := NormalizeTag(t)
		if err != nil {
			return nil, err
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	if len(out) > MaxTagsPerContact {
		return nil, fmt.Errorf("a contact can have at most %d tags, got %d", MaxTagsPerContact, len(out))
	}
	return out, nil
}

// SplitTags reads a tag list written in one cell or form value:
// "vip, lima" or "vip|lima". Empty items are skipped.
func SplitTags(s string) []string {
	parts := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '|' || r == ';' })
	out := parts[:0]
	for _, p := range parts {
		if strings.TrimSpace(p) != "" {
			out = append(out, p)
		}
	}
	return out
}
