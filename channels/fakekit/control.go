package fakekit

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// Stats summarises a fake's traffic for /_fake/stats and manual runs.
type Stats struct {
	Requests         int64     `json:"requests"`
	Accepted         int64     `json:"accepted"`
	PeakInFlight     int64     `json:"peak_in_flight"`
	MaxPerSecond     int       `json:"max_accepted_per_second"`
	UniqueRecipients int       `json:"unique_recipients"`
	Webhooks         EmitStats `json:"webhooks"`
}

// Stats computes the summary (the window figures read the recorded log).
func (k *Kit) Stats() Stats {
	return Stats{
		Requests:         k.Log.Total(),
		Accepted:         k.Log.Accepted(),
		PeakInFlight:     k.InFlight.Peak(),
		MaxPerSecond:     k.Log.MaxInWindow(time.Second, OnlyOK),
		UniqueRecipients: k.Log.UniqueRecipients(OnlyOK),
		Webhooks:         k.Emitter.Stats(),
	}
}

// duration reads "250ms"-style JSON strings.
type duration time.Duration

func (d *duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("durations are strings such as \"250ms\" or \"6s\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("bad duration %q: %w", s, err)
	}
	*d = duration(v)
	return nil
}

// ControlRoutes adds the shared /_fake/ control API to mux. reset is the
// fake's whole Reset (traffic plus its own state).
func (k *Kit) ControlRoutes(mux *http.ServeMux, reset func()) {
	mux.HandleFunc("POST /_fake/reset", func(w http.ResponseWriter, r *http.Request) {
		reset()
		WriteJSON(w, http.StatusOK, map[string]bool{"ok": true})
	})
	mux.HandleFunc("GET /_fake/stats", func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusOK, k.Stats())
	})
	mux.HandleFunc("GET /_fake/requests", func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusOK, k.Log.Entries())
	})
	mux.HandleFunc("GET /_fake/webhooks", func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusOK, k.Emitter.Results())
	})
	mux.HandleFunc("POST /_fake/rules", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			To      string   `json:"to"`
			Outcome Outcome  `json:"outcome"`
			Code    string   `json:"code"`
			After   duration `json:"after"`
		}
		if !ReadJSON(w, r, &in) {
			return
		}
		if in.To == "" {
			ControlError(w, fmt.Errorf(`"to" is required: a recipient as the provider sees it, or "*" for everyone`))
			return
		}
		if err := k.Rules.Set(in.To, Rule{Outcome: in.Outcome, Code: in.Code, After: time.Duration(in.After)}); err != nil {
			ControlError(w, err)
			return
		}
		WriteJSON(w, http.StatusOK, map[string]bool{"ok": true})
	})
	mux.HandleFunc("POST /_fake/inject", func(w http.ResponseWriter, r *http.Request) {
		var in Injection
		if !ReadJSON(w, r, &in) {
			return
		}
		if err := k.Inject.Add(in); err != nil {
			ControlError(w, err)
			return
		}
		WriteJSON(w, http.StatusOK, map[string]bool{"ok": true})
	})
	mux.HandleFunc("POST /_fake/latency", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Latency duration `json:"latency"`
		}
		if !ReadJSON(w, r, &in) {
			return
		}
		k.SetLatency(time.Duration(in.Latency))
		WriteJSON(w, http.StatusOK, map[string]bool{"ok": true})
	})
	mux.HandleFunc("POST /_fake/log", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Recording *bool `json:"recording"`
			Bodies    *bool `json:"bodies"`
		}
		if !ReadJSON(w, r, &in) {
			return
		}
		if in.Recording != nil {
			k.Log.SetRecording(*in.Recording)
		}
		if in.Bodies != nil {
			k.Log.SetBodies(*in.Bodies)
		}
		WriteJSON(w, http.StatusOK, map[string]bool{"ok": true})
	})
	mux.HandleFunc("POST /_fake/emitter", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Duplicate        bool     `json:"duplicate"`
			Reorder          bool     `json:"reorder"`
			Delay            duration `json:"delay"`
			CorruptSignature bool     `json:"corrupt_signature"`
			Attempts         int      `json:"attempts"`
			RetryAfter       duration `json:"retry_after"`
		}
		if !ReadJSON(w, r, &in) {
			return
		}
		k.Emitter.SetOptions(EmitOptions{
			Duplicate: in.Duplicate, Reorder: in.Reorder, Delay: time.Duration(in.Delay),
			CorruptSignature: in.CorruptSignature, Attempts: in.Attempts, RetryAfter: time.Duration(in.RetryAfter),
		})
		WriteJSON(w, http.StatusOK, map[string]bool{"ok": true})
	})
}

// WriteJSON answers v as JSON with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// ReadJSON decodes the request body into v, answering 400 itself on failure.
func ReadJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		ControlError(w, fmt.Errorf("reading the JSON body: %w", err))
		return false
	}
	return true
}

// ControlError answers a bad control request with what to fix.
func ControlError(w http.ResponseWriter, err error) {
	WriteJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
}

// CallbackRoute adds POST /_fake/callback {"url": ...}, which points the
// fake's webhooks at url.
func CallbackRoute(mux *http.ServeMux, set func(url string)) {
	mux.HandleFunc("POST /_fake/callback", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			URL string `json:"url"`
		}
		if !ReadJSON(w, r, &in) {
			return
		}
		set(in.URL)
		WriteJSON(w, http.StatusOK, map[string]bool{"ok": true})
	})
}

// InboundRoute adds POST /_fake/inbound, which scripts one inbound message
// of the fake's own shape T and answers its provider id.
func InboundRoute[T any](mux *http.ServeMux, inbound func(T) (string, error)) {
	mux.HandleFunc("POST /_fake/inbound", func(w http.ResponseWriter, r *http.Request) {
		var in T
		if !ReadJSON(w, r, &in) {
			return
		}
		id, err := inbound(in)
		if err != nil {
			ControlError(w, err)
			return
		}
		WriteJSON(w, http.StatusOK, map[string]string{"id": id})
	})
}
