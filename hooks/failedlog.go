package hooks

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"

	"pregon/failedlog"
	"pregon/outbox"
	"pregon/workspace"
)

// Limits of the failed log's query parameters.
const (
	failedDefaultPerPage = 30
	failedMaxPerPage     = 1000
	failedMaxIDs         = 100
)

// bindFailedLog adds GET /api/pregon/messages/failed: the failed-messages
// log (JSON, paged) and its CSV export (&format=csv), for owners and
// managers.
func bindFailedLog(env *Env) {
	env.App.OnServe().BindFunc(func(se *core.ServeEvent) error {
		se.Router.GET("/api/pregon/messages/failed", func(e *core.RequestEvent) error {
			if err := requireManager(e, "see the failed-messages log"); err != nil {
				return err
			}
			return failedMessages(env, e)
		})
		return se.Next()
	})
}

type failedQuery struct {
	filter        failedlog.Filter
	page, perPage int
	skipTotal     bool
	csv, bom      bool
	lang          string
	loc           *time.Location
	broadcastName string // for the CSV's file name, when one broadcast is asked for
}

func failedMessages(env *Env, e *core.RequestEvent) error {
	ws, err := workspace.Load(e.App)
	if err != nil {
		return e.InternalServerError("Could not read the workspace settings.", err)
	}
	q, err := parseFailedQuery(e, ws)
	if err != nil {
		return err
	}
	if q.csv {
		return failedCSV(env, e, q)
	}
	total, pages := -1, -1
	if !q.skipTotal {
		if total, err = failedlog.Count(e.App, q.filter); err != nil {
			return e.InternalServerError("Could not count the failed messages.", err)
		}
		pages = (total + q.perPage - 1) / q.perPage
	}
	rows, err := failedlog.Page(e.App, q.filter, (q.page-1)*q.perPage, q.perPage)
	if err != nil {
		return e.InternalServerError("Could not read the failed messages.", err)
	}
	items := make([]failedlog.Item, len(rows))
	for i, r := range rows {
		items[i] = r.Item(q.lang, q.loc)
	}
	return e.JSON(http.StatusOK, map[string]any{
		"page": q.page, "perPage": q.perPage, "totalItems": total, "totalPages": pages,
		"lang": q.lang, "timezone": q.loc.String(), "items": items,
	})
}

func failedCSV(env *Env, e *core.RequestEvent, q failedQuery) error {
	name := "failed-messages-"
	if q.broadcastName != "" {
		name += q.broadcastName + "-"
	}
	name += env.Clock.Now().In(q.loc).Format("2006-01-02") + ".csv"
	extendDeadlines(e, time.Hour)
	h := e.Response.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", attachment(name))
	h.Set("Cache-Control", "no-store")
	w := &trackingWriter{w: e.Response}
	n, err := failedlog.WriteCSV(w, e.App, q.filter, q.lang, q.loc, q.bom)
	if err != nil {
		if !w.wrote {
			h.Del("Content-Disposition")
			return e.InternalServerError("The export failed before it started; try again.", err)
		}
		// The status is sent already: abort the connection, as the contacts
		// export does, so that a cut file never looks complete.
		e.App.Logger().Error("failed-messages CSV export stopped", "rows", n, "error", err.Error())
		panic(http.ErrAbortHandler)
	}
	return nil
}

func parseFailedQuery(e *core.RequestEvent, ws workspace.Settings) (failedQuery, error) {
	v := e.Request.URL.Query()
	q := failedQuery{page: 1, perPage: failedDefaultPerPage, bom: true, loc: ws.Location()}
	var err error
	if q.lang, err = requestLang(e, ws.Language); err != nil {
		return q, err
	}
	switch f := strings.ToLower(v.Get("format")); f {
	case "", "json":
	case "csv":
		q.csv = true
	default:
		return q, fieldError("format", "invalid", fmt.Sprintf("format %q is not json or csv", f))
	}
	if q.page, err = intParam(v.Get("page"), "page", 1, 1, 1<<31-1); err != nil {
		return q, err
	}
	if q.perPage, err = intParam(v.Get("perPage"), "perPage", failedDefaultPerPage, 1, failedMaxPerPage); err != nil {
		return q, err
	}
	if q.skipTotal, err = boolParam(v.Get("skipTotal"), "skipTotal", false); err != nil {
		return q, err
	}
	if q.bom, err = boolParam(v.Get("bom"), "bom", true); err != nil {
		return q, err
	}
	switch s := v.Get("sort"); s {
	case "", "-date_time":
	case "date_time":
		q.filter.Ascending = true
	default:
		return q, fieldError("sort", "invalid", fmt.Sprintf("sort %q is not -date_time (newest first, the default) or date_time (oldest first)", s))
	}

	f := &q.filter
	for _, b := range []struct {
		name  string
		upper bool
		into  *time.Time
	}{{"from", false, &f.From}, {"to", true, &f.To}} {
		s := strings.TrimSpace(v.Get(b.name))
		if s == "" {
			continue
		}
		if *b.into, err = failedlog.ParseBound(s, q.loc, b.upper); err != nil {
			return q, fieldError(b.name, "invalid_date", b.name+": "+err.Error())
		}
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		return q, fieldError("to", "before_from", "to must be later than from (to is inclusive: to=2025-11-21 includes the whole day)")
	}

	if f.Statuses, err = listParam(v.Get("status"), "status", 2, oneOf(failedlog.StatusFailed, failedlog.StatusUnknown)); err != nil {
		return q, err
	}
	sources := []string{outbox.SourceBroadcast, outbox.SourceJourney, outbox.SourceAgent, outbox.SourceAPI, outbox.SourceTest, outbox.SourceSystem}
	if f.Sources, err = listParam(v.Get("source"), "source", len(sources), oneOf(sources...)); err != nil {
		return q, err
	}
	if f.Codes, err = listParam(v.Get("code"), "code", failedMaxIDs, func(s string) error {
		if len(s) > 50 {
			return fmt.Errorf("%q is longer than 50 characters", s)
		}
		return nil
	}); err != nil {
		return q, err
	}
	if f.Broadcasts, err = listParam(v.Get("broadcast"), "broadcast", failedMaxIDs, nil); err != nil {
		return q, err
	}
	names, err := existingIDs(e.App, "broadcasts", "broadcast", f.Broadcasts)
	if err != nil {
		return q, err
	}
	if len(f.Broadcasts) == 1 {
		q.broadcastName = names[f.Broadcasts[0]]
	}
	if f.Channels, err = listParam(v.Get("channel"), "channel", failedMaxIDs, nil); err != nil {
		return q, err
	}
	if _, err := existingIDs(e.App, "channels", "channel", f.Channels); err != nil {
		return q, err
	}
	return q, nil
}

// existingIDs checks that every id names a row of table and returns their
// names; unknown ones are a 404 that lists them.
func existingIDs(app core.App, table, param string, ids []string) (map[string]string, error) {
	names := map[string]string{}
	if len(ids) == 0 {
		return names, nil
	}
	in := make([]any, len(ids))
	for i, id := range ids {
		in[i] = id
	}
	var rows []struct {
		ID   string `db:"id"`
		Name string `db:"name"`
	}
	if err := app.DB().Select("id", "name").From(table).Where(dbx.In("id", in...)).All(&rows); err != nil {
		return nil, apis.NewInternalServerError("Could not check the "+param+" ids.", err)
	}
	for _, r := range rows {
		names[r.ID] = r.Name
	}
	var missing []string
	for _, id := range ids {
		if _, ok := names[id]; !ok {
			missing = append(missing, strconv.Quote(id))
		}
	}
	if len(missing) > 0 {
		return nil, apis.NewNotFoundError(fmt.Sprintf("No %s has the id %s: check the %s parameter.",
			param, strings.Join(missing, ", "), param), nil)
	}
	return names, nil
}

// listParam splits a comma-separated parameter, drops blanks and
// duplicates, and checks each value.
func listParam(raw, name string, max int, check func(string) error) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, s := range strings.Split(raw, ",") {
		s = strings.TrimSpace(s)
		if s == "" || seen[s] {
			continue
		}
		seen[s] = true
		if check != nil {
			if err := check(s); err != nil {
				return nil, fieldError(name, "invalid", name+": "+err.Error())
			}
		}
		out = append(out, s)
	}
	if len(out) > max {
		return nil, fieldError(name, "too_many", fmt.Sprintf("%s lists %d values; at most %d", name, len(out), max))
	}
	return out, nil
}

func oneOf(allowed ...string) func(string) error {
	return func(s string) error {
		for _, a := range allowed {
			if s == a {
				return nil
			}
		}
		return fmt.Errorf("%q is not one of %s", s, strings.Join(allowed, ", "))
	}
}

func intParam(raw, name string, def, lo, hi int) (int, error) {
	if raw == "" {
		return def, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < lo || n > hi {
		return 0, fieldError(name, "invalid", fmt.Sprintf("%s must be a whole number from %d to %d", name, lo, hi))
	}
	return n, nil
}

func boolParam(raw, name string, def bool) (bool, error) {
	switch strings.ToLower(raw) {
	case "":
		return def, nil
	case "1", "true", "yes":
		return true, nil
	case "0", "false", "no":
		return false, nil
	}
	return false, fieldError(name, "invalid", fmt.Sprintf("%s must be true or false", name))
}

// requestLang picks the language of explanations: the lang parameter (es or
// en), else the first of es or en in the browser's Accept-Language, else the
// workspace's language, else English.
func requestLang(e *core.RequestEvent, workspaceLang string) (string, error) {
	if l := strings.ToLower(strings.TrimSpace(e.Request.URL.Query().Get("lang"))); l != "" {
		if l != "es" && l != "en" {
			return "", fieldError("lang", "invalid", fmt.Sprintf("lang %q is not es or en", l))
		}
		return l, nil
	}
	for _, part := range strings.Split(e.Request.Header.Get("Accept-Language"), ",") {
		tag := strings.ToLower(strings.TrimSpace(strings.SplitN(part, ";", 2)[0]))
		if primary := strings.SplitN(tag, "-", 2)[0]; primary == "es" || primary == "en" {
			return primary, nil
		}
	}
	if strings.HasPrefix(strings.ToLower(workspaceLang), "es") {
		return "es", nil
	}
	return "en", nil
}
