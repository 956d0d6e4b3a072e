// Package sqlplan shows how SQLite will run a query, for tests that pin an
// index and for benchmarks that print their plans.
package sqlplan

import (
	"strings"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// Explain returns SQLite's EXPLAIN QUERY PLAN for q as one line, steps
// separated by " | "; an error reads as its message.
func Explain(app core.App, q string, params dbx.Params) string {
	rows, err := app.DB().NewQuery("EXPLAIN QUERY PLAN " + q).Bind(params).Rows()
	if err != nil {
		return err.Error()
	}
	defer rows.Close()
	var steps []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if rows.Scan(&id, &parent, &unused, &detail) == nil {
			steps = append(steps, detail)
		}
	}
	return strings.Join(steps, " | ")
}
