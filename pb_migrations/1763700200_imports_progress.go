package pb_migrations

import (
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
	"github.com/pocketbase/pocketbase/tools/types"
)

// What a CSV import needs beyond its counts: the columns it ignored, rows
// that matched a contact but changed nothing, the file's detected format,
// the consent wording it records, and its resume point (records committed
// and the length of rejected.csv at that commit) so that an import running
// when the process died continues from its last committed batch.
func init() {
	m.Register(func(app core.App) error {
		im, err := app.FindCollectionByNameOrId("imports")
		if err != nil {
			return err
		}
		min0 := types.Pointer(0.0)
		im.Fields.Add(
			&core.JSONField{Name: "ignored_columns", MaxSize: 64 << 10},
			&core.NumberField{Name: "unchanged_count", OnlyInt: true, Min: min0},
			&core.TextField{Name: "format", Max: 100},
			&core.TextField{Name: "consent_wording", Max: 2000},
			&core.NumberField{Name: "position", OnlyInt: true, Min: min0},
			&core.NumberField{Name: "rejected_bytes", OnlyInt: true, Min: min0},
		)
		return app.Save(im)
	}, func(app core.App) error {
		im, err := app.FindCollectionByNameOrId("imports")
		if err != nil {
			return err
		}
		for _, f := range []string{"ignored_columns", "unchanged_count", "format", "consent_wording", "position", "rejected_bytes"} {
			im.Fields.RemoveByName(f)
		}
		return app.Save(im)
	})
}
