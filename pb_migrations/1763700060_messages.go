package pb_migrations

import (
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
	"github.com/pocketbase/pocketbase/tools/types"
)

// Messages in both directions. An outbound row is the outbox entry: it exists
// before any provider is called, and its unique dedupe_key is what makes "at
// most one message per recipient per broadcast" a database fact.
func init() {
	m.Register(func(app core.App) error {
		channels, err := app.FindCollectionByNameOrId("channels")
		if err != nil {
			return err
		}
		contacts, err := app.FindCollectionByNameOrId("contacts")
		if err != nil {
			return err
		}
		ids, err := app.FindCollectionByNameOrId("contact_identities")
		if err != nil {
			return err
		}
		c := core.NewBaseCollection("messages")
		c.Fields.Add(
			&core.SelectField{Name: "direction", Required: true, MaxSelect: 1, Values: []string{"in", "out"}},
			&core.RelationField{Name: "channel", CollectionId: channels.Id, MaxSelect: 1},
			&core.RelationField{Name: "contact", CollectionId: contacts.Id, MaxSelect: 1},
			&core.RelationField{Name: "identity", CollectionId: ids.Id, MaxSelect: 1},
			// {"text":"..."} | {"template":{"name","language","params"}} | {"media":{"url","caption"}}
			&core.JSONField{Name: "content", MaxSize: 64 << 10},
			&core.SelectField{Name: "status", Required: true, MaxSelect: 1, Values: []string{
				"queued", "sending", "sent", "delivered", "read", "failed", "unknown", "received",
			}},
			&core.TextField{Name: "provider_id", Max: 200},
			&core.TextField{Name: "error_code", Max: 50},
			&core.SelectField{Name: "error_class", MaxSelect: 1, Values: []string{"retry", "throttle", "permanent", "config"}},
			&core.TextField{Name: "error_detail", Max: 2000},
			&core.NumberField{Name: "attempts", OnlyInt: true, Min: types.Pointer(0.0)},
			// Higher goes first: agent 30 > journey 20 > broadcast 10.
			&core.NumberField{Name: "priority", OnlyInt: true},
			&core.DateField{Name: "next_attempt_at"},
			&core.TextField{Name: "dedupe_key", Max: 200},
			&core.SelectField{Name: "source", MaxSelect: 1, Values: []string{"agent", "journey", "broadcast", "api", "test", "system"}},
			&core.TextField{Name: "source_id", Max: 50},
			&core.DateField{Name: "queued_at"},
			&core.DateField{Name: "sent_at"},
			&core.DateField{Name: "delivered_at"},
			&core.DateField{Name: "read_at"},
			&core.DateField{Name: "failed_at"},
			&core.AutodateField{Name: "created", OnCreate: true},
			&core.AutodateField{Name: "updated", OnCreate: true, OnUpdate: true},
		)
		c.AddIndex("idx_messages_dedupe", true, "dedupe_key", "dedupe_key != ''")
		c.AddIndex("idx_messages_provider", false, "channel, provider_id", "provider_id != ''")
		c.AddIndex("idx_messages_outbox", false, "channel, status, next_attempt_at", "direction = 'out'")
		c.AddIndex("idx_messages_contact", false, "contact, created", "")
		c.AddIndex("idx_messages_source", false, "source_id, status", "source_id != ''")
		visible := ruleManager + " || (" + ruleStaff + " && contact.assignee = @request.auth.id)"
		c.ListRule = rule(visible)
		c.ViewRule = rule(visible)
		return app.Save(c)
	}, func(app core.App) error {
		c, err := app.FindCollectionByNameOrId("messages")
		if err != nil {
			return err
		}
		return app.Delete(c)
	})
}
