package contactcsv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"

	"pregon/contacts"
	"pregon/csvfile"
	"pregon/events"
	"pregon/internal/sqlitemem"
	"pregon/workspace"
)

// Tuning. A batch is one transaction: a few thousand rows keep the writer
// busy for a fraction of a second, so API writes interleave.
const (
	DefaultBatchSize = 5000
	chunkSize        = 500 // records handed to a worker at a time
)

// File names inside an import's directory.
const (
	UploadName   = "upload.csv"
	RejectedName = "rejected.csv"
)

// Dir is where import id keeps its upload and rejected.csv.
func Dir(app core.App, id string) string { return filepath.Join(app.DataDir(), "imports", id) }

// Options tune Run; zero values are the defaults.
type Options struct {
	BatchSize int
	Workers   int
}

// job is one run (or resumption) of an import.
type job struct {
	app  core.App
	rec  *core.Record
	dir  string
	opts Options
	w    *writer
	rej  *rejectedFile
	pos  int // records committed, counting from the first data row
}

// Run runs import id, or resumes it from its last committed batch, until
// the file ends. When ctx is cancelled it stops after the batch in hand and
// leaves the import "running", to be resumed. A fault marks the import
// failed with what was applied before it; rows already committed stay.
func Run(ctx context.Context, app core.App, id string, opts Options) error {
	if opts.BatchSize <= 0 {
		opts.BatchSize = DefaultBatchSize
	}
	if opts.Workers <= 0 {
		// The writer needs a core of its own (it is the bottleneck: ~37 µs
		// of CPU per row against ~23 µs of parsing); more workers than the
		// other cores would only take turns with it.
		opts.Workers = max(1, runtime.GOMAXPROCS(0)-1)
	}
	rec, err := app.FindRecordById("imports", id)
	if err != nil {
		return fmt.Errorf("loading import %s: %w", id, err)
	}
	j := &job{app: app, rec: rec, dir: Dir(app, id), opts: opts, pos: rec.GetInt("position")}
	err = j.run(ctx)
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return err // stopped by shutdown: resumed on the next start
	}
	if err != nil {
		return j.fail(err)
	}
	return nil
}

func (j *job) run(ctx context.Context) error {
	rec := j.rec
	var tags []string
	if err := rec.UnmarshalJSONField("tags", &tags); err != nil {
		return fmt.Errorf("reading the import's tags: %w", err)
	}
	req := Request{
		Mode: Mode(rec.GetString("mode")), Identifier: Identifier(rec.GetString("identifier")), Tags: tags,
		ConsentSource: rec.GetString("consent_source"), ConsentWording: rec.GetString("consent_wording"), Filename: rec.GetString("filename"),
	}
	j.w = newWriter(rec.Id, req)
	j.w.counts = Counts{
		Read: rec.GetInt("rows_read"), Created: rec.GetInt("created_count"), Updated: rec.GetInt("updated_count"),
		Unchanged: rec.GetInt("unchanged_count"), Skipped: rec.GetInt("skipped_count"), Rejected: rec.GetInt("rejected_count"),
	}

	f, err := os.Open(filepath.Join(j.dir, UploadName))
	if errors.Is(err, os.ErrNotExist) {
		return errors.New("the uploaded file is gone (was the data directory cleaned?); upload it again")
	}
	if err != nil {
		return fmt.Errorf("opening the upload: %w", err)
	}
	defer f.Close()
	defs, err := contacts.LoadFieldDefs(j.app)
	if err != nil {
		return err
	}
	settings, err := workspace.Load(j.app)
	if err != nil {
		return err
	}
	plan, err := check(f, defs, req.Identifier)
	if err != nil {
		return err // e.g. a custom field deleted since the upload
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	j.rej, err = openRejected(filepath.Join(j.dir, RejectedName), int64(rec.GetInt("rejected_bytes")), plan.Header.Names)
	if err != nil {
		return err
	}
	defer j.rej.close()

	rec.Set("status", "running")
	rec.Set("format", plan.Format.String())
	rec.Set("ignored_columns", plan.Header.Ignored)
	if rec.GetString("started_at") == "" {
		rec.Set("started_at", types.NowDateTime())
	}
	if err := j.app.Save(rec); err != nil {
		return fmt.Errorf("marking the import running: %w", err)
	}

	n := &normalizer{h: plan.Header, defs: defs, region: settings.DefaultRegion, ident: req.Identifier, mode: req.Mode, formTags: req.Tags}
	defer spaceCheckpoints(j.app)()
	if err := j.pipeline(ctx, csvfile.NewReader(f, plan.Format), n); err != nil {
		return err
	}
	return j.finish()
}

// chunk is a run of consecutive records on their way through the pipeline.
type chunk struct {
	seq  int
	recs []csvfile.Record
	rows []row
	err  error // a read error after the records; ends the file
}

// pipeline: one reader, N workers normalizing (phone parsing is the CPU
// hog), and this goroutine writing batches in file order.
func (j *job) pipeline(ctx context.Context, r *csvfile.Reader, n *normalizer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	toWork := make(chan *chunk, j.opts.Workers*2)
	// The workers may run a whole batch ahead: while the writer applies one
	// batch they prepare the next, instead of stopping after a few chunks
	// and leaving the writer to wait for the rest of its next batch.
	toWrite := make(chan *chunk, j.opts.BatchSize/chunkSize+j.opts.Workers*2)

	go func() {
		defer close(toWork)
		if _, err := r.Read(); err != nil { // the header, checked already
			return
		}
		for seq := 0; ; seq++ {
			c := &chunk{seq: seq, recs: make([]csvfile.Record, 0, chunkSize)}
			for len(c.recs) < chunkSize {
				rec, err := r.Read()
				if err == io.EOF {
					break
				}
				if err != nil {
					c.err = err
					break
				}
				c.recs = append(c.recs, rec)
			}
			if len(c.recs) == 0 && c.err == nil {
				return
			}
			last := c.err != nil || len(c.recs) < chunkSize // c belongs to a worker once sent
			select {
			case toWork <- c:
			case <-ctx.Done():
				return
			}
			if last {
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for i := 0; i < j.opts.Workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range toWork {
				c.rows = make([]row, len(c.recs))
				for i := range c.recs {
					c.rows[i] = n.normalize(c.recs[i])
				}
				c.recs = nil
				select {
				case toWrite <- c:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	go func() { wg.Wait(); close(toWrite) }()

	pending := map[int]*chunk{}
	next, skip := 0, j.pos
	batch := make([]row, 0, j.opts.BatchSize)
	for c := range toWrite {
		pending[c.seq] = c
		for c = pending[next]; c != nil; c = pending[next] {
			delete(pending, next)
			next++
			rows := c.rows
			if skip > 0 { // resuming: these rows were committed before
				k := min(skip, len(rows))
				j.w.markDuplicates(rows[:k])
				rows, skip = rows[k:], skip-k
			}
			for len(rows) > 0 {
				k := min(j.opts.BatchSize-len(batch), len(rows))
				batch = append(batch, rows[:k]...)
				rows = rows[k:]
				if len(batch) == j.opts.BatchSize {
					if err := j.commit(batch); err != nil {
						return err
					}
					batch = batch[:0]
					if err := ctx.Err(); err != nil {
						return err
					}
				}
			}
			if c.err != nil {
				if err := j.commit(batch); err != nil {
					return err
				}
				return readErr(c.err)
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return j.commit(batch)
}

// commit applies one batch and saves the progress in the same transaction.
func (j *job) commit(rows []row) error {
	if len(rows) == 0 {
		return nil
	}
	before, size := j.w.counts, j.rej.size
	j.w.markDuplicates(rows)
	defer sqlitemem.Reserve()()
	err := j.app.RunInTransaction(func(tx core.App) error {
		if err := j.w.apply(tx, rows, j.rej.write); err != nil {
			return err
		}
		n, err := j.rej.flush()
		if err != nil {
			return err
		}
		j.setCounts()
		j.rec.Set("position", j.pos+len(rows))
		j.rec.Set("rejected_bytes", n)
		return tx.Save(j.rec)
	})
	if err != nil {
		j.w.counts = before
		j.setCounts()
		j.rec.Set("position", j.pos)
		j.rec.Set("rejected_bytes", size)
		if rerr := j.rej.rollback(size); rerr != nil {
			err = errors.Join(err, rerr)
		}
		return err
	}
	j.pos += len(rows)
	return nil
}

func (j *job) setCounts() {
	c := j.w.counts
	for k, v := range map[string]int{"rows_read": c.Read, "created_count": c.Created, "updated_count": c.Updated,
		"unchanged_count": c.Unchanged, "skipped_count": c.Skipped, "rejected_count": c.Rejected} {
		j.rec.Set(k, v)
	}
}

func (j *job) finish() error {
	err := j.app.RunInTransaction(func(tx core.App) error {
		j.rec.Set("status", "done")
		j.rec.Set("finished_at", types.NowDateTime())
		if err := tx.Save(j.rec); err != nil {
			return err
		}
		return events.Append(tx, events.Event{Type: "import.completed", Subject: j.rec.Id, Actor: j.w.actor, Payload: j.w.counts})
	})
	if err != nil {
		return fmt.Errorf("finishing the import: %w", err)
	}
	j.removeUpload()
	return nil
}

// fail records why the import stopped and what it had applied; the rows of
// committed batches stay.
func (j *job) fail(cause error) error {
	msg := cause.Error()
	var ie *InputError
	if !errors.As(cause, &ie) {
		msg = "the import stopped: " + msg
	}
	c := j.w.counts
	if c.Read > 0 {
		msg += fmt.Sprintf(". Applied before stopping: %d rows read, %d created, %d updated, %d unchanged, %d skipped, %d rejected",
			c.Read, c.Created, c.Updated, c.Unchanged, c.Skipped, c.Rejected)
	}
	j.rec.Set("status", "failed")
	j.rec.Set("error", truncate(msg, 2000))
	j.rec.Set("finished_at", types.NowDateTime())
	err := j.app.RunInTransaction(func(tx core.App) error {
		if err := tx.Save(j.rec); err != nil {
			return err
		}
		return events.Append(tx, events.Event{Type: "import.failed", Subject: j.rec.Id, Actor: "import:" + j.rec.Id,
			Payload: map[string]any{"error": j.rec.GetString("error")}})
	})
	j.removeUpload()
	if err != nil {
		return errors.Join(cause, fmt.Errorf("recording the failure: %w", err))
	}
	return cause
}

// removeUpload deletes the uploaded file once the import has ended: it is
// the user's own file, and a large one; rejected.csv stays for download.
func (j *job) removeUpload() {
	if err := os.Remove(filepath.Join(j.dir, UploadName)); err != nil && !errors.Is(err, os.ErrNotExist) {
		j.app.Logger().Warn("could not delete an import's upload", "import", j.rec.Id, "error", err)
	}
}

// errorText is a one-line description for logs.
func errorText(err error) string { return strings.ReplaceAll(err.Error(), "\n", " ") }
