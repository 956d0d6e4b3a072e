package main

import (
	"flag"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/pocketbase/pocketbase/core"

	"pregon/contacts"
	"pregon/internal/csvgen"
	"pregon/segments"
)

func init() { commands["import"] = benchImport }

// benchImport measures a CSV import end to end: the upload through the
// real endpoint, the background run, until the import reports done.
//
//	go run ./cmd/pregon-bench import -rows 1000000
func benchImport(args []string) error {
	fs := flag.NewFlagSet("import", flag.ExitOnError)
	rows := fs.Int("rows", 1_000_000, "rows in the generated CSV")
	dir := fs.String("dir", "", "data dir to use and keep (default: a temporary one, removed)")
	profile := fs.String("cpuprofile", "", "write a CPU profile of the import to this file")
	fieldIdx := fs.Int("field-indexes", 0, "custom-field expression indexes on contacts, as saved segments filtering on them create (0-2: plan, puntos)")
	fs.Parse(args)

	dataDir, cleanup, err := benchDir(*dir)
	if err != nil {
		return err
	}
	defer cleanup()
	csvPath := filepath.Join(dataDir, "bench-contacts.csv")
	genStart := time.Now()
	f, err := os.Create(csvPath)
	if err != nil {
		return err
	}
	if err := csvgen.Write(f, *rows, 1); err != nil {
		return err
	}
	f.Close()
	st, _ := os.Stat(csvPath)
	fmt.Printf("generated %d rows (%.1f MiB) in %.1fs (not timed)\n", *rows, float64(st.Size())/(1<<20), time.Since(genStart).Seconds())

	s, err := serve(filepath.Join(dataDir, "pb_data"))
	if err != nil {
		return err
	}
	defer s.close()
	if err := defineBenchFields(s.app); err != nil {
		return err
	}
	if err := createFieldIndexes(s.app, *fieldIdx); err != nil {
		return err
	}
	cal, err := calibrate(s.app)
	if err != nil {
		return err
	}
	fmt.Printf("calibration: simple prepared insert %.0f rows/s now (the PocketBase guide: ~237,500 on an idle machine)\n", cal)
	runtime.GC()

	stop, err := startProfile(*profile)
	if err != nil {
		return err
	}
	start, cpu0 := time.Now(), cpuSeconds()
	id, err := upload(s, csvPath)
	if err != nil {
		return err
	}
	uploaded := time.Since(start)
	var imp map[string]any
	for {
		if err := s.getJSON("/api/pregon/imports/"+id, &imp); err != nil {
			return err
		}
		if st := imp["status"]; st == "done" || st == "failed" {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	elapsed, cpu := time.Since(start), cpuSeconds()-cpu0
	stop()
	if imp["status"] != "done" {
		return fmt.Errorf("import failed: %v", imp["error"])
	}
	fmt.Printf("machine: %s, GOMAXPROCS=%d, %s\n", machine(), runtime.GOMAXPROCS(0), runtime.Version())
	fmt.Printf("import: %d rows in %.2fs end to end (upload %.2fs) = %.0f rows/s\n", *rows, elapsed.Seconds(), uploaded.Seconds(), float64(*rows)/elapsed.Seconds())
	fmt.Printf("CPU: %.1fs user+system = %.1f µs per row (wall on an idle 2-core machine is at least half of it)\n", cpu, cpu/float64(*rows)*1e6)
	fmt.Printf("counts: created %v, updated %v, unchanged %v, skipped %v, rejected %v\n",
		imp["created_count"], imp["updated_count"], imp["unchanged_count"], imp["skipped_count"], imp["rejected_count"])
	fmt.Printf("peak RSS (server and client, one process): %.0f MiB\n", peakRSSMiB())
	if read, _ := imp["rows_read"].(float64); int(read) != *rows {
		return fmt.Errorf("the import read %v rows of %d", imp["rows_read"], *rows)
	}
	return nil
}

func defineBenchFields(app core.App) error {
	col, err := app.FindCollectionByNameOrId("contact_fields")
	if err != nil {
		return err
	}
	for _, f := range csvgen.Fields {
		if _, err := app.FindFirstRecordByData(col, "key", f.Key); err == nil {
			continue
		}
		r := core.NewRecord(col)
		r.Set("key", f.Key)
		r.Set("label", f.Label)
		r.Set("type", f.Type)
		if f.Options != "" {
			r.Set("options", f.Options)
		}
		if err := app.Save(r); err != nil {
			return err
		}
	}
	return nil
}

// createFieldIndexes creates the indexes segments.SyncFieldIndexes keeps
// for the first n bench fields, as if saved segments filtered on them.
func createFieldIndexes(app core.App, n int) error {
	if n < 0 || n > len(csvgen.Fields) {
		return fmt.Errorf("-field-indexes: 0 to %d", len(csvgen.Fields))
	}
	for _, f := range csvgen.Fields[:n] {
		q := segments.FieldIndexSQL(contacts.FieldDef{Key: f.Key, Type: contacts.FieldType(f.Type)})
		if _, err := app.DB().NewQuery(strings.Replace(q, "CREATE INDEX", "CREATE INDEX IF NOT EXISTS", 1)).Execute(); err != nil {
			return fmt.Errorf("creating the index on %s: %w", f.Key, err)
		}
		fmt.Printf("index: %s\n", q)
	}
	return nil
}

// upload streams the file as multipart (never whole in memory) and returns
// the import id.
func upload(s *served, path string) (string, error) {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		err := func() error {
			for k, v := range map[string]string{"mode": "add_update", "identifier": "phone", "tags": "bench"} {
				if err := mw.WriteField(k, v); err != nil {
					return err
				}
			}
			fw, err := mw.CreateFormFile("file", filepath.Base(path))
			if err != nil {
				return err
			}
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			defer f.Close()
			if _, err := io.Copy(fw, f); err != nil {
				return err
			}
			return mw.Close()
		}()
		pw.CloseWithError(err)
	}()
	res, err := s.request(http.MethodPost, "/api/pregon/contacts/import", pr, mw.FormDataContentType())
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	var out struct {
		ID      string `json:"id"`
		Message string `json:"message"`
	}
	if err := jsonDecode(res.Body, &out); err != nil {
		return "", err
	}
	if res.StatusCode != http.StatusAccepted {
		return "", fmt.Errorf("upload: %s %s", res.Status, out.Message)
	}
	return out.ID, nil
}
