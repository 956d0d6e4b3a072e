package hooks

import (
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/router"

	"pregon/contacts"
	"pregon/events"
)

// bindContactRoutes adds the contact endpoints that are more than one
// record write: the timeline, consent with evidence, merge and duplicate
// suggestions.
func bindContactRoutes(env *Env) {
	env.App.OnServe().BindFunc(func(se *core.ServeEvent) error {
		g := se.Router.Group("/api/pregon/contacts")
		g.Bind(apis.RequireAuth())
		g.GET("/duplicates", contactDuplicates)
		g.POST("/merge", mergeContacts)
		g.GET("/{id}/timeline", contactTimeline)
		g.POST("/{id}/consent", func(e *core.RequestEvent) error { return recordConsent(e, env) })
		return se.Next()
	})
}

// isManager reports whether the requester is a superuser, owner or manager.
func isManager(e *core.RequestEvent) bool {
	if e.HasSuperuserAuth() {
		return true
	}
	if e.Auth == nil || e.Auth.Collection().Name != "users" {
		return false
	}
	r := e.Auth.GetString("role")
	return r == "owner" || r == "manager"
}

// visibleContact returns the contact if the requester may see it under the
// collection's view rule (and, with rule "update", change it). A contact the
// requester may not see is a 404, exactly like one that does not exist, so
// agents learn nothing about other agents' contacts.
func visibleContact(e *core.RequestEvent, id, rule string) (*core.Record, error) {
	notFound := e.NotFoundError(fmt.Sprintf("Contact %q does not exist or is not assigned to you.", id), nil)
	rec, err := e.App.FindRecordById("contacts", id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound
	}
	if err != nil {
		return nil, e.InternalServerError("Could not read the contact.", err)
	}
	info, err := e.RequestInfo()
	if err != nil {
		return nil, e.BadRequestError("The request body is not valid JSON.", err)
	}
	ok, err := e.App.CanAccessRecord(rec, info, rec.Collection().ViewRule)
	if err != nil {
		return nil, e.InternalServerError("Could not check access to the contact.", err)
	}
	if !ok {
		return nil, notFound
	}
	if rule == "update" {
		if ok, err = e.App.CanAccessRecord(rec, info, rec.Collection().UpdateRule); err != nil || !ok {
			return nil, e.ForbiddenError("You may not change this contact.", err)
		}
	}
	return rec, nil
}

func contactTimeline(e *core.RequestEvent) error {
	id := e.Request.PathValue("id")
	if _, err := visibleContact(e, id, "view"); err != nil {
		return err
	}
	q := e.Request.URL.Query()
	limit := contacts.TimelineDefaultLimit
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > contacts.TimelineMaxLimit {
			return e.BadRequestError(fmt.Sprintf("limit must be a whole number from 1 to %d.", contacts.TimelineMaxLimit), nil)
		}
		limit = n
	}
	var before int64
	if s := q.Get("before"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 1 {
			return e.BadRequestError("before must be the seq of an event from a previous page (a positive whole number).", nil)
		}
		before = n
	}
	rows, err := contacts.Timeline(e.App, id, before, limit)
	if err != nil {
		return e.InternalServerError("Could not read the timeline.", err)
	}
	var next any
	if len(rows) == limit {
		next = rows[len(rows)-1].Seq
	}
	return e.JSON(http.StatusOK, map[string]any{"items": rows, "next_before": next})
}

type consentBody struct {
	Kind    string `json:"kind"`
	Status  string `json:"status"`
	Source  string `json:"source"`
	Wording string `json:"wording"`
}

// consentFieldNames maps the identity columns the rules name to this
// endpoint's body fields.
var consentFieldNames = map[string]string{
	"consent": "status", "consent_source": "source", "consent_wording": "wording", "consent_at": "status", "kind": "kind",
}

func recordConsent(e *core.RequestEvent, env *Env) error {
	var body consentBody
	if err := e.BindBody(&body); err != nil {
		return e.BadRequestError(`Send JSON: {"kind":"whatsapp","status":"opted_in","source":"...","wording":"..."}.`, err)
	}
	id := e.Request.PathValue("id")
	if _, err := visibleContact(e, id, "update"); err != nil {
		return err
	}
	body.Kind = strings.TrimSpace(body.Kind)
	fe := contacts.FieldErrors{}
	if !contacts.ValidKind(body.Kind) {
		fe.Add("kind", fmt.Sprintf("kind %q is not an identity kind; use one of %s", body.Kind, strings.Join(contacts.Kinds, ", ")))
	}
	if body.Status != contacts.ConsentOptedIn && body.Status != contacts.ConsentOptedOut {
		fe.Add("status", fmt.Sprintf("status %q is not a consent decision; use opted_in or opted_out", body.Status))
	} else {
		c := contacts.Consent{Status: body.Status, Source: body.Source, Wording: body.Wording}
		_, _, cfe := contacts.ApplyConsentRules(contacts.Consent{}, c, env.Clock.Now())
		for k, msg := range cfe {
			fe.Add(consentFieldNames[k], msg)
		}
	}
	if len(fe) > 0 {
		return badFields(fe)
	}
	c := contacts.Consent{Status: body.Status, Source: body.Source, Wording: body.Wording}
	ids, err := contacts.RecordConsent(e.App, id, body.Kind, c, events.ActorFromAuth(e.Auth))
	if err != nil {
		return domainError(e, err)
	}
	out := make([]map[string]any, 0, len(ids))
	for _, r := range ids {
		out = append(out, map[string]any{
			"id": r.Id, "kind": r.GetString("kind"), "identifier": r.GetString("identifier"),
			"consent": r.GetString("consent"), "consent_at": r.GetDateTime("consent_at"),
			"consent_source": r.GetString("consent_source"), "consent_wording": r.GetString("consent_wording"),
		})
	}
	return e.JSON(http.StatusOK, map[string]any{"identities": out})
}

// domainError turns a domain package's error into the API's answer.
func domainError(e *core.RequestEvent, err error) error {
	var fe contacts.FieldErrors
	var nf *contacts.NotFoundError
	var apiErr *router.ApiError
	switch {
	case errors.As(err, &apiErr):
		return apiErr
	case errors.As(err, &fe):
		return badFields(fe)
	case errors.As(err, &nf):
		return e.NotFoundError(nf.Error()+".", nil)
	}
	return e.InternalServerError("", err)
}

type mergeBody struct {
	Survivor string `json:"survivor"`
	Other    string `json:"other"`
}

func mergeContacts(e *core.RequestEvent) error {
	if !isManager(e) {
		return e.ForbiddenError("Only owners and managers merge contacts.", nil)
	}
	var body mergeBody
	if err := e.BindBody(&body); err != nil {
		return e.BadRequestError(`Send JSON: {"survivor":"<contact id to keep>","other":"<contact id to merge into it>"}.`, err)
	}
	fe := contacts.FieldErrors{}
	body.Survivor, body.Other = strings.TrimSpace(body.Survivor), strings.TrimSpace(body.Other)
	if body.Survivor == "" {
		fe.Add("survivor", "survivor is required: the id of the contact to keep")
	}
	if body.Other == "" {
		fe.Add("other", "other is required: the id of the contact to merge into the survivor")
	}
	if len(fe) == 0 && body.Survivor == body.Other {
		fe.Add("other", contacts.ErrMergeSelf.Error())
	}
	if len(fe) > 0 {
		return badFields(fe)
	}
	survivor, out, err := contacts.Merge(e.App, body.Survivor, body.Other, events.ActorFromAuth(e.Auth))
	if err != nil {
		return domainError(e, err)
	}
	if err := apis.EnrichRecord(e, survivor); err != nil {
		return e.InternalServerError("", err)
	}
	return e.JSON(http.StatusOK, map[string]any{"survivor": survivor, "merged": out})
}

func contactDuplicates(e *core.RequestEvent) error {
	if !isManager(e) {
		return e.ForbiddenError("Only owners and managers see duplicate suggestions.", nil)
	}
	limit := 50
	if s := e.Request.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > contacts.DuplicatesMaxGroups {
			return e.BadRequestError(fmt.Sprintf("limit must be a whole number from 1 to %d.", contacts.DuplicatesMaxGroups), nil)
		}
		limit = n
	}
	groups, err := contacts.Duplicates(e.App, limit)
	if err != nil {
		return e.InternalServerError("Could not look for duplicates.", err)
	}
	return e.JSON(http.StatusOK, map[string]any{"items": groups})
}
