// Package deliveryfixture seeds a workspace in which messages reached every
// status with realistic provider codes, broadcasts are in every state, and
// some contacts were excluded: the failed log's and the deliveries answer's
// tests read it. Messages and channels are written with raw SQL, as the
// outbox and the webhook handler write them.
package deliveryfixture

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"

	"pregon/internal/testapp"
)

// Now is the fixture's clock: 2025-11-22 12:00 in Mexico City, the
// workspace's time zone (UTC-6).
var Now = time.Date(2025, 11, 22, 18, 0, 0, 0, time.UTC)

// Fixed ids, so that URLs can name them.
const (
	ChWA     = "chwhatsapp00001"
	ChSMS    = "chtwiliosms0001"
	ChTG     = "chtelegram00001"
	ChPaused = "chwapaused00001"

	SegVIP = "segvip000000001"

	BPromo     = "bcpromo00000001" // completed with failures, WhatsApp, started 2025-11-21 10:00 local
	BNews      = "bcnews000000001" // completed, SMS, failures at 2025-11-21 21:00 local (03:00Z on the 22nd)
	BPaused    = "bcpaused0000001"
	BDraft     = "bcdraft00000001"
	BScheduled = "bcsched00000001"
	BFailed    = "bcfailed0000001"
	BCancelled = "bccancel0000001"
	BResend    = "bcresend0000001" // resend of BPromo

	CtAna    = "ctana0000000001" // assigned to the agent; an agent's message failed 131047
	CtBeto   = "ctbeto000000001" // Promo 131047; a journey's Telegram message failed "blocked"
	CtCarla  = "ctcarla00000001" // Promo 131049; an API message failed retries_exhausted
	CtDiego  = "ctdiego00000001" // Promo 131050
	CtElena  = "ctelena00000001" // Promo daily_limit; delivered by the resend
	CtFer    = "ctfer0000000001" // Promo window_closed
	CtGaby   = "ctgaby000000001" // Promo opted_out
	CtHugo   = "cthugo000000001" // Promo 131026
	CtIris   = "ctiris000000001" // Promo read, then replied
	CtJuan   = "ctjuan000000001" // Promo sent
	CtKaren  = "ctkaren00000001" // Promo unknown (in flight at a crash)
	CtLuis   = "ctluis000000001" // excluded from Promo: opted out
	CtMario  = "ctmario00000001" // created after Promo started, not targeted; tagged vip
	CtNora   = "ctnora000000001" // News 21610
	CtOscar  = "ctoscar00000001" // News 30007
	CtPaula  = "ctpaula00000001" // News failed; a hostile name and message
	CtQuique = "ctquique0000001" // held in the paused broadcast
	CtRosa   = "ctrosa000000001" // queued on the paused channel
	CtSofia  = "ctsofia00000001" // queued to retry after 30003
	CtTomas  = "cttomas00000001" // a journey's message queued for later
	CtUrsula = "ctursula0000001" // Promo delivered
	CtVale   = "ctvale000000001" // not in any broadcast, not vip; a journey's Telegram message sent

	MsgPaula = "msgpaula0000001"
)

// HostileName and HostileText test CSV escaping: a formula, quotes, a
// comma, a line break and an emoji.
const (
	HostileName = `=HYPERLINK("http://evil.example","clic")`
	HostileText = "=1+1, \"oferta\" ¡hoy!\nsegunda línea 🎉"
)

// Failed counts, by the fixture's construction.
const (
	FailedPromo = 7 // 131047, 131049, 131050, daily_limit, window_closed, opted_out, 131026
	FailedNews  = 3 // 21610, 30007, Paula's
	FailedOther = 3 // agent 131047, journey blocked, api retries_exhausted
	FailedAll   = FailedPromo + FailedNews + FailedOther
)

// World holds the tokens of the fixture's users.
type World struct {
	Owner, Manager, Agent, Superuser string
	AgentID                          string
}

// Seed writes the fixture into app.
func Seed(t testing.TB, app core.App) World {
	t.Helper()
	var w World
	_, w.Owner = testapp.User(t, app, "owner@tienda.mx", "owner")
	_, w.Manager = testapp.User(t, app, "manager@tienda.mx", "manager")
	agent, agentTok := testapp.User(t, app, "agent@tienda.mx", "agent")
	w.Agent, w.AgentID = agentTok, agent.Id
	w.Superuser = testapp.Superuser(t, app)

	exec := func(q string, p dbx.Params) {
		t.Helper()
		if _, err := app.DB().NewQuery(q).Bind(p).Execute(); err != nil {
			t.Fatalf("fixture: %s: %v", q, err)
		}
	}
	for _, ch := range []struct{ id, name, typ, status, lastErr string }{
		{ChWA, "WhatsApp Ventas", "whatsapp_cloud", "active", ""},
		{ChSMS, "SMS Twilio", "twilio_sms", "active", ""},
		{ChTG, "Telegram Bot", "telegram", "active", ""},
		{ChPaused, "WhatsApp Soporte", "whatsapp_cloud", "paused",
			"paused after a configuration error from the provider (code 190): the access token was revoked"},
	} {
		exec(`INSERT INTO channels (id, name, type, config, secrets, status, last_error, created, updated)
			VALUES ({:id}, {:name}, {:type}, '{}', '', {:status}, {:err}, {:now}, {:now})`,
			dbx.Params{"id": ch.id, "name": ch.name, "type": ch.typ, "status": ch.status, "err": ch.lastErr, "now": at(Now.Add(-30 * 24 * time.Hour))})
	}

	save := func(col, id string, fields map[string]any) { testapp.Record(t, app, col, id, fields) }
	people := []struct{ id, first, last string }{
		{CtAna, "Ana", "López"}, {CtBeto, "Beto", "Ruiz"}, {CtCarla, "Carla", "Núñez"}, {CtDiego, "Diego", "Paz"},
		{CtElena, "Elena", "Soto"}, {CtFer, "Fer", "Gil"}, {CtGaby, "Gaby", "Mora"}, {CtHugo, "Hugo", "Vega"},
		{CtIris, "Iris", "Luna"}, {CtJuan, "Juan", "Cruz"}, {CtKaren, "Karen", "Ríos"}, {CtLuis, "Luis", "Peña"},
		{CtMario, "Mario", "Sanz"}, {CtNora, "Nora", "Díaz"}, {CtOscar, "Óscar", "León"}, {CtPaula, HostileName, ""},
		{CtQuique, "Quique", "Ramos"}, {CtRosa, "Rosa", "Ibarra"}, {CtSofia, "Sofía", "Campos"}, {CtTomas, "Tomás", "Ortiz"},
		{CtUrsula, "Úrsula", "Vidal"}, {CtVale, "Vale", "Ochoa"},
	}
	for i, p := range people {
		f := map[string]any{"first_name": p.first, "last_name": p.last, "tags": []string{"vip"}}
		if p.id == CtVale {
			f["tags"] = []string{"lead"}
		}
		if p.id == CtAna {
			f["assignee"] = agent.Id
		}
		if p.id != CtPaula {
			f["phone"] = fmt.Sprintf("+52551234%04d", i)
		}
		save("contacts", p.id, f)
	}
	// Contacts were created a month ago, except Mario (after Promo started).
	exec(`UPDATE contacts SET created = {:old}`, dbx.Params{"old": at(Now.Add(-30 * 24 * time.Hour))})
	exec(`UPDATE contacts SET created = {:t} WHERE id = {:id}`, dbx.Params{"t": at(Now.Add(-2 * time.Hour)), "id": CtMario})

	save("segments", SegVIP, map[string]any{"name": "VIP", "conditions": `{"groups":[{"conditions":[
		{"category":"tag","operator":"has_any","value":["vip"]}]}]}`})

	promoStart := time.Date(2025, 11, 21, 16, 0, 0, 0, time.UTC) // 10:00 local
	newsStart := time.Date(2025, 11, 22, 2, 30, 0, 0, time.UTC)  // 2025-11-21 20:30 local
	bcasts := []struct {
		id, name, status string
		channel          string
		started          time.Time
		extra            map[string]any
	}{
		{BPromo, "Promo Buen Fin", "completed_with_failures", ChWA, promoStart, nil},
		{BNews, `Novedades "Noviembre", edición 2`, "completed", ChSMS, newsStart, nil},
		{BPaused, "Recordatorio de pago", "paused", ChWA, Now.Add(-time.Hour), nil},
		{BDraft, "Borrador de Navidad", "draft", ChWA, time.Time{}, nil},
		{BScheduled, "Navidad", "scheduled", ChWA, time.Time{}, map[string]any{
			"scheduled_at": time.Date(2025, 12, 20, 14, 0, 0, 0, time.UTC), "timezone": "America/Lima"}},
		{BFailed, "Sin audiencia", "failed", ChWA, time.Time{}, map[string]any{
			"error": "Broadcast failed: target segment has no contacts"}},
		{BCancelled, "Cancelada", "cancelled", ChWA, time.Time{}, nil},
		{BResend, "Promo Buen Fin (reenvío)", "completed", ChWA, Now.Add(-3 * time.Hour), map[string]any{"resend_of": BPromo}},
	}
	for _, b := range bcasts {
		f := map[string]any{"name": b.name, "status": b.status, "segment": SegVIP, "channel_mode": "specific", "channel": b.channel}
		if b.id == BResend {
			delete(f, "segment") // a resend targets the failures it retries, not a segment
		}
		if !b.started.IsZero() {
			f["started_at"] = b.started
		}
		for k, v := range b.extra {
			f[k] = v
		}
		save("broadcasts", b.id, f)
	}

	text := func(s string) string { return mustJSON(map[string]any{"text": s}) }
	tmpl := mustJSON(map[string]any{"template": map[string]any{"name": "promo_buen_fin", "language": "es_MX", "params": []string{"Ana", "20%"}}})
	promoFail := promoStart.Add(5 * time.Minute)
	newsFail := time.Date(2025, 11, 22, 3, 0, 0, 0, time.UTC)
	type m = map[string]any
	rows := []m{
		// Promo (WhatsApp): seven failures, delivered, read, sent, unknown.
		{"contact": CtBeto, "status": "failed", "error_code": "131047", "error_class": "permanent", "error_detail": "Re-engagement message", "failed_at": promoFail},
		{"contact": CtCarla, "status": "failed", "error_code": "131049", "error_class": "permanent", "error_detail": "healthy ecosystem engagement", "failed_at": promoFail.Add(time.Second)},
		{"contact": CtDiego, "status": "failed", "error_code": "131050", "error_class": "permanent", "failed_at": promoFail.Add(2 * time.Second)},
		{"contact": CtElena, "status": "failed", "error_code": "daily_limit", "error_class": "permanent", "error_detail": "daily limit reached: 1000 unique recipients in 24 hours", "failed_at": promoFail.Add(3 * time.Second)},
		{"contact": CtFer, "status": "failed", "error_code": "window_closed", "error_class": "permanent", "failed_at": promoFail.Add(3 * time.Second)},
		{"contact": CtGaby, "status": "failed", "error_code": "opted_out", "error_class": "permanent", "failed_at": promoFail.Add(4 * time.Second)},
		{"contact": CtHugo, "status": "failed", "error_code": "131026", "error_class": "permanent", "error_detail": "Message undeliverable", "failed_at": promoFail.Add(5 * time.Second)},
		{"contact": CtUrsula, "status": "delivered", "sent_at": promoStart.Add(time.Minute), "delivered_at": promoStart.Add(2 * time.Minute)},
		{"contact": CtIris, "status": "read", "sent_at": promoStart.Add(time.Minute), "delivered_at": promoStart.Add(2 * time.Minute), "read_at": promoStart.Add(30 * time.Minute)},
		{"contact": CtJuan, "status": "sent", "sent_at": promoStart.Add(time.Minute)},
		{"contact": CtKaren, "status": "unknown", "unknown_at": promoStart.Add(3 * time.Minute), "error_detail": "in flight when the server stopped"},
	}
	for i := range rows {
		rows[i]["channel"], rows[i]["source"], rows[i]["source_id"], rows[i]["content"] = ChWA, "broadcast", BPromo, tmpl
	}
	news := []m{
		{"contact": CtNora, "status": "failed", "error_code": "21610", "error_class": "permanent", "error_detail": "Attempt to send to unsubscribed recipient", "failed_at": newsFail},
		{"contact": CtOscar, "status": "failed", "error_code": "30007", "error_class": "permanent", "error_detail": "Carrier violation", "failed_at": newsFail.Add(time.Second)},
		{"id": MsgPaula, "contact": CtPaula, "status": "failed", "error_code": "30008", "error_class": "retry", "error_detail": "Unknown error", "failed_at": newsFail.Add(2 * time.Second), "content": text(HostileText)},
	}
	for i := range news {
		news[i]["channel"], news[i]["source"], news[i]["source_id"] = ChSMS, "broadcast", BNews
		if news[i]["content"] == nil {
			news[i]["content"] = text("Novedades de noviembre: -20% en todo")
		}
	}
	rows = append(rows, news...)
	rows = append(rows,
		m{"contact": CtAna, "channel": ChWA, "source": "agent", "source_id": w.AgentID, "status": "failed", "error_code": "131047",
			"error_class": "permanent", "failed_at": Now.Add(-4 * time.Hour), "content": text("Hola Ana, ¿sigues interesada?")},
		m{"contact": CtBeto, "channel": ChTG, "source": "journey", "source_id": "jrnwelcome00001", "status": "failed", "error_code": "blocked",
			"error_class": "permanent", "error_detail": "Forbidden: bot was blocked by the user", "failed_at": Now.Add(-3 * time.Hour),
			"content": mustJSON(map[string]any{"media": map[string]any{"url": "https://tienda.mx/catalogo.pdf", "kind": "document", "caption": "Catálogo"}})},
		m{"contact": CtCarla, "channel": ChSMS, "source": "api", "source_id": "apikeyerp000001", "status": "failed", "error_code": "retries_exhausted",
			"error_class": "retry", "error_detail": "HTTP 503 from the provider", "failed_at": Now.Add(-2 * time.Hour), "content": text("Su pedido 1234 salió")},
		// Not sent yet, for the deliveries answer.
		m{"contact": CtQuique, "channel": ChWA, "source": "broadcast", "source_id": BPaused, "status": "held", "content": text("Recordatorio")},
		m{"contact": CtRosa, "channel": ChPaused, "source": "agent", "source_id": w.AgentID, "status": "queued", "content": text("Hola Rosa"),
			"error_code": "190", "error_class": "config", "error_detail": "token revoked"},
		m{"contact": CtSofia, "channel": ChSMS, "source": "api", "source_id": "apikeyerp000001", "status": "queued", "attempts": 2,
			"error_code": "30003", "error_class": "retry", "error_detail": "Unreachable destination handset",
			"next_attempt_at": Now.Add(time.Hour), "content": text("Su pedido 99")},
		m{"contact": CtTomas, "channel": ChWA, "source": "journey", "source_id": "jrnwelcome00001", "status": "queued",
			"next_attempt_at": Now.Add(20 * time.Minute), "content": text("Bienvenido")},
		// Telegram reports no deliveries: sent is its last status.
		m{"contact": CtVale, "channel": ChTG, "source": "journey", "source_id": "jrnwelcome00001", "status": "sent",
			"sent_at": Now.Add(-time.Hour), "content": text("Bienvenida")},
		// The resend reached Elena.
		m{"contact": CtElena, "channel": ChWA, "source": "broadcast", "source_id": BResend, "status": "delivered",
			"sent_at": Now.Add(-3 * time.Hour), "delivered_at": Now.Add(-3*time.Hour + time.Minute), "content": tmpl},
	)
	for i, r := range rows {
		if r["id"] == nil {
			r["id"] = fmt.Sprintf("msgfixture%05d", i)
		}
		insertMessage(t, app, r)
	}
	// Iris answered the broadcast an hour after reading it.
	insertMessage(t, app, m{"id": "msgirisreply001", "direction": "in", "contact": CtIris, "channel": ChWA, "status": "received",
		"content": text("¡Me interesa!"), "created": promoStart.Add(90 * time.Minute)})

	// Luis had opted out: the planner left him out, as it records it.
	exec(`INSERT INTO broadcast_exclusions (id, broadcast, contact, channel, reason, created)
		VALUES ('xluisexcluded01', {:b}, {:c}, {:ch}, 'opted_out', {:t})`,
		dbx.Params{"b": BPromo, "c": CtLuis, "ch": ChWA, "t": at(promoStart)})
	return w
}

// insertMessage writes one messages row as the outbox does (raw SQL).
func insertMessage(t testing.TB, app core.App, f map[string]any) {
	t.Helper()
	p := dbx.Params{"direction": "out", "attempts": 1, "priority": 10}
	created := Now.Add(-48 * time.Hour)
	for k, v := range f {
		switch x := v.(type) {
		case time.Time:
			p[k] = at(x)
		default:
			p[k] = v
		}
		if k == "created" {
			created = v.(time.Time)
		}
	}
	p["created"], p["updated"], p["queued_at"] = at(created), at(created), at(created)
	if _, err := app.DB().Insert("messages", p).Execute(); err != nil {
		t.Fatalf("fixture: inserting message %v: %v", f["id"], err)
	}
}

func at(t time.Time) string { return t.UTC().Format(types.DefaultDateLayout) }

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}
