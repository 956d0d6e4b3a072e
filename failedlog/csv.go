package failedlog

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"time"

	"github.com/pocketbase/pocketbase/core"

	"pregon/csvsafe"
)

// Columns are the seed's columns, in its order and in English as the seed
// lists them. They are the same whatever the language of the reasons: the
// contacts importer reads "contact id" as the id column, which is how the
// seed's recovery path (export, import with "update existing only" by
// contact id adding a tag) works.
var Columns = []string{"date and time", "sender id", "sender type", "contact id", "message id",
	"content type", "content", "channel id", "type", "subtype", "error"}

// csvChunk is how many rows one query of an export reads.
const csvChunk = 2000

// bom makes Excel read the file as UTF-8 (accents, ñ, emoji).
const bom = "\ufeff"

// Record is it as a CSV record in Columns' order, with every cell protected
// from formula injection.
func (it Item) Record() []string {
	rec := []string{it.DateTimeLocal, it.SenderID, it.SenderType, it.ContactID, it.MessageID,
		it.ContentType, it.Content, it.ChannelID, it.Type, it.Subtype, it.Error}
	for i, s := range rec {
		rec[i] = csvsafe.Escape(s)
	}
	return rec
}

// WriteCSV streams the rows f selects to w as CSV (header first, CRLF
// line ends as RFC 4180 and Excel expect), reading them in chunks, and
// returns how many rows it wrote. withBOM starts the file with a UTF-8
// byte-order mark.
func WriteCSV(w io.Writer, app core.App, f Filter, lang string, loc *time.Location, withBOM bool) (int, error) {
	// Nothing reaches w before the first chunk is read (the buffer holds the
	// BOM and the header), so a caller can still answer an error properly
	// when the very first query fails.
	bw := bufio.NewWriterSize(w, 32<<10)
	if withBOM {
		bw.WriteString(bom)
	}
	cw := csv.NewWriter(bw)
	cw.UseCRLF = true
	if err := cw.Write(Columns); err != nil {
		return 0, fmt.Errorf("writing the CSV header: %w", err)
	}
	n := 0
	err := Each(app, f, csvChunk, func(r Row) error {
		n++
		return cw.Write(r.Item(lang, loc).Record())
	})
	cw.Flush()
	if err == nil {
		err = cw.Error()
	}
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		return n, fmt.Errorf("writing the CSV after %d rows: %w", n, err)
	}
	return n, nil
}
