package outbox

import (
	"strings"
	"testing"
)

func TestStatusOnlyMovesForward(t *testing.T) {
	order := []string{StatusQueued, StatusSent, StatusDelivered, StatusRead}
	for i := range order {
		for j := range order {
			if got, want := Advances(order[i], order[j]), j > i; got != want {
				t.Errorf("Advances(%s, %s) = %v", order[i], order[j], got)
			}
		}
		if !Advances(order[i], StatusFailed) || Advances(StatusFailed, order[i]) {
			t.Errorf("failed must be final relative to %s", order[i])
		}
	}
	if !Advances(StatusSending, StatusSent) || !Advances(StatusUnknown, StatusDelivered) {
		t.Error("an in-flight or unknown message must accept a later report")
	}
	for _, s := range []string{StatusQueued, StatusSending, StatusUnknown, StatusSent, StatusDelivered, StatusRead, StatusFailed, StatusHeld} {
		if !strings.Contains(RankSQL, "'"+s+"'") {
			t.Errorf("RankSQL lacks %s", s)
		}
	}
}
