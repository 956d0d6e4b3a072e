package hooks

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	validation "github.com/go-ozzo/ozzo-validation/v4"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"

	"pregon/segments"
)

// bindSegments enforces the seed's segment rules on every write (API, Go or
// batch), keeps the custom-field indexes in step with what segments filter
// on, serves the live count and preview, and gives the rest of the app
// (export, broadcasts) segment ids as SQL through env.SegmentWhere.
func bindSegments(env *Env) {
	app := env.App
	resolver := segments.Resolver{Clock: env.Clock}
	env.SegmentWhere = func(app core.App, segmentID string) (string, dbx.Params, error) {
		where, params, err := resolver.Where(app, segmentID)
		if err != nil {
			return "", nil, segmentAPIError(err)
		}
		return where, params, nil
	}

	app.OnRecordCreate("segments").BindFunc(func(e *core.RecordEvent) error {
		n, err := e.App.CountRecords("segments")
		if err != nil {
			return err
		}
		if n >= segments.MaxSegments {
			return segmentLimitError()
		}
		return e.Next()
	})
	app.OnRecordValidate("segments").BindFunc(func(e *core.RecordEvent) error {
		if err := validateSegment(e.App, e.Record); err != nil {
			return err
		}
		return e.Next()
	})
	// Backstops for races between two writers: the limit trigger and the
	// unique name index answer with the same messages as the checks above.
	execute := func(e *core.RecordEvent) error {
		err := e.Next()
		switch {
		case err == nil:
			return nil
		case strings.Contains(err.Error(), "limit reached"):
			return segmentLimitError()
		case strings.Contains(err.Error(), "UNIQUE constraint failed: segments.name"):
			return segmentNameTaken()
		}
		return err
	}
	app.OnRecordCreateExecute("segments").BindFunc(execute)
	app.OnRecordUpdateExecute("segments").BindFunc(execute)
	app.OnRecordDelete("segments").BindFunc(func(e *core.RecordEvent) error {
		b, err := segments.ScheduledUser(e.App, e.Record.Id)
		if err != nil {
			return err
		}
		if b != "" {
			return apis.NewApiError(http.StatusConflict, fmt.Sprintf(
				"segment %q is used by scheduled broadcast %q; cancel that broadcast or give it another segment before deleting this one",
				e.Record.GetString("name"), b), nil)
		}
		return e.Next()
	})

	// Custom-field indexes follow the saved segments and field definitions.
	syncIndexes := func(e *core.RecordEvent) error {
		if err := segments.SyncFieldIndexes(e.App); err != nil {
			e.App.Logger().Warn("segments: could not update custom field indexes", "error", err.Error())
		}
		return e.Next()
	}
	app.OnRecordAfterCreateSuccess("segments").BindFunc(syncIndexes)
	app.OnRecordAfterUpdateSuccess("segments").BindFunc(syncIndexes)
	app.OnRecordAfterDeleteSuccess("segments").BindFunc(syncIndexes)
	app.OnRecordAfterUpdateSuccess("contact_fields").BindFunc(syncIndexes)
	app.OnRecordAfterDeleteSuccess("contact_fields").BindFunc(syncIndexes)

	app.OnServe().BindFunc(func(se *core.ServeEvent) error {
		g := se.Router.Group("/api/pregon/segments")
		g.BindFunc(segmentAccess)
		g.GET("/{id}/count", func(e *core.RequestEvent) error {
			_, plan, err := segments.ForID(e.App, e.Request.PathValue("id"))
			if err != nil {
				return segmentAPIError(err)
			}
			n, err := segments.Count(e.App, plan, env.Clock.Now())
			if err != nil {
				return e.InternalServerError("Could not count the segment's contacts.", err)
			}
			return e.JSON(http.StatusOK, map[string]any{"count": n})
		})
		g.POST("/preview", func(e *core.RequestEvent) error {
			var body struct {
				Conditions *rawConditions `json:"conditions"`
			}
			if err := e.BindBody(&body); err != nil {
				return e.BadRequestError(`Send JSON like {"conditions":{"groups":[...]}}.`, err)
			}
			if body.Conditions == nil {
				return e.BadRequestError(`"conditions" is missing; send {"conditions":{"groups":[...]}}.`, nil)
			}
			_, plan, err := segments.Prepare(e.App, *body.Conditions)
			if err != nil {
				return segmentAPIError(err)
			}
			n, first, err := segments.Preview(e.App, plan, env.Clock.Now())
			if err != nil {
				return e.InternalServerError("Could not preview the segment.", err)
			}
			return e.JSON(http.StatusOK, map[string]any{"count": n, "contacts": first})
		}).Bind(apis.BodyLimit(1 << 20))
		return se.Next()
	})
}

// rawConditions keeps a request's "conditions" as the bytes sent, so that the
// segment parser (which refuses unknown keys) sees exactly them.
type rawConditions []byte

func (j *rawConditions) UnmarshalJSON(b []byte) error {
	*j = append((*j)[:0], b...)
	return nil
}

// segmentAccess lets owners, managers and superusers in: agents do not see
// segments (the collection's rules say the same).
func segmentAccess(e *core.RequestEvent) error {
	switch {
	case isManager(e):
		return e.Next()
	case e.Auth == nil:
		return e.UnauthorizedError("Sign in as an owner or a manager.", nil)
	}
	return e.ForbiddenError("Only owners and managers work with segments.", nil)
}

// validateSegment trims the name, checks it is unique (ignoring case) and
// checks the conditions against the current custom fields, channels and
// broadcasts, storing them in their canonical form.
func validateSegment(app core.App, r *core.Record) error {
	name := strings.TrimSpace(r.GetString("name"))
	r.Set("name", name)
	if name != "" {
		var n int
		err := app.DB().NewQuery("SELECT COUNT(*) FROM segments WHERE name = {:name} COLLATE NOCASE AND id != {:id}").
			Bind(dbx.Params{"name": name, "id": r.Id}).Row(&n)
		if err != nil {
			return err
		}
		if n > 0 {
			return segmentNameTaken()
		}
	}
	tree, _, err := segments.Prepare(app, []byte(r.GetString("conditions")))
	if err != nil {
		return segmentAPIError(err)
	}
	r.Set("conditions", tree)
	return nil
}

func segmentLimitError() error {
	return apis.NewBadRequestError(segments.LimitMessage, validation.Errors{
		"name": validation.NewError("limit_reached", segments.LimitMessage)})
}

func segmentNameTaken() error {
	return apis.NewBadRequestError(segments.NameTaken, validation.Errors{
		"name": validation.NewError("validation_not_unique", segments.NameTaken)})
}

// segmentAPIError maps the segments package's errors to answers: unknown
// ids are 404 "segment not found", bad conditions a 400 that names the
// condition, anything else a 500.
func segmentAPIError(err error) error {
	var cond *segments.Error
	switch {
	case errors.Is(err, segments.ErrNotFound):
		return apis.NewNotFoundError(segments.ErrNotFound.Error(), err)
	case errors.As(err, &cond):
		return apis.NewBadRequestError(err.Error(), validation.Errors{
			"conditions": validation.NewError("invalid_condition", err.Error())})
	}
	return apis.NewInternalServerError("Could not evaluate the segment.", err)
}
