package reasons

import (
	"strings"
	"testing"
)

func TestEveryEntryHasBothLanguages(t *testing.T) {
	for _, m := range []map[string]entry{own, provider, telegram} {
		for code, e := range m {
			if e.en == "" || e.es == "" || e.en == e.es {
				t.Errorf("%s lacks a real translation: %+v", code, e)
			}
		}
	}
}

func TestForFallsBackByClassAndKeepsDetail(t *testing.T) {
	if r := For("daily_limit", "permanent", ""); !strings.Contains(r.EN, "Daily limit reached") || !r.Retryable {
		t.Errorf("daily_limit: %+v", r)
	}
	if r := For("131026", "permanent", "x"); r.Retryable || !strings.Contains(r.ES, "No entregable") {
		t.Errorf("131026: %+v", r)
	}
	r := For("999999", "retry", "upstream 502")
	if !r.Retryable || !strings.Contains(r.EN, "upstream 502") || r.Text("es-MX") != r.ES {
		t.Errorf("fallback: %+v", r)
	}
	if r := For("BLOCKED", "permanent", ""); r.Retryable || !strings.Contains(r.EN, "blocked the bot") {
		t.Errorf("telegram blocked: %+v", r)
	}
}
