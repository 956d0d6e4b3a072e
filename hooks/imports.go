package hooks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/router"

	"pregon/contactcsv"
)

// MaxUpload bounds a CSV upload: about ten million contacts.
const MaxUpload = 2 << 30

// maxFormValue bounds the small form values that come with an upload.
const maxFormValue = 64 << 10

// bindImports adds CSV import and export of contacts, and the background
// runner that applies imports (resuming, at start, the one a restart
// interrupted).
func bindImports(env *Env) {
	env.Imports = contactcsv.NewRunner(env.App, contactcsv.Options{})
	var (
		stop context.CancelFunc
		wg   sync.WaitGroup
	)
	env.App.OnServe().BindFunc(func(se *core.ServeEvent) error {
		g := se.Router.Group("/api/pregon")
		// The upload streams to disk: drop the 32 MB default body limit and
		// apply our own in the handler.
		g.POST("/contacts/import", func(e *core.RequestEvent) error { return importContacts(env, e) }).
			Unbind(apis.DefaultBodyLimitMiddlewareId)
		g.GET("/contacts/export", func(e *core.RequestEvent) error { return exportContacts(env, e) })
		g.GET("/imports/{id}", getImport)
		g.GET("/imports/{id}/rejected.csv", getRejected)
		// OnServe can fire more than once on one app (tests reuse an app across
		// scenarios): one runner per app, or termination would wait forever
		// for a runner whose cancel func was overwritten.
		if !env.Opts.NoWorkers && stop == nil {
			var ctx context.Context
			ctx, stop = context.WithCancel(context.Background())
			wg.Add(1)
			go func() { defer wg.Done(); env.Imports.Loop(ctx) }()
			se.App.Cron().MustAdd("pregonImportFilesCleanup", "17 3 * * *", func() {
				if err := contactcsv.Cleanup(se.App, time.Now()); err != nil {
					se.App.Logger().Warn("cleaning import files", "error", err)
				}
			})
		}
		return se.Next()
	})
	// Deleting an import (superusers only) deletes its files.
	env.App.OnRecordAfterDeleteSuccess("imports").BindFunc(func(e *core.RecordEvent) error {
		if err := os.RemoveAll(contactcsv.Dir(e.App, e.Record.Id)); err != nil {
			e.App.Logger().Warn("deleting an import's files", "import", e.Record.Id, "error", err)
		}
		return e.Next()
	})
	env.App.OnTerminate().BindFunc(func(e *core.TerminateEvent) error {
		if stop != nil {
			stop() // the import in hand stops after its batch and resumes on the next start
			wg.Wait()
			stop = nil
		}
		return e.Next()
	})
}

func badRequest(e *core.RequestEvent, err error) error {
	var ie *contactcsv.InputError
	if errors.As(err, &ie) {
		return e.BadRequestError(ie.Msg, nil)
	}
	return e.InternalServerError("The import could not be checked.", err)
}

// extendDeadlines lets a large upload or download outlive the server's
// 5-minute read and write timeouts.
func extendDeadlines(e *core.RequestEvent, d time.Duration) {
	rc := http.NewResponseController(e.Response)
	_ = rc.SetReadDeadline(time.Now().Add(d))
	_ = rc.SetWriteDeadline(time.Now().Add(d))
}

func importContacts(env *Env, e *core.RequestEvent) error {
	if err := requireManager(e, "import contacts"); err != nil {
		return err
	}
	// PocketBase keeps a re-readable copy of every request body (memory,
	// then a temp file); an upload of up to 2 GiB is read once, to disk, so
	// read the original body instead.
	body := io.ReadCloser(e.Request.Body)
	if rr, ok := body.(*router.RereadableReadCloser); ok {
		body = rr.ReadCloser
	}
	e.Request.Body = http.MaxBytesReader(e.Response, body, MaxUpload)
	extendDeadlines(e, 2*time.Hour)
	mr, err := e.Request.MultipartReader()
	if err != nil {
		return e.BadRequestError("Send multipart/form-data with the fields file (the CSV), mode (add_update, add_only or update_only) and identifier (id, phone or email).", nil)
	}

	id := core.GenerateDefaultRandomId()
	dir := contactcsv.Dir(e.App, id)
	path := filepath.Join(dir, contactcsv.UploadName)
	queued := false
	defer func() {
		if !queued {
			_ = os.RemoveAll(dir)
		}
	}()
	form := map[string]string{}
	filename, gotFile := "", false
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return uploadError(e, err)
		}
		name := part.FormName()
		if name == "file" {
			if gotFile {
				return e.BadRequestError("Send one file per import.", nil)
			}
			gotFile = true
			filename = filepath.Base(strings.ReplaceAll(part.FileName(), `\`, "/"))
			if filename == "." || filename == "/" {
				filename = "upload.csv"
			}
			if err := saveUpload(path, part); err != nil {
				return uploadError(e, err)
			}
			continue
		}
		b, err := io.ReadAll(io.LimitReader(part, maxFormValue+1))
		if err != nil {
			return uploadError(e, err)
		}
		if len(b) > maxFormValue {
			return e.BadRequestError(fmt.Sprintf("The form value %q is longer than %d KiB.", name, maxFormValue>>10), nil)
		}
		form[name] = string(b)
	}
	if !gotFile {
		return e.BadRequestError("file is required: attach the CSV as the form field \"file\".", nil)
	}
	req, err := contactcsv.ParseRequest(form["mode"], form["identifier"], form["tags"], form["consent_source"], form["consent_wording"], filename)
	if err != nil {
		return badRequest(e, err)
	}
	plan, err := contactcsv.Check(e.App, path, req)
	if err != nil {
		return badRequest(e, err)
	}
	userID := ""
	if !e.Auth.IsSuperuser() {
		userID = e.Auth.Id
	}
	rec, err := contactcsv.Queue(e.App, id, req, plan, userID)
	if err != nil {
		return e.InternalServerError("The import could not be queued.", err)
	}
	queued = true
	env.Imports.Wake()
	return e.JSON(http.StatusAccepted, rec)
}

func saveUpload(path string, src io.Reader) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("creating the import directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("creating the upload file: %w", err)
	}
	if _, err := io.Copy(f, src); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func uploadError(e *core.RequestEvent, err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return apis.NewApiError(http.StatusRequestEntityTooLarge, fmt.Sprintf("The file is larger than %d GiB; split it into smaller files.", MaxUpload>>30), nil)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || strings.Contains(err.Error(), "multipart") {
		return e.BadRequestError("The upload was cut short or is not valid multipart/form-data; send it again.", nil)
	}
	return e.InternalServerError("The upload could not be stored.", err)
}

func findImport(e *core.RequestEvent) (*core.Record, error) {
	if err := requireManager(e, "see imports"); err != nil {
		return nil, err
	}
	rec, err := e.App.FindRecordById("imports", e.Request.PathValue("id"))
	if err != nil {
		return nil, e.NotFoundError("There is no import with this id.", nil)
	}
	return rec, nil
}

func getImport(e *core.RequestEvent) error {
	rec, err := findImport(e)
	if err != nil {
		return err
	}
	return e.JSON(http.StatusOK, rec)
}

func getRejected(e *core.RequestEvent) error {
	rec, err := findImport(e)
	if err != nil {
		return err
	}
	f, err := os.Open(filepath.Join(contactcsv.Dir(e.App, rec.Id), contactcsv.RejectedName))
	if errors.Is(err, os.ErrNotExist) {
		switch {
		case rec.GetString("status") == "queued":
			return e.NotFoundError("The import has not started yet; try again in a moment.", nil)
		case rec.GetInt("rejected_count") == 0:
			return e.NotFoundError("This import rejected no rows.", nil)
		}
		return e.NotFoundError(fmt.Sprintf("The rejected rows of this import are no longer kept (they are deleted %d days after the import ends).", int(contactcsv.RejectedRetention.Hours()/24)), nil)
	}
	if err != nil {
		return e.InternalServerError("The rejected rows could not be read.", err)
	}
	defer f.Close()
	// Serve only what is committed: a running import may have buffered more.
	size := int64(rec.GetInt("rejected_bytes"))
	if st := rec.GetString("status"); st == "done" || st == "failed" {
		if fi, err := f.Stat(); err == nil {
			size = fi.Size()
		}
	}
	e.Response.Header().Set("Content-Type", "text/csv; charset=utf-8")
	e.Response.Header().Set("Content-Disposition", attachment("rejected-"+strings.TrimSuffix(rec.GetString("filename"), filepath.Ext(rec.GetString("filename")))+".csv"))
	e.Response.WriteHeader(http.StatusOK)
	_, err = io.Copy(e.Response, io.LimitReader(f, size))
	return err
}

var unsafeFilename = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func attachment(name string) string {
	return fmt.Sprintf(`attachment; filename="%s"`, unsafeFilename.ReplaceAllString(name, "_"))
}

func exportContacts(env *Env, e *core.RequestEvent) error {
	if err := requireManager(e, "export contacts"); err != nil {
		return err
	}
	opts := contactcsv.ExportOptions{NoBOM: e.Request.URL.Query().Get("bom") == "false"}
	name := "contacts"
	if seg := e.Request.URL.Query().Get("segment"); seg != "" {
		if env.SegmentWhere == nil {
			return e.BadRequestError("Segments are not available in this version; export without ?segment=.", nil)
		}
		s, err := e.App.FindRecordById("segments", seg)
		if err != nil {
			return e.NotFoundError("Contact segment not found: check the segment id.", nil)
		}
		where, params, err := env.SegmentWhere(e.App, seg)
		var apiErr *router.ApiError
		if errors.As(err, &apiErr) {
			return apiErr // the segments area's own answer, already in the user's words
		}
		if err != nil {
			return e.BadRequestError("The segment cannot be used: "+err.Error(), nil)
		}
		opts.Where, opts.Params = where, params
		name = "segment-" + s.GetString("name")
	}
	extendDeadlines(e, time.Hour)
	e.Response.Header().Set("Content-Type", "text/csv; charset=utf-8")
	e.Response.Header().Set("Content-Disposition", attachment(name+"-"+time.Now().UTC().Format("2006-01-02")+".csv"))
	w := &trackingWriter{w: e.Response}
	if _, err := contactcsv.Export(e.Request.Context(), e.App, w, opts); err != nil {
		if !w.wrote {
			e.Response.Header().Del("Content-Disposition")
			return e.InternalServerError("The export failed before it started; try again.", err)
		}
		e.App.Logger().Error("contacts export failed mid-stream", "error", err)
		// The status is sent already: abort the connection so the client
		// sees a broken download, not a short file that looks complete.
		panic(http.ErrAbortHandler)
	}
	return nil
}

// trackingWriter tells whether anything reached the client yet.
type trackingWriter struct {
	w     io.Writer
	wrote bool
}

func (t *trackingWriter) Write(p []byte) (int, error) {
	t.wrote = true
	return t.w.Write(p)
}
