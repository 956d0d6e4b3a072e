package pb_migrations

import (
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// Contacts and their identities. An identity is a (kind, identifier) pair on
// one channel family (whatsapp, sms, telegram, ...), unique per kind; it
// carries what is per channel: consent with its evidence and the last
// inbound time that opens WhatsApp's 24-hour window.
func init() {
	m.Register(func(app core.App) error {
		users, err := app.FindCollectionByNameOrId("users")
		if err != nil {
			return err
		}
		channels, err := app.FindCollectionByNameOrId("channels")
		if err != nil {
			return err
		}

		contacts := core.NewBaseCollection("contacts")
		contacts.Fields.Add(
			&core.TextField{Name: "first_name", Max: 200},
			&core.TextField{Name: "last_name", Max: 200},
			&core.EmailField{Name: "email"},
			// E.164, normalized by the contacts hook against settings.default_region.
			&core.TextField{Name: "phone", Max: 16, Pattern: `^\+[1-9][0-9]{6,14}$`},
			&core.TextField{Name: "language", Max: 16},
			&core.TextField{Name: "country", Max: 2, Pattern: `^[A-Z]{2}$`},
			&core.TextField{Name: "timezone", Max: 64},
			// ["vip","lima"]: lower-cased, trimmed, unique; validated by the contacts hook.
			&core.JSONField{Name: "tags", MaxSize: 64 << 10},
			// {"city":"Lima","points":120}: keys and types from contact_fields.
			&core.JSONField{Name: "fields", MaxSize: 256 << 10},
			&core.RelationField{Name: "assignee", CollectionId: users.Id, MaxSelect: 1},
			&core.RelationField{Name: "last_channel", CollectionId: channels.Id, MaxSelect: 1},
			&core.DateField{Name: "last_inbound_at"},
			&core.DateField{Name: "last_outbound_at"},
			&core.AutodateField{Name: "created", OnCreate: true},
			&core.AutodateField{Name: "updated", OnCreate: true, OnUpdate: true},
		)
		contacts.AddIndex("idx_contacts_phone", false, "phone", "phone != ''")
		contacts.AddIndex("idx_contacts_email", false, "email", "email != ''")
		contacts.AddIndex("idx_contacts_assignee", false, "assignee", "assignee != ''")
		contacts.AddIndex("idx_contacts_created", false, "created", "")
		// Agents see and edit only the contacts assigned to them, and cannot reassign.
		visible := ruleManager + " || (" + ruleStaff + " && assignee = @request.auth.id)"
		contacts.ListRule = rule(visible)
		contacts.ViewRule = rule(visible)
		contacts.CreateRule = rule(ruleManager)
		contacts.UpdateRule = rule(ruleManager + " || (" + ruleStaff + " && assignee = @request.auth.id && @request.body.assignee:isset = false)")
		contacts.DeleteRule = rule(ruleManager)
		if err := app.Save(contacts); err != nil {
			return err
		}

		ids := core.NewBaseCollection("contact_identities")
		ids.Fields.Add(
			&core.RelationField{Name: "contact", CollectionId: contacts.Id, MaxSelect: 1, Required: true, CascadeDelete: true},
			&core.SelectField{Name: "kind", Required: true, MaxSelect: 1, Values: []string{
				"whatsapp", "sms", "telegram", "messenger", "email", "webchat", "sandbox",
			}},
			// E.164 for phone kinds, a WhatsApp user id (e.g. "US.1234") when there is no phone,
			// a chat id, a PSID, an address or a visitor id.
			&core.TextField{Name: "identifier", Required: true, Max: 320},
			// True when the identity follows the contact's phone (created from it, updated with it).
			&core.BoolField{Name: "from_phone"},
			// The channel this identity last talked to us through.
			&core.RelationField{Name: "channel", CollectionId: channels.Id, MaxSelect: 1},
			&core.DateField{Name: "last_inbound_at"},
			&core.SelectField{Name: "consent", MaxSelect: 1, Values: []string{"opted_in", "opted_out"}},
			&core.DateField{Name: "consent_at"},
			&core.TextField{Name: "consent_source", Max: 200},
			&core.TextField{Name: "consent_wording", Max: 2000},
			&core.AutodateField{Name: "created", OnCreate: true},
			&core.AutodateField{Name: "updated", OnCreate: true, OnUpdate: true},
		)
		ids.AddIndex("idx_identities_kind_identifier", true, "kind, identifier", "")
		ids.AddIndex("idx_identities_contact", false, "contact", "")
		idVisible := ruleManager + " || (" + ruleStaff + " && contact.assignee = @request.auth.id)"
		ids.ListRule = rule(idVisible)
		ids.ViewRule = rule(idVisible)
		ids.CreateRule = rule(ruleManager)
		ids.UpdateRule = rule(ruleManager)
		ids.DeleteRule = rule(ruleManager)
		return app.Save(ids)
	}, func(app core.App) error {
		for _, name := range []string{"contact_identities", "contacts"} {
			c, err := app.FindCollectionByNameOrId(name)
			if err != nil {
				return err
			}
			if err := app.Delete(c); err != nil {
				return err
			}
		}
		return nil
	})
}
