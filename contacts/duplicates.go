package contacts

import (
	"fmt"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// DuplicateContact is one member of a group of likely duplicates.
type DuplicateContact struct {
	ID        string `db:"id" json:"id"`
	FirstName string `db:"first_name" json:"first_name"`
	LastName  string `db:"last_name" json:"last_name"`
	Phone     string `db:"phone" json:"phone"`
	Email     string `db:"email" json:"email"`
	Created   string `db:"created" json:"created"`
}

// DuplicateGroup is contacts sharing a phone or an e-mail address.
type DuplicateGroup struct {
	By       string             `json:"by"` // "phone" or "email"
	Value    string             `json:"value"`
	Contacts []DuplicateContact `json:"contacts"`
}

// DuplicatesMaxGroups bounds one answer of Duplicates.
const DuplicatesMaxGroups = 200

// Duplicates suggests contacts to merge: groups of contacts with the same
// phone (stored in E.164, so equal means the same number) or the same
// e-mail address compared case-insensitively, largest groups first, at most
// limit groups of each kind. Members are oldest first: the oldest is the
// natural survivor.
func Duplicates(app core.App, limit int) ([]DuplicateGroup, error) {
	if limit <= 0 || limit > DuplicatesMaxGroups {
		limit = 50
	}
	out := []DuplicateGroup{}
	for _, by := range []struct{ name, expr string }{{"phone", "phone"}, {"email", "lower(email)"}} {
		var values []string
		err := app.DB().NewQuery(`SELECT ` + by.expr + ` AS v FROM contacts WHERE ` + by.name + ` != ''
			GROUP BY v HAVING COUNT(*) > 1 ORDER BY COUNT(*) DESC, v LIMIT {:limit}`).
			Bind(dbx.Params{"limit": limit}).Column(&values)
		if err != nil {
			return nil, fmt.Errorf("looking for contacts with the same %s: %w", by.name, err)
		}
		for _, v := range values {
			g := DuplicateGroup{By: by.name, Value: v}
			err := app.DB().NewQuery(`SELECT id, first_name, last_name, phone, email, created FROM contacts
				WHERE ` + by.expr + ` = {:v} ORDER BY created, id LIMIT 100`).
				Bind(dbx.Params{"v": v}).All(&g.Contacts)
			if err != nil {
				return nil, fmt.Errorf("reading the contacts with %s %s: %w", by.name, v, err)
			}
			out = append(out, g)
		}
	}
	return out, nil
}
