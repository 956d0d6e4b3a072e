package contactcsv

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"

	"pregon/contacts"
	"pregon/csvsafe"
)

// bom starts every CSV file Pregón writes: Excel on Windows reads UTF-8
// accents right only with it, and every CSV reader we know skips it.
const bom = "\uFEFF"

// ExportOptions choose what Export writes.
type ExportOptions struct {
	// Where is an SQL condition over contacts aliased c with {:name}
	// params (a segment's compiled filter); empty exports every contact.
	Where  string
	Params dbx.Params
	// NoBOM leaves out the byte-order mark, for scripts that do not skip it.
	NoBOM bool
	// ChunkRows is how many rowids one query covers (default 20,000).
	ChunkRows int
}

// exportChunk is how many rowids one export query covers by default.
const exportChunk = 20_000

// Export streams contacts as CSV to w: memory does not grow with the number
// of contacts. The columns are the import's (see ExportHeader), so an
// export imported back with add_update by id changes nothing. Ranges of
// rowids are read and formatted in parallel (one read connection each, up
// to GOMAXPROCS) and written in order. It returns the number of contacts
// written.
func Export(ctx context.Context, app core.App, w io.Writer, opts ExportOptions) (int, error) {
	defs, err := contacts.LoadFieldDefs(app)
	if err != nil {
		return 0, err
	}
	keys := defs.Keys()
	var maxRowid int64
	if err := app.DB().NewQuery("SELECT COALESCE(MAX(rowid), 0) FROM contacts").Row(&maxRowid); err != nil {
		return 0, fmt.Errorf("reading contacts: %w", err)
	}
	where := ""
	if strings.TrimSpace(opts.Where) != "" {
		where = " AND (" + opts.Where + ")"
	}
	query := `SELECT c.id, c.first_name, c.last_name, c.phone, c.email, c.language, c.country, c.timezone,
		COALESCE(c.tags, ''), COALESCE(c.fields, ''), c.created,
		COALESCE((SELECT group_concat(i.kind || char(31) || i.identifier || char(31) || i.from_phone || char(31) || i.consent || char(31) || i.consent_at, char(30))
			FROM contact_identities i WHERE i.contact = c.id), '')
		FROM contacts c WHERE c.rowid >= {:export_lo} AND c.rowid < {:export_hi}` + where + ` ORDER BY c.rowid`

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	size := int64(opts.ChunkRows)
	if size <= 0 {
		size = exportChunk
	}
	chunks := int((maxRowid + size) / size)
	workers := min(runtime.GOMAXPROCS(0), max(chunks, 1))
	results := make(chan exportPart, workers*2)
	var next atomic.Int64
	var wg sync.WaitGroup
	// A worker may run ahead of the writer by at most this many chunks.
	window := make(chan struct{}, workers*2)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case window <- struct{}{}:
				case <-ctx.Done():
					return
				}
				i := int(next.Add(1) - 1)
				if i >= chunks {
					<-window
					return
				}
				part := exportRange(ctx, app, query, opts.Params, int64(i)*size, int64(i+1)*size, keys)
				part.seq = i
				select {
				case results <- part:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	go func() { wg.Wait(); close(results) }()

	bw := bufio.NewWriterSize(w, 64<<10)
	if !opts.NoBOM {
		bw.WriteString(bom)
	}
	cw := csv.NewWriter(bw)
	if err := cw.Write(ExportHeader(defs)); err != nil {
		return 0, err
	}
	cw.Flush()
	n, want := 0, 0
	pending := map[int]exportPart{}
	for part := range results {
		pending[part.seq] = part
		for p, ok := pending[want]; ok; p, ok = pending[want] {
			delete(pending, want)
			want++
			<-window
			if p.err != nil {
				return n, p.err
			}
			if _, err := bw.Write(p.data); err != nil {
				return n, fmt.Errorf("writing the export: %w", err)
			}
			n += p.rows
		}
	}
	if err := ctx.Err(); err != nil {
		return n, err
	}
	return n, bw.Flush()
}

// exportPart is the CSV text of one rowid range.
type exportPart struct {
	seq  int
	data []byte
	rows int
	err  error
}

func exportRange(ctx context.Context, app core.App, query string, params dbx.Params, lo, hi int64, keys []string) exportPart {
	p := dbx.Params{"export_lo": lo, "export_hi": hi}
	for k, v := range params {
		p[k] = v
	}
	rows, err := app.DB().NewQuery(query).WithContext(ctx).Bind(p).Rows()
	if err != nil {
		return exportPart{err: fmt.Errorf("reading contacts: %w", err)}
	}
	defer rows.Close()
	var (
		buf                             bytes.Buffer
		cw                              = csv.NewWriter(&buf)
		c                               stored
		tagsRaw, fldRaw, created, idRaw string
		out                             = make([]string, int(numCols)+len(keys)+1)
		n                               int
	)
	for rows.Next() {
		if err := rows.Scan(&c.ID, &c.FirstName, &c.LastName, &c.Phone, &c.Email, &c.Language, &c.Country, &c.Timezone,
			&tagsRaw, &fldRaw, &created, &idRaw); err != nil {
			return exportPart{err: fmt.Errorf("reading contact: %w", err)}
		}
		exportRow(out, &c, tagsRaw, fldRaw, created, idRaw, keys)
		cw.Write(out)
		n++
	}
	if err := rows.Err(); err != nil && err != sql.ErrNoRows {
		return exportPart{err: fmt.Errorf("reading contacts: %w", err)}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return exportPart{err: err}
	}
	return exportPart{data: buf.Bytes(), rows: n}
}

func exportRow(out []string, c *stored, tagsRaw, fldRaw, created, idsRaw string, keys []string) {
	for i := range out {
		out[i] = ""
	}
	out[colID] = c.ID
	out[colFirstName] = csvsafe.Escape(c.FirstName)
	out[colLastName] = csvsafe.Escape(c.LastName)
	out[colPhone] = csvsafe.Escape(c.Phone)
	out[colEmail] = csvsafe.Escape(c.Email)
	out[colLanguage] = c.Language
	out[colCountry] = c.Country
	out[colTimezone] = c.Timezone
	out[colTags] = csvsafe.Escape(strings.Join(decodeTags(tagsRaw), ", "))
	out[colOptIn] = exportIdentities(out, idsRaw)
	if fldRaw != "" && fldRaw != "null" && fldRaw != "{}" {
		fields, ok := flatObject(fldRaw)
		if !ok {
			var m map[string]any
			_ = json.Unmarshal([]byte(fldRaw), &m)
			fields = make(map[string]string, len(m))
			for k, v := range m {
				fields[k] = fieldText(v)
			}
		}
		for i, k := range keys {
			out[int(numCols)+i] = csvsafe.Escape(fields[k])
		}
	}
	out[len(out)-1] = created
}

// decodeTags reads a tags JSON array; tags cannot hold quotes or
// backslashes worth escaping often, so the common case skips encoding/json.
func decodeTags(raw string) []string {
	if raw == "" || raw == "null" || raw == "[]" {
		return nil
	}
	if strings.HasPrefix(raw, `["`) && strings.HasSuffix(raw, `"]`) && !strings.Contains(raw, `\`) {
		return strings.Split(raw[2:len(raw)-2], `","`)
	}
	var tags []string
	_ = json.Unmarshal([]byte(raw), &tags)
	return tags
}

// exportIdentities fills the whatsapp and telegram columns and returns the
// opt_in cell: the opt-in date when every identity is opted in, "no" when
// every one is opted out, empty otherwise (mixed or unset), so that
// importing it back changes nothing.
func exportIdentities(out []string, raw string) string {
	if raw == "" {
		return ""
	}
	in, outs, total := 0, 0, 0
	first := ""
	for _, it := range strings.Split(raw, "\x1e") {
		p := strings.Split(it, "\x1f")
		if len(p) != 5 {
			continue
		}
		kind, identifier, fromPhone, consent, at := p[0], p[1], p[2], p[3], p[4]
		total++
		switch consent {
		case "opted_in":
			in++
			if at != "" && (first == "" || at < first) {
				first = at
			}
		case "opted_out":
			outs++
		}
		switch {
		case kind == "whatsapp" && fromPhone != "1" && fromPhone != "true":
			out[colWhatsApp] = csvsafe.Escape(identifier)
		case kind == "telegram":
			out[colTelegram] = csvsafe.Escape(identifier)
		}
	}
	switch {
	case total > 0 && in == total && len(first) >= 10:
		return first[:10]
	case total > 0 && in == total:
		return "yes"
	case total > 0 && outs == total:
		return "no"
	}
	return ""
}

func fieldText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}

// flatObject reads the common shape of contacts.fields, a flat JSON object
// of plain strings, numbers and booleans, without encoding/json (the export
// reads a million of them). Anything else (escapes, nesting) reports false
// and the caller falls back to encoding/json.
func flatObject(s string) (map[string]string, bool) {
	if len(s) < 2 || s[0] != '{' || s[len(s)-1] != '}' || strings.IndexByte(s, '\\') >= 0 {
		return nil, false
	}
	out := make(map[string]string, 4)
	s = s[1 : len(s)-1]
	for len(s) > 0 {
		if s[0] != '"' {
			return nil, false
		}
		end := strings.IndexByte(s[1:], '"')
		if end < 0 || len(s) < end+3 || s[end+2] != ':' {
			return nil, false
		}
		key := s[1 : end+1]
		s = s[end+3:]
		var val string
		switch {
		case s == "":
			return nil, false
		case s[0] == '"':
			e := strings.IndexByte(s[1:], '"')
			if e < 0 {
				return nil, false
			}
			val, s = s[1:e+1], s[e+2:]
		case s[0] == '{' || s[0] == '[':
			return nil, false
		default:
			e := strings.IndexByte(s, ',')
			if e < 0 {
				e = len(s)
			}
			val, s = s[:e], s[e:]
			if val == "null" {
				val = ""
			} else if f, err := strconv.ParseFloat(val, 64); err == nil {
				val = strconv.FormatFloat(f, 'f', -1, 64)
			} else if val != "true" && val != "false" {
				return nil, false
			}
		}
		out[key] = val
		if s != "" {
			if s[0] != ',' {
				return nil, false
			}
			s = s[1:]
		}
	}
	return out, true
}
