package failedlog

import (
	"strings"

	"github.com/pocketbase/pocketbase/core"
)

// Explain returns SQLite's query plan for a page of f, for tests.
func Explain(app core.App, f Filter) string {
	where, p := f.where()
	p["lim"], p["off"] = 10, 0
	rows, err := app.DB().NewQuery("EXPLAIN QUERY PLAN " + selectRows + " WHERE " + where + f.order() + " LIMIT {:lim} OFFSET {:off}").Bind(p).Rows()
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
