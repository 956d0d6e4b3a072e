package contactcsv

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"

	"pregon/contacts"
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
}

// Export streams contacts as CSV to w, one row at a time from the
// database: memory does not grow with the number of contacts. The columns
// are the import's (see ExportHeader), so an export imported back with
// add_update by id changes nothing. It returns the number of contacts
// written.
func Export(ctx context.Context, app core.App, w io.Writer, opts ExportOptions) (int, error) {
	defs, err := contacts.LoadFieldDefs(app)
	if err != nil {
		return 0, err
	}
	keys := defs.Keys()
	where := "1"
	if strings.TrimSpace(opts.Where) != "" {
		where = "(" + opts.Where + ")"
	}
	q := app.DB().NewQuery(`SELECT c.id, c.first_name, c.last_name, c.phone, c.email, c.language, c.country, c.timezone,
		COALESCE(c.tags, ''), COALESCE(c.fields, ''), c.created,
		COALESCE((SELECT group_concat(i.kind || char(31) || i.identifier || char(31) || i.from_phone || char(31) || i.consent || char(31) || i.consent_at, char(30))
			FROM contact_identities i WHERE i.contact = c.id), '')
		FROM contacts c WHERE ` + where + ` ORDER BY c.rowid`).WithContext(ctx)
	if opts.Params != nil {
		q = q.Bind(opts.Params)
	}
	rows, err := q.Rows()
	if err != nil {
		return 0, fmt.Errorf("reading contacts: %w", err)
	}
	defer rows.Close()

	bw := bufio.NewWriterSize(w, 64<<10)
	if !opts.NoBOM {
		bw.WriteString(bom)
	}
	cw := csv.NewWriter(bw)
	if err := cw.Write(ExportHeader(defs)); err != nil {
		return 0, err
	}
	var (
		c       stored
		tagsRaw string
		fldRaw  string
		created string
		idsRaw  string
		out     = make([]string, int(numCols)+len(keys)+1)
		n       int
	)
	for rows.Next() {
		if err := rows.Scan(&c.ID, &c.FirstName, &c.LastName, &c.Phone, &c.Email, &c.Language, &c.Country, &c.Timezone,
			&tagsRaw, &fldRaw, &created, &idsRaw); err != nil {
			return n, fmt.Errorf("reading contact: %w", err)
		}
		exportRow(out, &c, tagsRaw, fldRaw, created, idsRaw, keys)
		if err := cw.Write(out); err != nil {
			return n, fmt.Errorf("writing the export: %w", err)
		}
		n++
	}
	if err := rows.Err(); err != nil && err != sql.ErrNoRows {
		return n, fmt.Errorf("reading contacts: %w", err)
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return n, fmt.Errorf("writing the export: %w", err)
	}
	return n, bw.Flush()
}

func exportRow(out []string, c *stored, tagsRaw, fldRaw, created, idsRaw string, keys []string) {
	for i := range out {
		out[i] = ""
	}
	out[colID] = c.ID
	out[colFirstName] = escape(c.FirstName)
	out[colLastName] = escape(c.LastName)
	out[colPhone] = escape(c.Phone)
	out[colEmail] = escape(c.Email)
	out[colLanguage] = c.Language
	out[colCountry] = c.Country
	out[colTimezone] = c.Timezone
	out[colTags] = escape(strings.Join(decodeTags(tagsRaw), ", "))
	out[colOptIn] = exportIdentities(out, idsRaw)
	if fldRaw != "" && fldRaw != "null" && fldRaw != "{}" {
		var fields map[string]any
		if json.Unmarshal([]byte(fldRaw), &fields) == nil {
			for i, k := range keys {
				out[int(numCols)+i] = escape(fieldText(fields[k]))
			}
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
			out[colWhatsApp] = escape(identifier)
		case kind == "telegram":
			out[colTelegram] = escape(identifier)
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
