package contactcsv

import (
	"encoding/json"
	"fmt"
	"hash/maphash"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"

	"pregon/contacts"
	"pregon/events"
)

// Counts are an import's progress.
type Counts struct {
	Read      int `db:"rows_read" json:"rows_read"`
	Created   int `db:"created_count" json:"created_count"`
	Updated   int `db:"updated_count" json:"updated_count"`
	Unchanged int `db:"unchanged_count" json:"unchanged_count"`
	Skipped   int `db:"skipped_count" json:"skipped_count"`
	Rejected  int `db:"rejected_count" json:"rejected_count"`
}

// stored is a contact as it is in the database.
type stored struct {
	ID        string  `db:"id"`
	FirstName string  `db:"first_name"`
	LastName  string  `db:"last_name"`
	Phone     string  `db:"phone"`
	Email     string  `db:"email"`
	Language  string  `db:"language"`
	Country   string  `db:"country"`
	Timezone  string  `db:"timezone"`
	TagsJSON  *string `db:"tags"`
	FieldJSON *string `db:"fields"`

	idents []*identity
}

type identity struct {
	ID         string `db:"id"`
	Contact    string `db:"contact"`
	Kind       string `db:"kind"`
	Identifier string `db:"identifier"`
	FromPhone  bool   `db:"from_phone"`
	Consent    string `db:"consent"`
	ConsentAt  string `db:"consent_at"`
	Source     string `db:"consent_source"`
	Wording    string `db:"consent_wording"`

	isNew, dirty bool
	was          string // the identifier before this row moved it
}

// writer applies batches of rows, in file order, inside transactions. It is
// the only goroutine that writes, and the only one that keeps state across
// batches: the identifiers seen so far, for "duplicate of line N".
type writer struct {
	importID string
	actor    string
	req      Request
	mode     Mode
	ident    Identifier
	seed     maphash.Seed
	seen     map[uint64]int32
	counts   Counts
	newID    func() string
}

func newWriter(importID string, req Request) *writer {
	return &writer{
		importID: importID, actor: "import:" + importID, req: req, mode: req.Mode, ident: req.Identifier,
		seed: maphash.MakeSeed(), seen: make(map[uint64]int32, 1<<16), newID: newIDSeq(time.Now()).next,
	}
}

// markDuplicates rejects rows whose identifier an earlier row of the file
// already had, and remembers the others'. Replayed rows (on resume) go
// through it too, so the map is the same as before the restart.
func (w *writer) markDuplicates(rows []row) {
	for i := range rows {
		r := &rows[i]
		if r.reject != "" || r.key == "" {
			continue
		}
		h := maphash.String(w.seed, r.key)
		if first, dup := w.seen[h]; dup {
			r.reject = fmt.Sprintf("duplicate of line %d (same %s %s); each contact may appear once per file", first, w.ident, r.key)
			continue
		}
		w.seen[h] = int32(r.line)
	}
}

// batch is the state of one transaction.
type batch struct {
	tx     core.App
	now    string
	owners map[string]string // kind + "\x00" + identifier → contact id
	byKey  map[string][]*stored
	evs    []events.Event
	// prepared statements
	insContact, updContact, insIdent, updIdent *dbx.Query
}

func ownerKey(kind, identifier string) string { return kind + "\x00" + identifier }

// apply writes rows (already through markDuplicates) in tx and counts them;
// rejected rows are passed to reject.
func (w *writer) apply(tx core.App, rows []row, reject func(r *row) error) error {
	b := &batch{tx: tx, now: types.NowDateTime().String()}
	if err := w.load(b, rows); err != nil {
		return err
	}
	b.insContact = tx.DB().NewQuery(`INSERT INTO contacts (id, first_name, last_name, phone, email, language, country, timezone, tags, fields, created, updated)
		VALUES ({:id}, {:first_name}, {:last_name}, {:phone}, {:email}, {:language}, {:country}, {:timezone}, {:tags}, {:fields}, {:now}, {:now})`).Prepare()
	b.updContact = tx.DB().NewQuery(`UPDATE contacts SET first_name = {:first_name}, last_name = {:last_name}, phone = {:phone}, email = {:email},
		language = {:language}, country = {:country}, timezone = {:timezone}, tags = {:tags}, fields = {:fields}, updated = {:now} WHERE id = {:id}`).Prepare()
	b.insIdent = tx.DB().NewQuery(`INSERT INTO contact_identities (id, contact, kind, identifier, from_phone, consent, consent_at, consent_source, consent_wording, created, updated)
		VALUES ({:id}, {:contact}, {:kind}, {:identifier}, {:from_phone}, {:consent}, {:consent_at}, {:source}, {:wording}, {:now}, {:now})`).Prepare()
	b.updIdent = tx.DB().NewQuery(`UPDATE contact_identities SET identifier = {:identifier}, from_phone = {:from_phone}, consent = {:consent},
		consent_at = {:consent_at}, consent_source = {:source}, consent_wording = {:wording}, updated = {:now} WHERE id = {:id}`).Prepare()
	defer func() {
		for _, q := range []*dbx.Query{b.insContact, b.updContact, b.insIdent, b.updIdent} {
			q.Close()
		}
	}()
	for i := range rows {
		r := &rows[i]
		w.counts.Read++
		if r.reject == "" {
			if err := w.applyRow(b, r); err != nil {
				return fmt.Errorf("line %d: %w", r.line, err)
			}
		}
		if r.reject != "" {
			w.counts.Rejected++
			if err := reject(r); err != nil {
				return err
			}
		}
	}
	return events.AppendMany(tx, b.evs)
}

// load reads, in one query each, the contacts the rows match and the
// owners of every identifier the rows bring.
func (w *writer) load(b *batch, rows []row) error {
	var keys, idents []string
	for i := range rows {
		r := &rows[i]
		if r.reject != "" {
			continue
		}
		if r.key != "" {
			keys = append(keys, r.key)
		}
		for _, v := range []string{r.phone, r.whatsapp, r.telegram} {
			if v != "" {
				idents = append(idents, v)
			}
		}
	}
	// "!= ''" lets SQLite use the partial indexes on phone and email.
	col := map[Identifier]string{ByID: "id", ByPhone: "phone", ByEmail: "email"}[w.ident]
	var found []*stored
	if len(keys) > 0 {
		err := b.tx.DB().NewQuery(`SELECT id, first_name, last_name, phone, email, language, country, timezone, tags, fields
			FROM contacts WHERE ` + col + ` IN (SELECT value FROM json_each({:keys})) AND ` + col + ` != ''`).
			Bind(dbx.Params{"keys": jsonList(keys)}).All(&found)
		if err != nil {
			return fmt.Errorf("looking up contacts by %s: %w", col, err)
		}
	}
	b.byKey = make(map[string][]*stored, len(found))
	byID := make(map[string]*stored, len(found))
	ids := make([]string, 0, len(found))
	for _, c := range found {
		k := map[Identifier]string{ByID: c.ID, ByPhone: c.Phone, ByEmail: c.Email}[w.ident]
		b.byKey[k] = append(b.byKey[k], c)
		byID[c.ID] = c
		ids = append(ids, c.ID)
	}
	var owned []*identity
	if len(idents) > 0 || len(ids) > 0 {
		err := b.tx.DB().NewQuery(`SELECT id, contact, kind, identifier, from_phone, consent, consent_at, consent_source, consent_wording FROM contact_identities
			WHERE (kind IN ('sms', 'whatsapp', 'telegram') AND identifier IN (SELECT value FROM json_each({:idents})))
			   OR contact IN (SELECT value FROM json_each({:ids}))`).
			Bind(dbx.Params{"idents": jsonList(idents), "ids": jsonList(ids)}).All(&owned)
		if err != nil {
			return fmt.Errorf("looking up identities: %w", err)
		}
	}
	b.owners = make(map[string]string, len(owned))
	for _, id := range owned {
		b.owners[ownerKey(id.Kind, id.Identifier)] = id.Contact
		if c := byID[id.Contact]; c != nil {
			c.idents = append(c.idents, id)
		}
	}
	return nil
}

func jsonList(s []string) string {
	if len(s) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(s)
	return string(b)
}

// applyRow decides what a row does and writes it. A reason to refuse the
// row goes into r.reject; an error is a fault that stops the import.
func (w *writer) applyRow(b *batch, r *row) error {
	var existing *stored
	if r.key != "" {
		switch m := b.byKey[r.key]; len(m) {
		case 0:
		case 1:
			existing = m[0]
		default:
			if w.mode == AddOnly { // it exists, which is all add_only asks
				w.counts.Skipped++
				return nil
			}
			r.reject = fmt.Sprintf("%d contacts have %s %s; import by id to say which one", len(m), w.ident, r.key)
			return nil
		}
	}
	switch {
	case existing == nil && w.mode == UpdateOnly:
		w.counts.Skipped++
		return nil
	case existing != nil && w.mode == AddOnly:
		w.counts.Skipped++
		return nil
	case existing == nil:
		return w.create(b, r)
	default:
		return w.update(b, r, existing)
	}
}

// claim checks that identifier (kind) is free or already contactID's.
func (b *batch) claim(kind, identifier, contactID, label string) string {
	if owner := b.owners[ownerKey(kind, identifier)]; owner != "" && owner != contactID {
		return fmt.Sprintf("%s %s belongs to another contact (%s); merge the two contacts or fix the number", label, identifier, owner)
	}
	return ""
}

func (w *writer) create(b *batch, r *row) error {
	id := r.id
	if id == "" {
		id = w.newID()
	}
	var ids []*identity
	add := func(kind, identifier string, fromPhone bool) {
		ids = append(ids, &identity{ID: w.newID(), Contact: id, Kind: kind, Identifier: identifier, FromPhone: fromPhone, isNew: true})
	}
	if r.phone != "" {
		add("sms", r.phone, true)
		if r.whatsapp == "" {
			add("whatsapp", r.phone, true)
		}
	}
	if r.whatsapp != "" {
		add("whatsapp", r.whatsapp, false)
	}
	if r.telegram != "" {
		add("telegram", r.telegram, false)
	}
	for _, it := range ids {
		if why := b.claim(it.Kind, it.Identifier, id, label(it)); why != "" {
			r.reject = why
			return nil
		}
	}
	if why := w.consent(r, ids); why != "" {
		r.reject = why
		return nil
	}
	if _, err := b.insContact.Bind(dbx.Params{
		"id": id, "first_name": r.firstName, "last_name": r.lastName, "phone": r.phone, "email": r.email,
		"language": r.language, "country": r.country, "timezone": r.timezone,
		"tags": r.tagsJSON, "fields": r.fieldsJSON, "now": b.now,
	}).Execute(); err != nil {
		return fmt.Errorf("creating contact %s: %w", id, err)
	}
	if err := w.writeIdentities(b, ids); err != nil {
		return err
	}
	w.counts.Created++
	b.evs = append(b.evs, events.Event{ID: w.newID(), Type: "contact.created", Contact: id, Actor: w.actor})
	if len(r.tags) > 0 {
		b.evs = append(b.evs, events.Event{ID: w.newID(), Type: "tag.added", Contact: id, Actor: w.actor, Payload: map[string]any{"tags": r.tags}})
	}
	return nil
}

func label(it *identity) string {
	switch {
	case it.Kind == "telegram":
		return "telegram chat id"
	case it.FromPhone:
		return "phone"
	default:
		return "whatsapp number"
	}
}

// consent applies the row's opt_in to identities (marking changed ones
// dirty); it returns a reason to reject the row, or "".
func (w *writer) consent(r *row, ids []*identity) string {
	if r.consent == consentNone {
		return ""
	}
	if len(ids) == 0 {
		return "opt_in needs a phone, whatsapp or telegram to apply to; this contact has none"
	}
	state := map[int]string{consentIn: "opted_in", consentOut: "opted_out"}[r.consent]
	at := r.consentAt
	if at == "" {
		at = types.NowDateTime().String()
	}
	wording := w.req.ConsentWording
	if wording == "" {
		wording = DefaultWording(w.req.Filename, r.consent == consentIn)
	}
	for _, it := range ids {
		if it.Consent == state {
			continue // keep the evidence already recorded for this state
		}
		it.Consent, it.ConsentAt, it.Source, it.Wording, it.dirty = state, at, w.req.ConsentSource, wording, true
	}
	return ""
}

func (w *writer) writeIdentities(b *batch, ids []*identity) error {
	for _, it := range ids {
		p := dbx.Params{"id": it.ID, "identifier": it.Identifier, "from_phone": it.FromPhone, "consent": it.Consent,
			"consent_at": it.ConsentAt, "source": it.Source, "wording": it.Wording, "now": b.now}
		var err error
		switch {
		case it.isNew:
			p["contact"], p["kind"] = it.Contact, it.Kind
			_, err = b.insIdent.Bind(p).Execute()
		case it.dirty:
			_, err = b.updIdent.Bind(p).Execute()
		default:
			continue
		}
		if err != nil {
			return fmt.Errorf("writing the %s identity %s: %w", it.Kind, it.Identifier, err)
		}
		if it.was != "" && it.was != it.Identifier {
			delete(b.owners, ownerKey(it.Kind, it.was)) // freed for later rows
		}
		b.owners[ownerKey(it.Kind, it.Identifier)] = it.Contact
	}
	return nil
}

func (w *writer) update(b *batch, r *row, c *stored) error {
	var changed []string
	set := func(name string, dst *string, v string) {
		if v != "" && v != *dst {
			*dst = v
			changed = append(changed, name)
		}
	}
	oldPhone := c.Phone
	set("first_name", &c.FirstName, r.firstName)
	set("last_name", &c.LastName, r.lastName)
	set("phone", &c.Phone, r.phone)
	set("email", &c.Email, r.email)
	set("language", &c.Language, r.language)
	set("country", &c.Country, r.country)
	set("timezone", &c.Timezone, r.timezone)

	var tags []string
	if c.TagsJSON != nil {
		_ = json.Unmarshal([]byte(*c.TagsJSON), &tags)
	}
	var added []string
	for _, t := range r.tags {
		if !contains(tags, t) {
			tags = append(tags, t)
			added = append(added, t)
		}
	}
	if len(tags) > contacts.MaxTagsPerContact {
		r.reject = fmt.Sprintf("the contact would have %d tags; the maximum is %d", len(tags), contacts.MaxTagsPerContact)
		return nil
	}
	if len(added) > 0 {
		changed = append(changed, "tags")
	}
	fields := map[string]any{}
	if c.FieldJSON != nil {
		_ = json.Unmarshal([]byte(*c.FieldJSON), &fields)
	}
	fieldsChanged := false
	for k, v := range r.fields {
		if old, ok := fields[k]; !ok || old != v {
			fields[k] = v
			fieldsChanged = true
		}
	}
	if fieldsChanged {
		changed = append(changed, "fields")
	}

	idsChanged, why := w.updateIdentities(b, r, c, oldPhone)
	if why == "" {
		why = w.consent(r, c.idents)
	}
	if why != "" {
		r.reject = why
		return nil
	}
	for _, it := range c.idents {
		if it.isNew || it.dirty {
			idsChanged = true
		}
	}
	if idsChanged {
		changed = append(changed, "identities")
	}
	if len(changed) == 0 {
		w.counts.Unchanged++
		return nil
	}
	if _, err := b.updContact.Bind(dbx.Params{
		"id": c.ID, "first_name": c.FirstName, "last_name": c.LastName, "phone": c.Phone, "email": c.Email,
		"language": c.Language, "country": c.Country, "timezone": c.Timezone,
		"tags": jsonText(tags, len(tags) == 0 && c.TagsJSON == nil), "fields": jsonText(fields, len(fields) == 0 && c.FieldJSON == nil), "now": b.now,
	}).Execute(); err != nil {
		return fmt.Errorf("updating contact %s: %w", c.ID, err)
	}
	if err := w.writeIdentities(b, c.idents); err != nil {
		return err
	}
	w.counts.Updated++
	b.evs = append(b.evs, events.Event{ID: w.newID(), Type: "contact.updated", Contact: c.ID, Actor: w.actor, Payload: map[string]any{"changed": changed}})
	if len(added) > 0 {
		b.evs = append(b.evs, events.Event{ID: w.newID(), Type: "tag.added", Contact: c.ID, Actor: w.actor, Payload: map[string]any{"tags": added}})
	}
	return nil
}

// updateIdentities moves the phone-following identities to a new phone,
// sets the WhatsApp and Telegram identities the row names, and checks that
// every identifier is free. It reports whether an identifier changed.
func (w *writer) updateIdentities(b *batch, r *row, c *stored, oldPhone string) (bool, string) {
	find := func(kind string) *identity {
		for _, it := range c.idents {
			if it.Kind == kind {
				return it
			}
		}
		return nil
	}
	changed := false
	move := func(it *identity, identifier string, fromPhone bool) {
		if it.Identifier != identifier || it.FromPhone != fromPhone {
			if it.was == "" {
				it.was = it.Identifier
			}
			it.Identifier, it.FromPhone, it.dirty = identifier, fromPhone, true
			changed = true
		}
	}
	add := func(kind, identifier string, fromPhone bool) {
		c.idents = append(c.idents, &identity{ID: w.newID(), Contact: c.ID, Kind: kind, Identifier: identifier, FromPhone: fromPhone, isNew: true})
		changed = true
	}
	if r.phone != "" && r.phone != oldPhone {
		if sms := find("sms"); sms == nil {
			add("sms", r.phone, true)
		} else if sms.FromPhone || sms.Identifier == oldPhone {
			move(sms, r.phone, true)
		}
		if wa := find("whatsapp"); wa == nil && r.whatsapp == "" {
			add("whatsapp", r.phone, true)
		} else if wa != nil && wa.FromPhone && r.whatsapp == "" {
			move(wa, r.phone, true)
		}
	}
	if r.whatsapp != "" {
		if wa := find("whatsapp"); wa == nil {
			add("whatsapp", r.whatsapp, false)
		} else if wa.Identifier != r.whatsapp {
			move(wa, r.whatsapp, false)
		}
	}
	if r.telegram != "" {
		if tg := find("telegram"); tg == nil {
			add("telegram", r.telegram, false)
		} else {
			move(tg, r.telegram, false)
		}
	}
	for _, it := range c.idents {
		if it.isNew || it.dirty {
			if why := b.claim(it.Kind, it.Identifier, c.ID, label(it)); why != "" {
				return false, why
			}
		}
	}
	return changed, ""
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
