package outbox

import (
	"encoding/json"

	"pregon/channels"
)

// StoredContent is what a messages row holds in content: the message to send
// and, optionally, what to send instead when the channel's customer-service
// window (WhatsApp's 24 hours) is closed at the moment of the call. A
// broadcast plans its rows once and may then send for hours, so whether a
// contact's window is open is only known at send time: the dispatcher sends
// the text (or media) inside the window and the template outside it. Rows
// without OutsideWindow behave as before: free text outside the window fails
// with window_closed.
type StoredContent struct {
	channels.Content
	// OutsideWindow must be a template; it is used only on channels whose
	// capabilities say TemplatesOutsideWindow, and only when the window is
	// closed.
	OutsideWindow *channels.Content `json:"outside_window,omitempty"`
	// Chosen is ChosenOutsideWindow once a call was made (or refused at the
	// last step) with OutsideWindow instead of Content, so that the failed
	// log and the delivery answer show what the provider actually got. The
	// outbox writes it with the call's result; it never reads it back (a
	// retry decides again by the window at that moment).
	Chosen string `json:"chosen,omitempty"`
}

// ChosenOutsideWindow marks stored content whose outside-the-window
// template was the variant used (StoredContent.Chosen).
const ChosenOutsideWindow = "outside_window"

// decodeContent reads a stored content column; unreadable content is empty
// (the dispatcher fails it as invalid_content).
func decodeContent(raw string) (channels.Content, *channels.Content) {
	var sc StoredContent
	if err := json.Unmarshal([]byte(raw), &sc); err != nil {
		return channels.Content{}, nil
	}
	if sc.OutsideWindow != nil && sc.OutsideWindow.Type() != channels.ContentTemplate {
		sc.OutsideWindow = nil
	}
	return sc.Content, sc.OutsideWindow
}

// useOutsideWindow swaps in the message's outside-the-window template, if it
// has one, and reports whether it did.
func (m *claimed) useOutsideWindow() bool {
	if m.outsideWindow == nil {
		return false
	}
	m.content, m.outsideWindow = *m.outsideWindow, nil
	m.choseOutsideWindow = true
	return true
}
