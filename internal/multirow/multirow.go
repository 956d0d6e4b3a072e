// Package multirow writes many rows with few SQLite statement executions:
// one statement covers a chunk of rows, and its prepared form is kept for
// the life of the connection pool.
//
// modernc SQLite's cost per execution (database/sql, binding, stepping,
// resetting) is large next to its cost per row, so hot paths write rows in
// chunks. Chunks stay small: the driver matches each positional parameter
// by scanning the argument list from the start, which makes one execution
// quadratic in its parameter count, and preparing a statement costs about
// 3 µs per row it names. A Stmt therefore prepares a few fixed chunk sizes
// once and covers any row count with them.
package multirow

import (
	"database/sql"
	"fmt"
	"sync"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// Stmt is one statement shape for n rows, built by SQL, executed in chunks
// of its sizes (largest first).
type Stmt struct {
	width int                // parameters per row
	sizes []int              // chunk sizes, descending, ending with 1
	build func(n int) string // the statement for n rows, with positional ? parameters

	mu    sync.Mutex
	stmts map[int]*sql.Stmt // prepared for the write pool; empty: per call
}

// New returns a statement whose rows bind width parameters each. db is the
// pool the statements are prepared on, at once, and kept for (PocketBase's
// nonconcurrent pool, where every write transaction runs: it has a single
// connection, so nothing can be prepared on it from inside a transaction);
// nil, or a failure to prepare, prepares them per call instead. sizes are
// the chunk sizes to use, e.g. 32, 8, 1.
func New(db *sql.DB, width int, sizes []int, build func(n int) string) *Stmt {
	s := &Stmt{width: width, sizes: sizes, build: build, stmts: map[int]*sql.Stmt{}}
	if db == nil {
		return s
	}
	for _, n := range sizes {
		st, err := db.Prepare(build(n))
		if err != nil {
			s.Close()
			return s
		}
		s.stmts[n] = st
	}
	return s
}

// WriterDB is the *sql.DB of app's write pool, or nil when app does not
// expose one (the statements are then prepared per call).
func WriterDB(app core.App) *sql.DB {
	if db, ok := app.NonconcurrentDB().(*dbx.DB); ok {
		return db.DB()
	}
	return nil
}

// executor is the *sql.Tx (as a dbx.Executor) behind a transaction-bound
// app: dbx.Tx embeds its query builder, whose executor is the transaction.
func executor(tx core.App) (dbx.Executor, error) {
	if !tx.IsTransactional() {
		return nil, fmt.Errorf("multirow: statements run inside a transaction (RunInTransaction)")
	}
	if t, ok := tx.NonconcurrentDB().(*dbx.Tx); ok {
		if b, ok := t.Builder.(interface{ Executor() dbx.Executor }); ok {
			return b.Executor(), nil
		}
	}
	return nil, fmt.Errorf("multirow: the transaction's builder %T exposes no executor", tx.NonconcurrentDB())
}

// Exec writes len(args)/width rows through tx (a transaction-bound app) and
// returns how many rows the statements changed.
func (s *Stmt) Exec(tx core.App, args []any) (int64, error) {
	var total int64
	err := s.each(tx, args, func(st *sql.Stmt, chunk []any) error {
		res, err := st.Exec(chunk...)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		total += n
		return err
	})
	return total, err
}

// each splits args into chunks and runs run on each chunk with the
// statement for its size, bound to tx.
func (s *Stmt) each(tx core.App, args []any, run func(*sql.Stmt, []any) error) error {
	if len(args)%s.width != 0 {
		return fmt.Errorf("multirow: %d arguments are not whole rows of %d", len(args), s.width)
	}
	ex, err := executor(tx)
	if err != nil {
		return err
	}
	sqlTx, isTx := ex.(*sql.Tx)
	s.mu.Lock()
	shared := s.stmts
	s.mu.Unlock()
	cached := isTx && len(shared) > 0
	local := map[int]*sql.Stmt{} // prepared for this call only
	defer func() {
		for _, st := range local {
			st.Close()
		}
	}()
	rows := len(args) / s.width
	for _, size := range s.sizes {
		for rows >= size {
			var st *sql.Stmt
			if cached {
				// The pool's statement, bound to the transaction's
				// connection (database/sql reuses its prepared form there).
				st = sqlTx.Stmt(shared[size])
			} else if st = local[size]; st == nil {
				if st, err = ex.Prepare(s.build(size)); err != nil {
					return err
				}
				local[size] = st
			}
			err := run(st, args[:size*s.width])
			if cached {
				st.Close()
			}
			if err != nil {
				return err
			}
			args, rows = args[size*s.width:], rows-size
		}
	}
	return nil
}

// Close releases the prepared statements.
func (s *Stmt) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, st := range s.stmts {
		st.Close()
	}
	s.stmts = map[int]*sql.Stmt{}
}

// Rows repeats row (one row's parenthesised placeholders) n times,
// comma-separated: the VALUES list of an n-row statement.
func Rows(row string, n int) string {
	b := make([]byte, 0, n*(len(row)+1))
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, row...)
	}
	return string(b)
}
