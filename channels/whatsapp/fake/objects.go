package fake

import (
	"fmt"
	"io"
	"net/http"

	"pregon/channels/fakekit"
)

// authorized answers 401 with code 190 when the bearer token is wrong.
func (f *Fake) authorized(w http.ResponseWriter, r *http.Request) bool {
	if r.Header.Get("Authorization") == "Bearer "+f.opts.AccessToken {
		return true
	}
	writeError(w, http.StatusUnauthorized, "190", "Error validating access token: the session is invalid")
	return false
}

// handleObject serves GET /{ver}/{id}: the phone-number object (what the
// adapter's Test reads) or a media object pointing at its bytes.
func (f *Fake) handleObject(w http.ResponseWriter, r *http.Request) {
	if !f.authorized(w, r) {
		return
	}
	id := r.PathValue("id")
	if id == f.opts.PhoneNumberID {
		fakekit.WriteJSON(w, http.StatusOK, map[string]string{
			"id": id, "display_phone_number": f.opts.DisplayPhone, "verified_name": "Pregón Fake", "quality_rating": "GREEN",
		})
		return
	}
	f.mu.Lock()
	b, ok := f.blobs[id]
	f.mu.Unlock()
	if !ok {
		writeError(w, http.StatusBadRequest, "100", fmt.Sprintf("Unsupported get request. Object with ID '%s' does not exist", id))
		return
	}
	fakekit.WriteJSON(w, http.StatusOK, map[string]any{
		"id": id, "mime_type": b.mime, "sha256": "fake", "file_size": len(b.data),
		"url": "http://" + r.Host + "/_media/" + id, "messaging_product": "whatsapp",
	})
}

// handleBlob serves media bytes; like Meta, it wants the bearer token.
func (f *Fake) handleBlob(w http.ResponseWriter, r *http.Request) {
	if !f.authorized(w, r) {
		return
	}
	f.mu.Lock()
	b, ok := f.blobs[r.PathValue("id")]
	f.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", b.mime)
	_, _ = w.Write(b.data)
}

// handleUpload stores a multipart "file" and answers its media id.
func (f *Fake) handleUpload(w http.ResponseWriter, r *http.Request) {
	if !f.authorized(w, r) {
		return
	}
	file, hdr, err := r.FormFile("file")
	if err != nil {
		writeError(w, http.StatusBadRequest, "131008", "Required parameter is missing: file (multipart)")
		return
	}
	defer file.Close()
	data, err := io.ReadAll(io.LimitReader(file, 16<<20))
	if err != nil {
		writeError(w, http.StatusBadRequest, "131053", "Media upload error: "+err.Error())
		return
	}
	id := fmt.Sprintf("%d", 900000000000000+f.media.Next())
	f.mu.Lock()
	f.blobs[id] = blob{mime: hdr.Header.Get("Content-Type"), data: data}
	f.mu.Unlock()
	fakekit.WriteJSON(w, http.StatusOK, map[string]string{"id": id})
}

// controlRoutes add the WhatsApp-specific /_fake/ endpoints.
func (f *Fake) controlRoutes(mux *http.ServeMux) {
	fakekit.CallbackRoute(mux, f.SetCallback)
	fakekit.InboundRoute(mux, f.Inbound)
	mux.HandleFunc("POST /_fake/templates", func(w http.ResponseWriter, r *http.Request) {
		var in Template
		if !fakekit.ReadJSON(w, r, &in) {
			return
		}
		if in.Name == "" || in.Language == "" {
			fakekit.ControlError(w, fmt.Errorf("a template needs name and language"))
			return
		}
		f.AddTemplate(in)
		fakekit.WriteJSON(w, http.StatusOK, map[string]bool{"ok": true})
	})
	mux.HandleFunc("POST /_fake/user_preferences", func(w http.ResponseWriter, r *http.Request) {
		var in Preference
		if !fakekit.ReadJSON(w, r, &in) {
			return
		}
		if _, err := f.UserPreference(in); err != nil {
			fakekit.ControlError(w, err)
			return
		}
		fakekit.WriteJSON(w, http.StatusOK, map[string]bool{"ok": true})
	})
	mux.HandleFunc("POST /_fake/window", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Mode WindowMode `json:"mode"`
		}
		if !fakekit.ReadJSON(w, r, &in) {
			return
		}
		switch in.Mode {
		case WindowAsync, WindowSync, WindowOff:
			f.SetWindowMode(in.Mode)
			fakekit.WriteJSON(w, http.StatusOK, map[string]bool{"ok": true})
		default:
			fakekit.ControlError(w, fmt.Errorf("window mode %q: use async, sync or off", in.Mode))
		}
	})
}
