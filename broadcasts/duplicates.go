package broadcasts

import (
	"encoding/json"
	"fmt"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"

	"pregon/reasons"
)

// Duplicate contacts are what the contacts area suggests merging: contacts
// with the same phone (E.164, so equal means the same number) or the same
// e-mail address. The seed asks that such a person get the broadcast once:
// of each group of duplicates in the audience, the oldest contact (lowest
// rowid) that is not left out for another reason gets it, and the other
// members that would have got it are left out as duplicate_identity. A
// member left out for another reason keeps that reason, so the counts say
// what a person can fix.
//
// The groups are found first over the whole table through the phone and
// e-mail indexes (two index-only scans, usually returning nothing), so that
// a broadcast without duplicates pays nothing per recipient.
func findDuplicates(app core.App, a *audience) ([]string, error) {
	var phones, emails []string
	err := scan(app, func(q dbx.Builder) error {
		if err := q.NewQuery(`SELECT phone FROM contacts WHERE phone != '' GROUP BY phone HAVING COUNT(*) > 1`).Column(&phones); err != nil {
			return fmt.Errorf("looking for contacts that share a phone: %w", err)
		}
		if err := q.NewQuery(`SELECT email FROM contacts WHERE email != '' GROUP BY email HAVING COUNT(*) > 1`).Column(&emails); err != nil {
			return fmt.Errorf("looking for contacts that share an e-mail: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(phones) == 0 && len(emails) == 0 {
		return nil, nil
	}
	pj, _ := json.Marshal(phones)
	ej, _ := json.Marshal(emails)
	sql, p, err := a.sql(queryOpts{
		where:       `(c.phone IN (SELECT value FROM json_each({:dupPhones})) OR c.email IN (SELECT value FROM json_each({:dupEmails})))`,
		whereParams: dbx.Params{"dupPhones": string(pj), "dupEmails": string(ej)},
	})
	if err != nil {
		return nil, err
	}
	var rows []struct {
		Crow   int64  `db:"crow"`
		ID     string `db:"contact"`
		Reason string `db:"reason"`
		Phone  string `db:"phone"`
		Email  string `db:"email"`
	}
	err = app.DB().NewQuery(`SELECT a.crow, a.contact, a.reason, COALESCE(c.phone, '') AS phone, COALESCE(c.email, '') AS email
		FROM (` + sql + `) a JOIN contacts c ON c.rowid = a.crow ORDER BY a.crow`).Bind(p).All(&rows)
	if err != nil {
		return nil, fmt.Errorf("reading the audience's duplicate contacts: %w", err)
	}
	// Union-find over shared phones and e-mails: A and B share a phone, B and
	// C an e-mail, so A, B and C are one person.
	parent := make([]int, len(rows))
	for i := range parent {
		parent[i] = i
	}
	var find func(int) int
	find = func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	union := func(i, j int) {
		if ri, rj := find(i), find(j); ri != rj {
			if rj < ri {
				ri, rj = rj, ri
			}
			parent[rj] = ri
		}
	}
	first := map[string]int{}
	for i, r := range rows {
		for _, k := range []string{"p:" + r.Phone, "e:" + r.Email} {
			if k == "p:" || k == "e:" {
				continue
			}
			if j, ok := first[k]; ok {
				union(i, j)
			} else {
				first[k] = i
			}
		}
	}
	served := map[int]bool{} // group root → someone in it gets the message
	var dups []string
	for i, r := range rows { // rows are in rowid order: oldest first
		if r.Reason != "" && r.Reason != reasons.DuplicateID {
			continue
		}
		g := find(i)
		if served[g] {
			dups = append(dups, r.ID)
			continue
		}
		served[g] = true
	}
	return dups, nil
}
