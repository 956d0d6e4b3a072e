package failedlog_test

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"pregon/failedlog"
	fx "pregon/internal/deliveryfixture"
)

func TestParseBound(t *testing.T) {
	mx, err := time.LoadLocation("America/Mexico_City")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		in    string
		upper bool
		want  string // UTC
	}{
		{"2025-11-21", false, "2025-11-21T06:00:00Z"}, // midnight in Mexico City
		{"2025-11-21", true, "2025-11-22T06:00:00Z"},  // the whole day
		{"2025-11-21T18:30", false, "2025-11-22T00:30:00Z"},
		{"2025-11-21 18:30", true, "2025-11-22T00:31:00Z"}, // the whole minute
		{"2025-11-21T18:30:15", true, "2025-11-22T00:30:16Z"},
		{"2025-11-21T18:30:15.250", true, "2025-11-22T00:30:15.251Z"},
		{"2025-11-21T18:30:00Z", false, "2025-11-21T18:30:00Z"},
		{"2025-11-21T18:30:00-05:00", false, "2025-11-21T23:30:00Z"},
		{"2025-11-21T18:30:00.500Z", false, "2025-11-21T18:30:00.5Z"},
		{"2025-11-21 18:30:00.000Z", true, "2025-11-21T18:30:00.001Z"},
		{"21/11/2025", false, "2025-11-21T06:00:00Z"}, // day first, as the seed's owner writes it
		{"21/11/2025", true, "2025-11-22T06:00:00Z"},
		{"1/3/2025", false, "2025-03-01T06:00:00Z"},
		{"21/11/2025 18:30", true, "2025-11-22T00:31:00Z"},
	} {
		got, err := failedlog.ParseBound(c.in, mx, c.upper)
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		if s := got.UTC().Format(time.RFC3339Nano); s != c.want {
			t.Errorf("ParseBound(%q, upper=%v) = %s, want %s", c.in, c.upper, s, c.want)
		}
	}
	for _, bad := range []string{"11/21/2025", "2025-13-01", "ayer", "2025-11-21T25:00", "1700000000"} {
		if _, err := failedlog.ParseBound(bad, mx, false); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("%q: want an error that quotes it, got %v", bad, err)
		}
	}
}

func TestRenderContent(t *testing.T) {
	for _, c := range []struct{ raw, typ, text string }{
		{`{"text":"Hola"}`, "text", "Hola"},
		{`{"template":{"name":"promo","language":"es_MX","params":["Ana","20%"]}}`, "template", "promo (es_MX): Ana | 20%"},
		{`{"template":{"name":"hello_world"}}`, "template", "hello_world"},
		{`{"media":{"url":"https://x/y.jpg","caption":"Mira"}}`, "media", "Mira (https://x/y.jpg)"},
		{`{"media":{"url":"https://x/y.jpg"}}`, "media", "https://x/y.jpg"},
		{``, "", ""},
		{`not json`, "", "not json"},
	} {
		typ, text := failedlog.RenderContent(c.raw)
		if typ != c.typ || text != c.text {
			t.Errorf("RenderContent(%s) = %q, %q; want %q, %q", c.raw, typ, text, c.typ, c.text)
		}
	}
}

func TestItemSubtypesAndReasons(t *testing.T) {
	utc := time.UTC
	for _, c := range []struct {
		row       failedlog.Row
		subtype   string
		code      string
		retryable bool
		es        string
	}{
		{failedlog.Row{Status: "failed", ErrorCode: "131026", ErrorClass: "permanent"}, "permanent", "131026", false, "No entregable"},
		{failedlog.Row{Status: "failed", ErrorCode: "daily_limit", ErrorClass: "permanent"}, "retryable", "daily_limit", true, "Límite diario"},
		{failedlog.Row{Status: "failed", ErrorCode: "21610"}, "permanent", "21610", false, "STOP"},
		{failedlog.Row{Status: "unknown"}, "review", "unknown_outcome", false, "puede haber llegado o no"},
		{failedlog.Row{Status: "failed", ErrorCode: "777", ErrorClass: "retry", ErrorDetail: "upstream 502"}, "retryable", "777", true, "upstream 502"},
	} {
		it := c.row.Item("es", utc)
		if it.Subtype != c.subtype || it.ErrorCode != c.code || it.Retryable != c.retryable ||
			!strings.Contains(it.Reason, c.es) || it.Reason != it.ReasonES || it.ReasonEN == it.ReasonES ||
			it.Error != it.Reason+" ("+c.code+")" {
			t.Errorf("%+v: got %+v", c.row, it)
		}
	}
}

// A hostile row survives the CSV: parsed back with encoding/csv it has the
// seed's eleven columns, and every cell a spreadsheet would run starts
// with an apostrophe.
func TestRecordEscapesAndParsesBack(t *testing.T) {
	mx, _ := time.LoadLocation("America/Mexico_City")
	row := failedlog.Row{ID: fx.MsgPaula, Time: "2025-11-22 03:00:02.000Z", Status: "failed", Source: "broadcast",
		SourceID: fx.BNews, Contact: fx.CtPaula, FirstName: fx.HostileName, Channel: fx.ChSMS,
		Content: `{"text":` + quoteJSON(fx.HostileText) + `}`, ErrorCode: "30008", ErrorClass: "retry"}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	if err := w.Write(failedlog.Columns); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(row.Item("en", mx).Record()); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || len(recs[1]) != 11 {
		t.Fatalf("records: %q", recs)
	}
	got := recs[1]
	want := []string{"2025-11-21 21:00:02", fx.BNews, "broadcast", fx.CtPaula, fx.MsgPaula, "text", "'" + fx.HostileText,
		fx.ChSMS, "failed", "retryable", "Unknown delivery error at the carrier. (30008)"}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("column %q = %q, want %q", failedlog.Columns[i], got[i], want[i])
		}
	}
}

func quoteJSON(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\n':
			b.WriteString(`\n`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
