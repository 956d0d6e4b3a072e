package broadcasts

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/pocketbase/dbx"

	"pregon/channels"
	"pregon/outbox"
	"pregon/reasons"
)

// Preview is what broadcast id would send one contact: the content exactly
// as the planner writes it into the message row (the same SQL renders
// both), the shape that would leave if it were sent now, and the reason the
// contact would be left out, if any.
type Preview struct {
	Contact string `json:"contact"`
	// InSegment: whether the contact is in the broadcast's audience now;
	// null when the broadcast has no segment yet.
	InSegment *bool            `json:"in_segment"`
	Channel   *PreviewChannel  `json:"channel"`
	Identity  *PreviewIdentity `json:"identity"`
	// Content is the message row's content: the text (or media) and, on
	// WhatsApp, the template used when the window is closed at send time.
	Content json.RawMessage `json:"content"`
	// Sends is the message that would leave now, after the window choice.
	Sends    *channels.Content `json:"sends"`
	Excluded *reasons.Reason   `json:"excluded"`
}

// PreviewChannel names the channel the contact would get the message on.
type PreviewChannel struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Type string `json:"type"`
}

// PreviewIdentity is the identity the message would go to.
type PreviewIdentity struct {
	ID         string `json:"id"`
	Identifier string `json:"identifier"`
	// WindowOpen: on channels with a customer-service window, whether it is
	// open now.
	WindowOpen *bool `json:"window_open,omitempty"`
}

// Preview renders broadcast id for contact.
func (e *Engine) Preview(id, contact string) (*Preview, error) {
	b, ts, err := e.loadReady(id)
	if err != nil {
		return nil, err
	}
	now := e.now()
	a, err := e.newAudience(e.app, b, ts, now, false)
	if err != nil {
		return nil, err
	}
	sql, p, err := a.sql(queryOpts{content: true, where: "c.id = {:pcontact}", whereParams: dbx.Params{"pcontact": contact}, ignoreMembers: true})
	if err != nil {
		return nil, err
	}
	var r row
	if err := e.app.DB().NewQuery(sql).Bind(p).One(&r); err != nil {
		return nil, fieldErr("contact", "not_found", "no contact has id %q", contact)
	}
	out := &Preview{Contact: contact}
	if b.Segment != "" || b.ResendOf != "" {
		m, err := e.newAudience(e.app, b, ts, now, true)
		if err == nil {
			var n int
			if err := e.app.DB().NewQuery("SELECT COUNT(*) FROM contacts c WHERE c.id = {:pcontact} AND (" + orAll(m.members) + ")").
				Bind(merge(m.membersParams, dbx.Params{"pcontact": contact})).Row(&n); err != nil {
				return nil, err
			}
			in := n > 0
			out.InSegment = &in
			// The audience and the planner leave the younger contacts of one
			// person out as duplicates; so must the preview and the test send,
			// or the preview of a duplicate promises a message the broadcast
			// never sends.
			if in && r.Reason == "" {
				dups, err := findDuplicates(e.app, m)
				if err != nil {
					return nil, err
				}
				if slices.Contains(dups, contact) {
					r.Reason = reasons.DuplicateID
				}
			}
		}
	}
	var t *target
	for i := range ts {
		if ts[i].ID == r.Channel {
			t = &ts[i]
		}
	}
	if t != nil {
		out.Channel = &PreviewChannel{ID: t.ID, Name: t.Name, Type: string(t.Type)}
	}
	if r.Identity != "" {
		var idn struct {
			Identifier  string `db:"identifier"`
			LastInbound string `db:"last_inbound_at"`
		}
		if err := e.app.DB().NewQuery(`SELECT identifier, COALESCE(last_inbound_at, '') AS last_inbound_at FROM contact_identities WHERE id = {:id}`).
			Bind(dbx.Params{"id": r.Identity}).One(&idn); err != nil {
			return nil, err
		}
		out.Identity = &PreviewIdentity{ID: r.Identity, Identifier: idn.Identifier}
		if t != nil && t.Caps.Window > 0 {
			last := parseDBTime(idn.LastInbound)
			open := !last.IsZero() && now.Sub(last) < t.Caps.Window
			out.Identity.WindowOpen = &open
		}
	}
	if r.Reason != "" {
		why := reasons.For(r.Reason, "", "")
		out.Excluded = &why
	}
	if r.Content != "" {
		out.Content = json.RawMessage(r.Content)
		var sc outbox.StoredContent
		if err := json.Unmarshal([]byte(r.Content), &sc); err != nil {
			return nil, fmt.Errorf("reading rendered content: %w", err)
		}
		sends := sc.Content
		if sc.OutsideWindow != nil && out.Identity != nil && out.Identity.WindowOpen != nil && !*out.Identity.WindowOpen {
			sends = *sc.OutsideWindow
		}
		out.Sends = &sends
	}
	return out, nil
}

// TestSend sends broadcast id's message to one contact now, outside the
// broadcast: it is not counted (source "test", source_id "test:<id>") and
// jumps the queue like an agent's message. A contact the broadcast would
// leave out is refused with the reason.
func (e *Engine) TestSend(id, contact string) (string, error) {
	pv, err := e.Preview(id, contact)
	if err != nil {
		return "", err
	}
	b, ts, err := e.loadReady(id)
	if err != nil {
		return "", err
	}
	if err := active(b, ts); err != nil {
		return "", err
	}
	if pv.Excluded != nil {
		return "", fieldErr("contact", pv.Excluded.Code, "the broadcast would leave this contact out, so a test to them would not show what they get: %s",
			pv.Excluded.EN)
	}
	var sc outbox.StoredContent
	if err := json.Unmarshal(pv.Content, &sc); err != nil {
		return "", fmt.Errorf("reading rendered content: %w", err)
	}
	q, err := e.out.Enqueue([]outbox.Item{{Channel: pv.Channel.ID, Contact: contact, Identity: pv.Identity.ID,
		Content: sc.Content, OutsideWindow: sc.OutsideWindow, Source: outbox.SourceTest, SourceID: TestSourceID(id)}})
	if err != nil {
		return "", err
	}
	return q[0].ID, nil
}

// TestSourceID is the source_id of a broadcast's test sends: not the
// broadcast's own id, so its counters never see them.
func TestSourceID(broadcast string) string { return "test:" + broadcast }

func orAll(where string) string {
	if where == "" {
		return "1"
	}
	return where
}

func merge(a, b dbx.Params) dbx.Params {
	out := dbx.Params{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

func parseDBTime(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04:05.000Z", s)
	if err != nil {
		return time.Time{}
	}
	return t
}
