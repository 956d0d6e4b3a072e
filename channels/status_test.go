package channels

import "testing"

func TestStatusPhraseReadsInASentence(t *testing.T) {
	for status, want := range map[string]string{"error": "in error", "paused": "paused", "active": "active"} {
		if got := StatusPhrase(status); got != want {
			t.Errorf("StatusPhrase(%q) = %q, want %q", status, got, want)
		}
	}
}
