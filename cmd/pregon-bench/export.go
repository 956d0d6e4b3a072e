package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"runtime"
	"time"
)

func init() { commands["export"] = benchExport }

// benchExport measures GET /api/pregon/contacts/export over loopback HTTP.
// It needs contacts: it imports -rows first unless -dir already holds them
// (from `import -dir`).
//
//	go run ./cmd/pregon-bench export -rows 1000000
//	go run ./cmd/pregon-bench export -dir /tmp/b -tag vip   # a saved segment's members
func benchExport(args []string) error {
	fs := flag.NewFlagSet("export", flag.ExitOnError)
	rows := fs.Int("rows", 1_000_000, "contacts to import first when the data dir has none")
	dir := fs.String("dir", "", "data dir (keep it between runs with `import -dir`)")
	profile := fs.String("cpuprofile", "", "write a CPU profile of the export to this file")
	tag := fs.String("tag", "", "export only a saved segment of the contacts with this tag (e.g. vip: about a fifth of the generated contacts)")
	fs.Parse(args)
	if *dir == "" {
		d, cleanup, err := benchDir("")
		if err != nil {
			return err
		}
		defer cleanup()
		*dir = d
	}
	s, err := serve(filepath.Join(*dir, "pb_data"))
	if err != nil {
		return err
	}
	n, err := s.app.CountRecords("contacts")
	if err != nil {
		return err
	}
	if n == 0 {
		s.close()
		fmt.Printf("importing %d contacts first\n", *rows)
		if err := benchImport([]string{"-rows", fmt.Sprint(*rows), "-dir", *dir}); err != nil {
			return err
		}
		if s, err = serve(filepath.Join(*dir, "pb_data")); err != nil {
			return err
		}
	}
	defer s.close()
	cal, err := calibrate(s.app)
	if err != nil {
		return err
	}
	fmt.Printf("calibration: simple prepared insert %.0f rows/s now (the PocketBase guide: ~237,500 on an idle machine)\n", cal)
	path := "/api/pregon/contacts/export"
	if *tag != "" {
		cond, _ := json.Marshal(map[string]any{"groups": []any{map[string]any{"conditions": []any{
			map[string]any{"category": "tag", "operator": "has_any", "value": []string{*tag}}}}}})
		seg, err := findOrSaveSegment(s.app, "bench export: "+*tag, string(cond))
		if err != nil {
			return err
		}
		path += "?segment=" + seg.Id
		fmt.Printf("segment: contacts tagged %q\n", *tag)
	}
	runtime.GC()

	stop, err := startProfile(*profile)
	if err != nil {
		return err
	}
	start, cpu0 := time.Now(), cpuSeconds()
	res, err := s.request(http.MethodGet, path, nil, "")
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(res.Body)
		return fmt.Errorf("export: %s %s", res.Status, b)
	}
	lines, size := 0, 0
	br := bufio.NewReaderSize(res.Body, 1<<20)
	buf := make([]byte, 1<<20)
	for {
		k, err := br.Read(buf)
		size += k
		lines += bytes.Count(buf[:k], []byte("\n"))
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	elapsed, cpu := time.Since(start), cpuSeconds()-cpu0
	stop()
	written := lines - 1 // the header
	fmt.Printf("machine: %s, GOMAXPROCS=%d, %s\n", machine(), runtime.GOMAXPROCS(0), runtime.Version())
	fmt.Printf("export: %d lines after the header (%.1f MiB) in %.2fs = %.0f rows/s\n", written, float64(size)/(1<<20), elapsed.Seconds(), float64(written)/elapsed.Seconds())
	fmt.Printf("CPU: %.1fs user+system = %.1f µs per row\n", cpu, cpu/float64(written)*1e6)
	fmt.Printf("peak RSS (server and client, one process): %.0f MiB\n", peakRSSMiB())
	return nil
}

func jsonDecode(r io.Reader, dst any) error { return json.NewDecoder(r).Decode(dst) }
