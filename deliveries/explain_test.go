package deliveries

import (
	"regexp"
	"slices"
	"testing"
)

var verb = regexp.MustCompile(`%[sdv]`)

// Every sentence exists in both languages, with the same placeholders in the
// same order, so that filling one never shifts the other.
func TestSentencesAreTranslatedWithTheSamePlaceholders(t *testing.T) {
	all := map[string]words{
		"draft": sayDraft, "scheduled": sayScheduled, "willJoin": sayWillJoin, "notInSegmentYet": sayNotInSegmentYet,
		"noSegment": sayNoSegment, "notTargeted": sayNotTargeted, "notInResend": sayNotInResend,
		"createdAfter": sayCreatedAfter, "joinedLater": sayJoinedLater, "notInSegment": sayNotInSegment,
		"broadcastFailed": sayBroadcastFailed, "cancelledEarly": sayCancelledEarly, "excluded": sayExcluded,
		"channelPaused": sayChannelPaused, "noLastError": sayNoLastError, "broadcastPaused": sayBroadcastPaused,
		"held": sayHeld, "retrying": sayRetrying, "dueLater": sayDueLater, "queued": sayQueued, "sending": saySending,
		"sent": saySent, "sentNoReceipts": saySentNoReceipts, "delivered": sayDelivered, "read": sayRead,
		"failed": sayFailed, "retryable": sayRetryable, "permanent": sayPermanent, "unknown": sayUnknown,
		"replied": sayReplied, "repliedNoTime": sayRepliedNoTime, "noTime": sayNoTime,
	}
	for name, w := range all {
		if w.EN == "" || w.ES == "" || w.EN == w.ES {
			t.Errorf("%s is not translated: %+v", name, w)
		}
		if en, es := verb.FindAllString(w.EN, -1), verb.FindAllString(w.ES, -1); !slices.Equal(en, es) {
			t.Errorf("%s: placeholders %v in English, %v in Spanish", name, en, es)
		}
	}
}

// An argument that is itself words is filled in the sentence's language.
func TestWithFillsEachLanguage(t *testing.T) {
	w := sayFailed.with("2025-11-21 10:05 (America/Mexico_City)", words{"the reason", "la razón"}).then(sayRetryable)
	if w.EN != "Failed on 2025-11-21 10:05 (America/Mexico_City): the reason Sending again later may work." ||
		w.ES != "Falló el 2025-11-21 10:05 (America/Mexico_City): la razón Volver a enviarlo más tarde puede funcionar." {
		t.Errorf("%+v", w)
	}
	if w.in("es") != w.ES || w.in("en") != w.EN || w.in("es-MX") != w.ES {
		t.Error("in picks the wrong language")
	}
}
