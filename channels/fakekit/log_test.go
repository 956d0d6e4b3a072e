package fakekit

import (
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

func at(ms int, to string, status int) Entry {
	return Entry{At: t0.Add(time.Duration(ms) * time.Millisecond), Recipient: to, Status: status, Op: "messages"}
}

func TestLogAssertions(t *testing.T) {
	l := NewLog(0)
	for _, e := range []Entry{
		at(0, "a", 200), at(100, "b", 200), at(900, "c", 200), at(999, "a", 429),
		at(1000, "d", 200), at(1500, "b", 200), at(2600, "a", 200),
	} {
		l.Add(e)
	}
	if n := l.MaxInWindow(time.Second, nil); n != 4 {
		t.Errorf("MaxInWindow(all) = %d, want 4 (0,100,900,999)", n)
	}
	if n := l.MaxInWindow(time.Second, OnlyOK); n != 3 {
		t.Errorf("MaxInWindow(ok) = %d, want 3", n)
	}
	if gap, who := l.MinGapPerRecipient(OnlyOK); gap != 1400*time.Millisecond || who != "b" {
		t.Errorf("MinGapPerRecipient = %v %q, want 1.4s b", gap, who)
	}
	if n := l.UniqueRecipients(OnlyOK); n != 4 {
		t.Errorf("UniqueRecipients = %d", n)
	}
	if l.Total() != 7 || l.Accepted() != 6 {
		t.Errorf("counters %d/%d", l.Total(), l.Accepted())
	}
}

func TestLogIgnoredWaits(t *testing.T) {
	l := NewLog(0)
	throttled := at(0, "a", 429)
	throttled.Wait = 3 * time.Second
	l.Add(throttled)
	l.Add(at(1000, "b", 200)) // other scope: fine
	l.Add(at(2000, "a", 200)) // inside a's wait
	l.Add(at(3100, "a", 200)) // after it
	if n := l.IgnoredWaits(func(e Entry) string { return e.Recipient }); n != 1 {
		t.Fatalf("per recipient: %d, want 1", n)
	}
	if n := l.IgnoredWaits(nil); n != 2 {
		t.Fatalf("one scope: %d, want 2", n)
	}
}

func TestLogRingAndSwitches(t *testing.T) {
	l := NewLog(3)
	for i := 0; i < 5; i++ {
		l.Add(at(i, "x", 200))
	}
	es := l.Entries()
	if len(es) != 3 || !es[0].At.Equal(t0.Add(2*time.Millisecond)) || l.Total() != 5 {
		t.Fatalf("ring kept %v (total %d), want the last 3", es, l.Total())
	}
	l.SetRecording(false)
	l.Add(at(10, "y", 200))
	if len(l.Entries()) != 3 || l.Total() != 6 {
		t.Fatal("recording off must still count, but not record")
	}
	if l.KeepBodies() {
		t.Fatal("bodies are off by default")
	}
}

func TestBuckets(t *testing.T) {
	b := NewBuckets(2, 3) // 2/s, burst 3
	for i := 0; i < 3; i++ {
		if ok, _ := b.Take("k", t0); !ok {
			t.Fatalf("burst take %d refused", i)
		}
	}
	ok, wait := b.Take("k", t0)
	if ok || wait != 500*time.Millisecond {
		t.Fatalf("4th take: %v wait %v, want refused with 500ms", ok, wait)
	}
	if ok, _ := b.Take("other", t0); !ok {
		t.Fatal("keys must not share a bucket")
	}
	if ok, _ := b.Take("k", t0.Add(500*time.Millisecond)); !ok {
		t.Fatal("a token must be back after 500ms")
	}
	var off *Buckets
	if ok, _ := off.Take("k", t0); !ok {
		t.Fatal("nil buckets are unlimited")
	}
}

func TestInjector(t *testing.T) {
	var j Injector
	if err := j.Add(Injection{Count: 2, Code: "130429"}); err != nil {
		t.Fatal(err)
	}
	if err := j.Add(Injection{Count: 1, Fault: FaultClose}); err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := 0; i < 4; i++ {
		in, ok := j.Next()
		got = append(got, in.Code+string(in.Fault)+map[bool]string{true: "", false: "none"}[ok])
	}
	want := []string{"130429", "130429", "close", "none"}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	for _, bad := range []Injection{{Count: 0, Code: "1"}, {Count: 1}, {Count: 1, Code: "1", Fault: FaultHang}, {Count: 1, Fault: "boom"}} {
		if j.Add(bad) == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

func TestRulesValidate(t *testing.T) {
	r := NewRules()
	if r.Set("x", Rule{Outcome: FailSync}) == nil || r.Set("x", Rule{Outcome: "maybe"}) == nil {
		t.Fatal("bad rules accepted")
	}
	if err := r.Set("*", Rule{Outcome: Read}); err != nil || r.For("anyone").Outcome != Read {
		t.Fatal("default rule not applied")
	}
}

func TestEscapeNonASCII(t *testing.T) {
	got := string(EscapeNonASCII([]byte(`{"t":"äöå 🎉 ok"}`)))
	if want := `{"t":"\u00e4\u00f6\u00e5 \ud83c\udf89 ok"}`; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}
