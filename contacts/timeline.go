package contacts

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"

	"pregon/events"
)

// Timeline page limits.
const (
	TimelineDefaultLimit = 50
	TimelineMaxLimit     = 200
	// maxMergedContacts bounds how many merged-in contacts a timeline follows.
	maxMergedContacts = 1000
)

// MergedContacts returns contactID followed by every contact merged into it,
// directly or through earlier merges, as recorded by contact.merged events.
func MergedContacts(app core.App, contactID string) ([]string, error) {
	ids := []string{contactID}
	seen := map[string]bool{contactID: true}
	frontier := []string{contactID}
	for len(frontier) > 0 && len(ids) < maxMergedContacts {
		params := dbx.Params{}
		holders := make([]string, len(frontier))
		for i, id := range frontier {
			k := "c" + strconv.Itoa(i)
			params[k] = id
			holders[i] = "{:" + k + "}"
		}
		var others []string
		// Merges are few: read them through the type index. The unary +
		// keeps SQLite from walking the contact's whole history instead.
		err := app.DB().NewQuery(`SELECT subject FROM events WHERE type = '` + EventContactMerged + `'
			AND +contact IN (` + strings.Join(holders, ",") + `) ORDER BY rowid`).Bind(params).Column(&others)
		if err != nil {
			return nil, fmt.Errorf("reading the merges into contact %s: %w", contactID, err)
		}
		frontier = frontier[:0]
		for _, o := range others {
			if o != "" && !seen[o] {
				seen[o] = true
				ids = append(ids, o)
				frontier = append(frontier, o)
			}
		}
	}
	return ids, nil
}

// Timeline returns a contact's events newest first: those recorded for it
// and for every contact merged into it. before pages by the log's seq
// (rowid): only events with a smaller seq are returned; 0 means the newest.
func Timeline(app core.App, contactID string, before int64, limit int) ([]events.Row, error) {
	if limit <= 0 || limit > TimelineMaxLimit {
		limit = TimelineDefaultLimit
	}
	if before <= 0 {
		before = math.MaxInt64
	}
	ids, err := MergedContacts(app, contactID)
	if err != nil {
		return nil, err
	}
	params := dbx.Params{"before": before, "limit": limit}
	holders := make([]string, len(ids))
	for i, id := range ids {
		k := "c" + strconv.Itoa(i)
		params[k] = id
		holders[i] = "{:" + k + "}"
	}
	rows := []events.Row{}
	err = app.DB().NewQuery(`SELECT ` + events.RowColumns + `
		FROM events WHERE contact IN (` + strings.Join(holders, ",") + `) AND rowid < {:before}
		ORDER BY rowid DESC LIMIT {:limit}`).Bind(params).All(&rows)
	if err != nil {
		return nil, fmt.Errorf("reading the timeline of contact %s: %w", contactID, err)
	}
	return rows, nil
}
