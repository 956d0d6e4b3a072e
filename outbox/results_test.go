package outbox_test

import (
	"testing"

	"github.com/pocketbase/dbx"

	"pregon/outbox"
)

// Sent results are written in multi-row statements; a message deleted while
// it was being sent has no row to update and gets no event, and every other
// one gets its provider id, sent status and event.
func TestSentBatchSkipsAMessageDeletedMeanwhile(t *testing.T) {
	f := newFixture(t, waCaps, nil)
	cs, ids := f.recipients(40, epoch)
	var msgIDs []string
	for _, q := range f.enqueue(f.each(cs, ids, tmpl("promo"), outbox.SourceBroadcast, "b1")...) {
		msgIDs = append(msgIDs, q.ID)
	}
	if _, err := outbox.ClaimForTest(f.app, f.channel, epoch, 100); err != nil {
		t.Fatal(err)
	}
	seqs := outbox.SeqsForTest(f.app, msgIDs)
	if _, err := f.app.DB().NewQuery("DELETE FROM messages WHERE id = {:id}").Bind(dbx.Params{"id": msgIDs[7]}).Execute(); err != nil {
		t.Fatal(err)
	}
	if err := outbox.WriteSentSeqsForTest(f.app, f.channel, msgIDs, seqs, epoch); err != nil {
		t.Fatal(err)
	}
	if n := f.count("status = 'sent' AND provider_id = 'wamid.' || id AND sent_at != ''", nil); n != 39 {
		t.Fatalf("%d messages recorded sent, want 39", n)
	}
	if n := f.eventCount(outbox.EventStatus); n != 39 {
		t.Fatalf("%d message.status events, want 39 (none for the deleted message)", n)
	}
	var gone int
	f.app.DB().NewQuery("SELECT COUNT(*) FROM events WHERE subject = {:id}").Bind(dbx.Params{"id": msgIDs[7]}).Row(&gone)
	if gone != 0 {
		t.Fatal("the deleted message got an event")
	}
}

// The claim reads each recipient's identity beside its row: the identifier
// the call goes to, the consent a broadcast checks, and nothing at all for
// an identity deleted after the message was queued.
func TestClaimReadsTheRecipientsIdentityAsItIsNow(t *testing.T) {
	f := newFixture(t, waCaps, map[string]any{"rate_per_second": 1000})
	cs, ids := f.recipients(3, epoch)
	q := f.enqueue(f.each(cs, ids, tmpl("promo"), outbox.SourceBroadcast, "b1")...)
	if _, err := f.app.DB().NewQuery("DELETE FROM contact_identities WHERE id = {:id}").Bind(dbx.Params{"id": ids[0]}).Execute(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.app.DB().NewQuery("UPDATE contact_identities SET consent = 'opted_out' WHERE id = {:id}").Bind(dbx.Params{"id": ids[1]}).Execute(); err != nil {
		t.Fatal(err)
	}
	var ident string
	f.app.DB().NewQuery("SELECT identifier FROM contact_identities WHERE id = {:id}").Bind(dbx.Params{"id": ids[2]}).Row(&ident)
	f.start()
	f.waitFor("all settled", func() bool { return f.count("status IN ('queued', 'sending')", nil) == 0 })

	if m := f.msg(q[0].ID); m.Status != outbox.StatusFailed || m.ErrorCode != "no_identity" {
		t.Fatalf("deleted identity: %s %s, want failed no_identity", m.Status, m.ErrorCode)
	}
	if m := f.msg(q[1].ID); m.Status != outbox.StatusFailed || m.ErrorCode != "opted_out" {
		t.Fatalf("opted out: %s %s, want failed opted_out", m.Status, m.ErrorCode)
	}
	if m := f.msg(q[2].ID); m.Status != outbox.StatusSent {
		t.Fatalf("third message %s, want sent", m.Status)
	}
	if calls := f.adapter.callsTo(); len(calls) != 1 || calls[ident] != 1 {
		t.Fatalf("calls %v, want one to %s", calls, ident)
	}
}

// Twilio can report a message failed (by our id, in its status callback)
// before our batch records the send: the send neither moves the message back
// to sent nor wipes the reason the provider gave.
func TestSentResultKeepsAnEarlierFailedCallbacksError(t *testing.T) {
	f := newFixture(t, waCaps, nil)
	cs, ids := f.recipients(2, epoch)
	var msgIDs []string
	for _, q := range f.enqueue(f.each(cs, ids, tmpl("promo"), outbox.SourceBroadcast, "b1")...) {
		msgIDs = append(msgIDs, q.ID)
	}
	if _, err := outbox.ClaimForTest(f.app, f.channel, epoch, 100); err != nil {
		t.Fatal(err)
	}
	seqs := outbox.SeqsForTest(f.app, msgIDs)
	// The first message failed at the provider already; the second carries
	// an error from an earlier, retried attempt.
	if _, err := f.app.DB().NewQuery(`UPDATE messages SET status = 'failed', error_code = '30003',
		error_class = 'permanent', error_detail = 'Unreachable destination handset' WHERE id = {:id}`).
		Bind(dbx.Params{"id": msgIDs[0]}).Execute(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.app.DB().NewQuery(`UPDATE messages SET error_code = '429', error_class = 'retryable',
		error_detail = 'rate limited' WHERE id = {:id}`).Bind(dbx.Params{"id": msgIDs[1]}).Execute(); err != nil {
		t.Fatal(err)
	}
	if err := outbox.WriteSentSeqsForTest(f.app, f.channel, msgIDs, seqs, epoch); err != nil {
		t.Fatal(err)
	}
	if m := f.msg(msgIDs[0]); m.Status != "failed" || m.ErrorCode != "30003" || m.ErrorDetail != "Unreachable destination handset" {
		t.Fatalf("failed callback overwritten by the send: %+v", m)
	}
	if m := f.msg(msgIDs[1]); m.Status != "sent" || m.ErrorCode != "" || m.ErrorDetail != "" {
		t.Fatalf("a sent message keeps an earlier attempt's error: %+v", m)
	}
}
