package hooks

import (
	"encoding/json"
	"fmt"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"

	"pregon/contacts"
	"pregon/events"
	"pregon/workspace"
)

// bindContactFields keeps custom field definitions and the values contacts
// hold consistent: no value is ever left orphaned or of the wrong type.
//
//   - Deleting a definition removes its values from every contact in the
//     same transaction, with one field.changed event per contact that keeps
//     the old value (so nothing is lost: the log can restore it).
//   - Changing the type or the options converts every held value; if any
//     value does not convert, the change is refused with how many contacts
//     hold such values and examples.
//   - Changing the key is refused while any contact holds a value: segments,
//     templates and imports refer to fields by key; change the label instead.
func bindContactFields(env *Env) {
	env.App.OnRecordCreate("contact_fields").BindFunc(saveFieldDef)
	env.App.OnRecordUpdate("contact_fields").BindFunc(saveFieldDef)
	env.App.OnRecordDelete("contact_fields").BindFunc(deleteFieldDef)
}

func saveFieldDef(e *core.RecordEvent) error {
	return inTx(e, func(tx core.App) error {
		rec := e.Record
		def, fe := contacts.FieldDefFromRecord(rec)
		if len(fe) == 0 {
			fe = contacts.CheckFieldDef(&def)
		}
		if len(fe) > 0 {
			return badFields(fe)
		}
		if def.Type == contacts.FieldList {
			rec.Set("options", def.Options)
		}
		var rewrites []contacts.FieldRewrite
		stored, err := storedRecord(tx, rec)
		if err != nil {
			return err
		}
		if stored != nil {
			old, _ := contacts.FieldDefFromRecord(stored)
			if old.Key != def.Key || old.Type != def.Type || !sameOptions(old.Options, def.Options) {
				held, err := contacts.HeldValues(tx, old.Key)
				if err != nil {
					return err
				}
				switch {
				case len(held) == 0:
				case old.Key != def.Key:
					return badFields(contacts.FieldErrors{"key": fmt.Sprintf(
						"custom field %q is set on %d contacts, so its key cannot change (segments, templates and imports refer to it by key); change its label instead, or clear the values first",
						old.Key, len(held))})
				default:
					ws, err := workspace.Load(tx)
					if err != nil {
						return err
					}
					if rewrites, err = contacts.PlanFieldConversion(held, def, ws.DefaultRegion); err != nil {
						field := "type"
						if old.Type == def.Type {
							field = "options"
						}
						return badFields(contacts.FieldErrors{field: err.Error()})
					}
				}
			}
		}
		if err := e.Next(); err != nil {
			return err
		}
		return rewriteFieldValues(tx, def.Key, rewrites, events.ActorOf(rec), "definition changed")
	})
}

func sameOptions(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func deleteFieldDef(e *core.RecordEvent) error {
	return inTx(e, func(tx core.App) error {
		if err := e.Next(); err != nil {
			return err
		}
		_, err := contacts.RemoveFieldValues(tx, e.Record.GetString("key"), events.ActorOf(e.Record), "definition deleted")
		return err
	})
}

// rewriteFieldValues stores each rewrite's new value (nil removes the key)
// with one prepared statement and appends one field.changed event each.
func rewriteFieldValues(tx core.App, key string, rewrites []contacts.FieldRewrite, actor, reason string) error {
	if len(rewrites) == 0 {
		return nil
	}
	set := tx.DB().NewQuery(`UPDATE contacts SET fields = json_set(fields, {:path}, json({:v})), updated = {:now} WHERE id = {:id}`).Prepare()
	defer set.Close()
	del := tx.DB().NewQuery(`UPDATE contacts SET fields = json_remove(fields, {:path}), updated = {:now} WHERE id = {:id}`).Prepare()
	defer del.Close()
	now := types.NowDateTime().String()
	evs := make([]events.Event, 0, len(rewrites))
	for _, r := range rewrites {
		q, params := del, dbx.Params{"path": contacts.FieldPath(key), "now": now, "id": r.Contact}
		if r.To != nil {
			v, err := json.Marshal(r.To)
			if err != nil {
				return fmt.Errorf("encoding the new value of %q: %w", key, err)
			}
			q, params["v"] = set, string(v)
		}
		if _, err := q.Bind(params).Execute(); err != nil {
			return fmt.Errorf("rewriting custom field %q of contact %s: %w", key, r.Contact, err)
		}
		evs = append(evs, events.Event{Type: contacts.EventFieldChanged, Contact: r.Contact, Actor: actor,
			Payload: map[string]any{"key": key, "from": r.From, "to": r.To, "reason": reason}})
	}
	return events.AppendMany(tx, evs)
}
