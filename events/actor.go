package events

import "github.com/pocketbase/pocketbase/core"

// ActorKey is the record data key that carries who is writing a record to
// the model-level hooks, which see the record but not the HTTP request. The
// request hooks set it from the request's auth; Go code may set it with
// WithActor. It is not a collection field: PocketBase never stores it and a
// client cannot submit it (the record form loads only collection fields).
const ActorKey = "@pregon.actor"

// System is the actor of changes nobody requested directly.
const System = "system"

// WithActor marks rec as written by actor and returns rec.
func WithActor(rec *core.Record, actor string) *core.Record {
	rec.SetRaw(ActorKey, actor)
	return rec
}

// ActorOf returns the actor set on rec, or System.
func ActorOf(rec *core.Record) string {
	if a, ok := rec.GetRaw(ActorKey).(string); ok && a != "" {
		return a
	}
	return System
}

// ActorFromAuth names an authenticated requester: "user:<id>" for staff,
// "superuser:<id>" for PocketBase superusers, System for nobody.
func ActorFromAuth(auth *core.Record) string {
	switch {
	case auth == nil:
		return System
	case auth.IsSuperuser():
		return "superuser:" + auth.Id
	case auth.Collection().Name == "users":
		return "user:" + auth.Id
	}
	return auth.Collection().Name + ":" + auth.Id
}
