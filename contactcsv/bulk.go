package contactcsv

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// bulkInsert writes the rows of one table with multi-row INSERT statements
// of perStmt rows, prepared once per batch: modernc's fixed cost per
// statement execution (database/sql, binding, starting the VDBE program) is
// as large as a row's own. Values that are the same for every row of a
// batch (timestamps, the actor) are written into the SQL as literals rather
// than bound again for each row. perStmt stays modest because the driver
// matches bound values to parameters in O(n²) of their number.
//
// The statements say OR FAIL: with the default ABORT, SQLite copies every
// page a multi-row statement touches into a statement journal so that it
// can undo the statement alone; a failed insert here fails the whole batch
// (its transaction rolls back), so that copy is waste (17% of the CPU when
// measured).
//
// Rows are written when a statement's worth has gathered and by flush, so
// a caller must flush before anything reads the table or depends on the
// rows being there; the import's own checks run on its in-memory maps.
type bulkInsert struct {
	ex      dbx.Executor
	head    string // INSERT INTO t (a, b, c) VALUES
	tuple   string // (?, ?, 'literal')
	perRow  int    // bound values per row
	perStmt int
	full    *sql.Stmt // the statement of perStmt rows, once prepared
	args    []any
}

// newBulkInsert prepares nothing yet. values has one entry per column: "?"
// for a value bound per row, or an SQL literal (see sqlText).
func newBulkInsert(ex dbx.Executor, table string, cols, values []string, perStmt int) *bulkInsert {
	b := &bulkInsert{ex: ex, perStmt: perStmt,
		head:  "INSERT OR FAIL INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES ",
		tuple: "(" + strings.Join(values, ", ") + ")"}
	for _, v := range values {
		if v == "?" {
			b.perRow++
		}
	}
	b.args = make([]any, 0, b.perRow*perStmt)
	return b
}

// add queues one row: its bound values, in column order.
func (b *bulkInsert) add(vals ...any) error {
	if len(vals) != b.perRow {
		return fmt.Errorf("bulk insert: %d values for %d parameters", len(vals), b.perRow)
	}
	b.args = append(b.args, vals...)
	if len(b.args) == cap(b.args) {
		return b.exec()
	}
	return nil
}

// flush writes the rows queued.
func (b *bulkInsert) flush() error {
	if len(b.args) == 0 {
		return nil
	}
	return b.exec()
}

func (b *bulkInsert) exec() error {
	n := len(b.args) / b.perRow
	stmt := b.full
	if n != b.perStmt || stmt == nil {
		var err error
		if stmt, err = b.ex.Prepare(b.sql(n)); err != nil {
			return fmt.Errorf("preparing %s: %w", b.head, err)
		}
		if n == b.perStmt {
			b.full = stmt
		} else {
			defer stmt.Close() // a batch's last rows: used once
		}
	}
	_, err := stmt.Exec(b.args...)
	clear(b.args)
	b.args = b.args[:0]
	if err != nil {
		return fmt.Errorf("%s: %w", b.head, err)
	}
	return nil
}

func (b *bulkInsert) sql(rows int) string {
	var s strings.Builder
	s.Grow(len(b.head) + rows*(len(b.tuple)+1))
	s.WriteString(b.head)
	for i := 0; i < rows; i++ {
		if i > 0 {
			s.WriteByte(',')
		}
		s.WriteString(b.tuple)
	}
	return s.String()
}

func (b *bulkInsert) close() {
	if b.full != nil {
		b.full.Close()
		b.full = nil
	}
}

// statementJournaled lists which of tables would make SQLite keep a
// statement journal for a multi-row INSERT even with OR FAIL: it does for
// any statement that writes several rows and calls a function, and a
// function call in an index expression or a partial index's condition (the
// segments area's custom-field indexes: json_valid, json_extract) or in a
// trigger counts. The journal copies every page the statement touches, and
// modernc's allocator maps and unmaps memory for it: measured, two
// custom-field indexes cost 50 µs per contact with 16-row statements. Those
// tables get one row per statement. The test is conservative: any trigger,
// or any index whose SQL has two opening parentheses.
func statementJournaled(tx core.App, tables ...string) (map[string]bool, error) {
	var hit []string
	err := tx.DB().NewQuery(`SELECT DISTINCT tbl_name FROM sqlite_master
		WHERE tbl_name IN (SELECT value FROM json_each({:tables}))
		  AND (type = 'trigger' OR (type = 'index' AND sql LIKE '%(%(%'))`).
		Bind(dbx.Params{"tables": jsonList(tables)}).Column(&hit)
	if err != nil {
		return nil, fmt.Errorf("reading the indexes of %v: %w", tables, err)
	}
	out := make(map[string]bool, len(hit))
	for _, t := range hit {
		out[t] = true
	}
	return out, nil
}

// sqlText quotes s as an SQL string literal.
func sqlText(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// executor returns the database/sql transaction under tx, for statements
// bound positionally: dbx binds by name, through a map per execution.
func executor(tx core.App) (dbx.Executor, error) {
	if t, ok := tx.DB().(*dbx.Tx); ok {
		if b, ok := t.Builder.(interface{ Executor() dbx.Executor }); ok {
			return b.Executor(), nil
		}
	}
	return nil, errors.New("bulk inserts run inside a transaction")
}
