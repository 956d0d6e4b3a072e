package contactcsv

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"

	"pregon/contacts"
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
	Assignee  string  `db:"assignee"`
	TagsJSON  *string `db:"tags"`
	FieldJSON *string `db:"fields"`

	idents []*identity
}

// contact returns s in the shape the shared contact rules use.
func (s *stored) contact() contacts.Contact {
	c := contacts.Contact{ID: s.ID, FirstName: s.FirstName, LastName: s.LastName, Phone: s.Phone, Email: s.Email,
		Language: s.Language, Country: s.Country, Timezone: s.Timezone, Assignee: s.Assignee,
		Tags: []string{}, Fields: map[string]any{}}
	if s.TagsJSON != nil {
		_ = json.Unmarshal([]byte(*s.TagsJSON), &c.Tags)
	}
	if s.FieldJSON != nil {
		_ = json.Unmarshal([]byte(*s.FieldJSON), &c.Fields)
	}
	if c.Tags == nil {
		c.Tags = []string{}
	}
	if c.Fields == nil {
		c.Fields = map[string]any{}
	}
	return c
}

// identity is a contact_identities row with what the import changes on it.
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

	isNew, deleted bool
	was            *identity // the row as loaded, when the import moved it
	consentFrom    *contacts.Consent
}

func (it *identity) shared() contacts.Identity {
	return contacts.Identity{ID: it.ID, Contact: it.Contact, Kind: it.Kind, Identifier: it.Identifier, FromPhone: it.FromPhone}
}

// fact is how events describe an identity (as the identity hook does).
func (it *identity) fact() contacts.IdentityFact {
	return contacts.IdentityFact{Identity: it.ID, Kind: it.Kind, Identifier: it.Identifier, FromPhone: it.FromPhone}
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
	now      func() time.Time
}

func newWriter(importID string, req Request) *writer {
	return &writer{
		importID: importID, actor: "import:" + importID, req: req, mode: req.Mode, ident: req.Identifier,
		seed: maphash.MakeSeed(), seen: make(map[uint64]int32, 1<<16), newID: newIDSeq(time.Now()).next, now: time.Now,
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

// Rows per multi-row INSERT statement (see bulkInsert): 150-200 bound
// values each, where the driver's quadratic binding is still cheap
// (measured: 8-16 rows of contact_identities per statement cost the least
// CPU per row; 64 cost more than 1).
const (
	contactsPerStmt   = 16
	identitiesPerStmt = 16
	eventsPerStmt     = 64
)

// batch is the state of one transaction.
type batch struct {
	tx     core.App
	now    string
	idents map[string]*identity // kind + "\x00" + identifier → the identity holding it
	byKey  map[string][]*stored
	// New rows go through multi-row INSERTs, flushed at the end of the
	// batch; the rare updates and deletes run at once (prepared on first
	// use). Nothing in a batch reads what it inserted: the checks run on
	// idents and byKey.
	insContacts, insIdents, insEvents *bulkInsert
	// insPlainIdents takes the identities without consent (most of them):
	// four bound values fewer each, binding being ~15% of the writer.
	insPlainIdents                 *bulkInsert
	updContact, updIdent, delIdent *dbx.Query
}

// prepared returns *q, preparing sql on first use.
func (b *batch) prepared(q **dbx.Query, sql string) *dbx.Query {
	if *q == nil {
		*q = b.tx.DB().NewQuery(sql).Prepare()
	}
	return *q
}

func (b *batch) close() {
	for _, q := range []*dbx.Query{b.updContact, b.updIdent, b.delIdent} {
		if q != nil {
			q.Close()
		}
	}
	for _, bi := range []*bulkInsert{b.insContacts, b.insIdents, b.insPlainIdents, b.insEvents} {
		if bi != nil {
			bi.close()
		}
	}
}

func identKey(kind, identifier string) string { return kind + "\x00" + identifier }

func (b *batch) hold(it *identity) { b.idents[identKey(it.Kind, it.Identifier)] = it }

// conflict returns the other contact holding (kind, identifier), or "".
func (b *batch) conflict(kind, identifier, contactID string) string {
	if it := b.idents[identKey(kind, identifier)]; it != nil && it.Contact != contactID {
		return it.Contact
	}
	return ""
}

func conflictText(label, kind, identifier, owner string) string {
	return label + " " + (&contacts.IdentityConflictError{Kind: kind, Identifier: identifier, Contact: owner}).Error()
}

// apply writes rows (already through markDuplicates) in tx and counts them;
// rejected rows are passed to reject.
func (w *writer) apply(tx core.App, rows []row, reject func(r *row) error) error {
	b := &batch{tx: tx, now: types.NowDateTime().String()}
	if err := w.load(b, rows); err != nil {
		return err
	}
	ex, err := executor(tx)
	if err != nil {
		return err
	}
	// The segments area may add indexes at any time: checked per batch.
	journaled, err := statementJournaled(tx, "contacts", "contact_identities", "events")
	if err != nil {
		return err
	}
	perStmt := func(table string, n int) int {
		if journaled[table] {
			return 1
		}
		return n
	}
	now := sqlText(b.now)
	b.insContacts = newBulkInsert(ex, "contacts",
		[]string{"id", "first_name", "last_name", "phone", "email", "language", "country", "timezone", "tags", "fields", "created", "updated"},
		[]string{"?", "?", "?", "?", "?", "?", "?", "?", "?", "?", now, now}, perStmt("contacts", contactsPerStmt))
	b.insIdents = newBulkInsert(ex, "contact_identities",
		[]string{"id", "contact", "kind", "identifier", "from_phone", "consent", "consent_at", "consent_source", "consent_wording", "created", "updated"},
		[]string{"?", "?", "?", "?", "?", "?", "?", "?", "?", now, now}, perStmt("contact_identities", identitiesPerStmt))
	b.insPlainIdents = newBulkInsert(ex, "contact_identities",
		[]string{"id", "contact", "kind", "identifier", "from_phone", "consent", "consent_at", "consent_source", "consent_wording", "created", "updated"},
		[]string{"?", "?", "?", "?", "?", "''", "''", "''", "''", now, now}, perStmt("contact_identities", identitiesPerStmt))
	b.insEvents = newBulkInsert(ex, "events",
		[]string{"id", "type", "contact", "subject", "payload", "actor", "created"},
		[]string{"?", sqlText(contacts.EventContactImported), "?", "''", "?", sqlText(w.actor), now}, perStmt("events", eventsPerStmt))
	defer b.close()
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
	for _, bi := range []*bulkInsert{b.insContacts, b.insIdents, b.insPlainIdents, b.insEvents} {
		if err := bi.flush(); err != nil {
			return err
		}
	}
	return nil
}

// load reads, in one query each, the contacts the rows match and every
// identity the batch may touch: those holding the rows' identifiers and
// those of the matched contacts.
func (w *writer) load(b *batch, rows []row) error {
	var keys, phones, telegrams []string
	for i := range rows {
		r := &rows[i]
		if r.reject != "" {
			continue
		}
		if r.key != "" {
			keys = append(keys, r.key)
		}
		// A phone may be held as sms or whatsapp, a WhatsApp number as
		// whatsapp: each is looked up under the kinds it can conflict with.
		for _, v := range []string{r.c.Phone, r.whatsapp} {
			if v != "" {
				phones = append(phones, v)
			}
		}
		if r.telegram != "" {
			telegrams = append(telegrams, r.telegram)
		}
	}
	// The lists are joined, not matched with IN (SELECT ...): IN builds a
	// temporary index of the whole list first. CROSS JOIN keeps the list as
	// the outer loop, so each value is one probe of the table's index;
	// "!= ''" lets SQLite use the partial indexes on phone and email.
	col := map[Identifier]string{ByID: "id", ByPhone: "phone", ByEmail: "email"}[w.ident]
	var found []*stored
	if len(keys) > 0 {
		err := b.tx.DB().NewQuery(`SELECT c.id, c.first_name, c.last_name, c.phone, c.email, c.language, c.country, c.timezone,
				c.assignee, c.tags, c.fields
			FROM json_each({:keys}) AS k CROSS JOIN contacts AS c ON c.` + col + ` = k.value AND c.` + col + ` != ''`).
			Bind(dbx.Params{"keys": jsonList(keys)}).All(&found)
		if err != nil {
			return fmt.Errorf("looking up contacts by %s: %w", col, err)
		}
	}
	b.byKey = make(map[string][]*stored, len(found))
	byID := make(map[string]*stored, len(found))
	ids := make([]string, 0, len(found))
	for _, c := range found {
		if byID[c.ID] != nil {
			continue // the file named it twice (a duplicate row, rejected)
		}
		k := map[Identifier]string{ByID: c.ID, ByPhone: c.Phone, ByEmail: c.Email}[w.ident]
		b.byKey[k] = append(b.byKey[k], c)
		byID[c.ID] = c
		ids = append(ids, c.ID)
	}
	var held []*identity
	if len(phones) > 0 || len(telegrams) > 0 || len(ids) > 0 {
		const cols = `i.id, i.contact, i.kind, i.identifier, i.from_phone, i.consent, i.consent_at, i.consent_source, i.consent_wording`
		err := b.tx.DB().NewQuery(`
			SELECT ` + cols + ` FROM json_each({:phones}) AS v CROSS JOIN contact_identities AS i
				ON i.kind IN ('sms', 'whatsapp') AND i.identifier = v.value
			UNION ALL SELECT ` + cols + ` FROM json_each({:telegrams}) AS v CROSS JOIN contact_identities AS i
				ON i.kind = 'telegram' AND i.identifier = v.value
			UNION ALL SELECT ` + cols + ` FROM json_each({:ids}) AS v CROSS JOIN contact_identities AS i
				ON i.contact = v.value`).
			Bind(dbx.Params{"phones": jsonList(phones), "telegrams": jsonList(telegrams), "ids": jsonList(ids)}).All(&held)
		if err != nil {
			return fmt.Errorf("looking up identities: %w", err)
		}
	}
	b.idents = make(map[string]*identity, len(held)+2*len(rows))
	for _, it := range held {
		if b.idents[identKey(it.Kind, it.Identifier)] != nil {
			continue // found by its identifier and by its contact
		}
		b.hold(it)
		if c := byID[it.Contact]; c != nil {
			c.idents = append(c.idents, it)
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

func (w *writer) create(b *batch, r *row) error {
	after := r.c
	after.ID = r.id
	if after.ID == "" {
		after.ID = w.newID()
	}
	c := &stored{ID: after.ID}
	if why := w.planIdentities(b, r, c, ""); why != "" {
		r.reject = why
		return nil
	}
	if why := w.consent(r, c.idents); why != "" {
		r.reject = why
		return nil
	}
	if err := b.insContacts.add(after.ID, after.FirstName, after.LastName, after.Phone, after.Email,
		after.Language, after.Country, after.Timezone, r.tagsJSON, r.fieldsJSON); err != nil {
		return fmt.Errorf("creating contacts: %w", err)
	}
	var facts contacts.Imported // the identity and consent facts: the rest is in r.createdEvent
	if err := w.writeIdentities(b, c.idents, &facts); err != nil {
		return err
	}
	head := r.createdEvent
	if len(head) == 0 { // rows are always encoded by the worker; this keeps a slip from panicking
		var err error
		if head, err = json.Marshal(contacts.NewImported(r.line, contacts.Compare(nil, after))); err != nil {
			return fmt.Errorf("encoding the event of line %d: %w", r.line, err)
		}
	}
	w.counts.Created++
	return w.record(b, after.ID, eventPayload(head, &facts))
}

// record queues a contact.imported event.
func (w *writer) record(b *batch, contactID string, payload []byte) error {
	if err := b.insEvents.add(w.newID(), contactID, string(payload)); err != nil {
		return fmt.Errorf("appending events: %w", err)
	}
	return nil
}

// eventPayload completes head, a contact.imported payload encoded without
// its identity and consent lists (by the worker, to spare the writer), with
// those of facts: the same bytes as encoding the whole Imported, since those
// lists are its last fields.
func eventPayload(head []byte, facts *contacts.Imported) []byte {
	out := append(make([]byte, 0, len(head)+256), head[:len(head)-1]...)
	add := func(key string, n int, list any) {
		if n > 0 {
			b, _ := json.Marshal(list) // plain structs of strings and bools
			out = append(append(out, `,"`+key+`":`...), b...)
		}
	}
	add("identities_removed", len(facts.IdentitiesRemoved), facts.IdentitiesRemoved)
	add("identities_added", len(facts.IdentitiesAdded), facts.IdentitiesAdded)
	add("consent_changed", len(facts.ConsentChanged), facts.ConsentChanged)
	return append(out, '}')
}

// planIdentities sets c's WhatsApp and Telegram identities from the row,
// then lets the shared phone rules (contacts.PlanPhoneIdentities) decide the
// identities that follow phone; oldPhone is c's phone before the row. It
// returns a reason to reject the row, or "".
func (w *writer) planIdentities(b *batch, r *row, c *stored, oldPhone string) string {
	find := func(kind string) *identity {
		for _, it := range c.idents {
			if it.Kind == kind && !it.deleted {
				return it
			}
		}
		return nil
	}
	set := func(kind, identifier string) string {
		if owner := b.conflict(kind, identifier, c.ID); owner != "" {
			return conflictText(kind, kind, identifier, owner)
		}
		if it := find(kind); it != nil {
			w.move(it, identifier, false)
			return ""
		}
		c.idents = append(c.idents, &identity{ID: w.newID(), Contact: c.ID, Kind: kind, Identifier: identifier, isNew: true})
		return ""
	}
	if r.whatsapp != "" {
		if why := set(contacts.KindWhatsApp, r.whatsapp); why != "" {
			return why
		}
	}
	if r.telegram != "" {
		if why := set(contacts.KindTelegram, r.telegram); why != "" {
			return why
		}
	}
	phone := r.c.Phone
	if phone == "" || phone == oldPhone {
		return ""
	}
	ids := make([]contacts.Identity, 0, len(c.idents)+2)
	for _, it := range c.idents {
		if !it.deleted {
			ids = append(ids, it.shared())
		}
	}
	for _, kind := range contacts.PhoneKinds {
		if it := b.idents[identKey(kind, phone)]; it != nil && it.Contact != c.ID {
			ids = append(ids, it.shared())
		}
	}
	plan, err := contacts.PlanPhoneIdentities(c.ID, phone, ids)
	var conflict *contacts.IdentityConflictError
	if errors.As(err, &conflict) {
		return conflictText("phone", conflict.Kind, conflict.Identifier, conflict.Contact)
	}
	byID := make(map[string]*identity, len(c.idents))
	for _, it := range c.idents {
		byID[it.ID] = it
	}
	for _, d := range plan.Delete {
		if it := byID[d.ID]; it != nil {
			it.deleted = true
		}
	}
	for _, m := range plan.Move {
		if it := byID[m.ID]; it != nil {
			w.move(it, m.Identifier, true)
		}
	}
	for _, n := range plan.Create {
		c.idents = append(c.idents, &identity{ID: w.newID(), Contact: c.ID, Kind: n.Kind, Identifier: n.Identifier, FromPhone: true, isNew: true})
	}
	return ""
}

// move changes an identity's identifier, remembering the row as loaded.
func (w *writer) move(it *identity, identifier string, fromPhone bool) {
	if it.Identifier == identifier && it.FromPhone == fromPhone {
		return
	}
	if it.was == nil && !it.isNew {
		was := *it
		it.was = &was
	}
	it.Identifier, it.FromPhone = identifier, fromPhone
}

// consent applies the row's opt_in to ids with the shared consent rules;
// an identity already in the requested state keeps the evidence it has, so
// importing the same file again changes nothing. It returns a reason to
// reject the row, or "".
func (w *writer) consent(r *row, ids []*identity) string {
	if r.consent == consentNone {
		return ""
	}
	live := 0
	for _, it := range ids {
		if !it.deleted {
			live++
		}
	}
	if live == 0 {
		return "opt_in needs a phone, whatsapp or telegram to apply to; this contact has none"
	}
	state := map[int]string{consentIn: contacts.ConsentOptedIn, consentOut: contacts.ConsentOptedOut}[r.consent]
	wording := w.req.ConsentWording
	if wording == "" {
		wording = DefaultWording(w.req.Filename, r.consent == consentIn)
	}
	want := contacts.Consent{Status: state, At: r.consentAt, Source: w.req.ConsentSource, Wording: wording}
	for _, it := range ids {
		if it.deleted || it.Consent == state {
			continue
		}
		before := contacts.Consent{Status: it.Consent, Source: it.Source, Wording: it.Wording}
		if at, err := types.ParseDateTime(it.ConsentAt); err == nil {
			before.At = at.Time()
		}
		got, changed, fe := contacts.ApplyConsentRules(before, want, w.now())
		if len(fe) > 0 {
			return "opt_in: " + fe.Error()
		}
		if !changed {
			continue
		}
		at, _ := types.ParseDateTime(got.At)
		it.Consent, it.ConsentAt, it.Source, it.Wording = got.Status, at.String(), got.Source, got.Wording
		it.consentFrom = &before
	}
	return ""
}

// writeIdentities writes what the row changed on ids and adds it to the
// row's event: the facts the identity hook's events would carry.
func (w *writer) writeIdentities(b *batch, ids []*identity, fact *contacts.Imported) error {
	for _, it := range ids {
		var err error
		switch {
		case it.deleted && !it.isNew:
			_, err = b.prepared(&b.delIdent, `DELETE FROM contact_identities WHERE id = {:id}`).Bind(dbx.Params{"id": it.ID}).Execute()
			delete(b.idents, identKey(it.Kind, it.Identifier))
			fact.IdentitiesRemoved = append(fact.IdentitiesRemoved, it.fact())
		case it.deleted:
		case it.isNew:
			if it.Consent == "" && it.ConsentAt == "" && it.Source == "" && it.Wording == "" {
				err = b.insPlainIdents.add(it.ID, it.Contact, it.Kind, it.Identifier, it.FromPhone)
			} else {
				err = b.insIdents.add(it.ID, it.Contact, it.Kind, it.Identifier, it.FromPhone, it.Consent, it.ConsentAt, it.Source, it.Wording)
			}
			b.hold(it)
			fact.IdentitiesAdded = append(fact.IdentitiesAdded, it.fact())
		case it.was != nil || it.consentFrom != nil:
			// A moved identity loses last_inbound_at: the 24-hour window
			// belonged to the old number (as contacts.ApplyPhonePlan does).
			_, err = b.prepared(&b.updIdent, `UPDATE contact_identities SET identifier = {:identifier}, from_phone = {:from_phone},
				consent = {:consent}, consent_at = {:consent_at}, consent_source = {:source}, consent_wording = {:wording},
				last_inbound_at = CASE WHEN {:moved} THEN '' ELSE last_inbound_at END, updated = {:now} WHERE id = {:id}`).
				Bind(dbx.Params{"id": it.ID, "identifier": it.Identifier, "from_phone": it.FromPhone, "consent": it.Consent,
					"consent_at": it.ConsentAt, "source": it.Source, "wording": it.Wording, "moved": it.was != nil, "now": b.now}).Execute()
			if it.was != nil && it.was.Identifier != it.Identifier {
				delete(b.idents, identKey(it.Kind, it.was.Identifier))
				b.hold(it)
				fact.IdentitiesRemoved = append(fact.IdentitiesRemoved, it.was.fact())
				fact.IdentitiesAdded = append(fact.IdentitiesAdded, it.fact())
			}
		default:
			continue
		}
		if err != nil {
			return fmt.Errorf("writing the %s identity %s: %w", it.Kind, it.Identifier, err)
		}
		if it.consentFrom != nil && !it.deleted {
			fact.ConsentChanged = append(fact.ConsentChanged, consentFact(it))
		}
	}
	return nil
}

// consentFact is what the identity hook's consent.changed event records.
func consentFact(it *identity) contacts.ConsentFact {
	before := *it.consentFrom
	f := contacts.ConsentFact{IdentityFact: it.fact(), From: before.Status, To: it.Consent, Source: it.Source, Wording: it.Wording}
	if at, err := types.ParseDateTime(it.ConsentAt); err == nil {
		f.At = at.Time().UTC().Format(time.RFC3339)
	}
	if before.Status != "" {
		f.Previous = &before
	}
	return f
}

func (w *writer) update(b *batch, r *row, c *stored) error {
	before := c.contact()
	after := before
	after.Tags = append([]string{}, before.Tags...)
	after.Fields = make(map[string]any, len(before.Fields)+len(r.c.Fields))
	for k, v := range before.Fields {
		after.Fields[k] = v
	}
	for _, a := range contacts.Attributes {
		if v := r.c.Attr(a); v != "" {
			after.SetAttr(a, v)
		}
	}
	for _, t := range r.c.Tags {
		if !contains(after.Tags, t) {
			after.Tags = append(after.Tags, t)
		}
	}
	if len(after.Tags) > contacts.MaxTagsPerContact {
		r.reject = fmt.Sprintf("the contact would have %d tags; the maximum is %d", len(after.Tags), contacts.MaxTagsPerContact)
		return nil
	}
	for k, v := range r.c.Fields {
		after.Fields[k] = v
	}
	if why := w.planIdentities(b, r, c, before.Phone); why != "" {
		r.reject = why
		return nil
	}
	if why := w.consent(r, c.idents); why != "" {
		r.reject = why
		return nil
	}
	diff := contacts.Compare(&before, after)
	identsChanged := false
	for _, it := range c.idents {
		if it.isNew || it.deleted || it.was != nil || it.consentFrom != nil {
			identsChanged = true
		}
	}
	if diff.Empty() && !identsChanged {
		w.counts.Unchanged++
		return nil
	}
	if !diff.Empty() {
		q := b.prepared(&b.updContact, `UPDATE contacts SET first_name = {:first_name}, last_name = {:last_name}, phone = {:phone},
			email = {:email}, language = {:language}, country = {:country}, timezone = {:timezone}, tags = {:tags}, fields = {:fields},
			updated = {:now} WHERE id = {:id}`)
		if _, err := q.Bind(dbx.Params{
			"id": c.ID, "first_name": after.FirstName, "last_name": after.LastName, "phone": after.Phone, "email": after.Email,
			"language": after.Language, "country": after.Country, "timezone": after.Timezone,
			"tags": jsonText(after.Tags), "fields": jsonText(after.Fields), "now": b.now,
		}).Execute(); err != nil {
			return fmt.Errorf("updating contact %s: %w", c.ID, err)
		}
	}
	fact := contacts.NewImported(r.line, diff)
	if err := w.writeIdentities(b, c.idents, &fact); err != nil {
		return err
	}
	payload, err := json.Marshal(fact)
	if err != nil {
		return fmt.Errorf("encoding the event of line %d: %w", r.line, err)
	}
	w.counts.Updated++
	return w.record(b, c.ID, payload)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
