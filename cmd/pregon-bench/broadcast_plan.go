package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"time"

	"github.com/pocketbase/pocketbase/core"

	"pregon/clock"
	"pregon/hooks"
	"pregon/internal/contactgen"
	"pregon/segments"
)

func init() { commands["broadcast-plan"] = broadcastPlan }

// benchBroadcastContent is a WhatsApp broadcast with a personalised text for
// open windows and a personalised template for the others, so that only
// opt-outs are left out of the generated set.
var benchBroadcastContent = map[string]any{"whatsapp_cloud": map[string]any{
	"text":     "Hola {{contact.first_name|cliente}}, tu ciudad {{contact.fields.city|}} tiene 20% hoy",
	"template": map[string]any{"name": "promo_enero", "language": "es", "params": []string{"{{contact.first_name|cliente}}"}},
}}

// broadcastPlan times the planning of a broadcast to every contact of the
// generated million-contact workspace: the segment resolved, one outbox row
// per recipient written with its rendered content, and the exclusions
// counted and recorded. Each run starts from a fresh copy of the base data
// dir (made with segment-count or contactgen), so runs compare.
func broadcastPlan(args []string) error {
	fs := flag.NewFlagSet("broadcast-plan", flag.ExitOnError)
	base := fs.String("base", "/tmp/pregon-bench-segments", "data dir holding the generated contacts (not modified)")
	dir := fs.String("dir", "/tmp/pregon-bench-broadcast-plan", "working copy, replaced on every run")
	runs := fs.Int("runs", 3, "timed runs, each on a fresh copy")
	chunk := fs.Int64("chunk", 0, "contact rowids per planning transaction (0: the engine's default)")
	profile := fs.String("cpuprofile", "", "write a CPU profile of the last run's planning here")
	fs.Parse(args)

	for run := 1; run <= *runs; run++ {
		if err := copyDataDir(*base, *dir); err != nil {
			return err
		}
		app, err := contactgen.Open(*dir)
		if err != nil {
			return err
		}
		opts := hooks.Options{Clock: clock.NewFake(contactgen.Now), NoWorkers: true}
		opts.Broadcasts.ChunkRows = *chunk
		env := hooks.Bind(app, opts)
		seg, err := findOrSaveSegment(app, "Benchmark: everyone", segments.Everyone)
		if err != nil {
			return err
		}
		col, err := app.FindCollectionByNameOrId("broadcasts")
		if err != nil {
			return err
		}
		b := core.NewRecord(col)
		b.Set("name", "Benchmark: a million recipients")
		b.Set("status", "draft")
		b.Set("segment", seg.Id)
		b.Set("channel_mode", "specific")
		b.Set("channel", contactgen.ChannelWhatsApp)
		b.Set("content", benchBroadcastContent)
		if err := app.Save(b); err != nil {
			return err
		}
		if err := env.Broadcasts.Send(b.Id, time.Time{}, "", "bench"); err != nil {
			return err
		}
		if *profile != "" && run == *runs {
			f, err := os.Create(*profile)
			if err != nil {
				return err
			}
			pprof.StartCPUProfile(f)
			defer f.Close()
		}
		c0, t0 := cpuTime(), time.Now()
		if err := env.Broadcasts.Plan(context.Background(), b.Id); err != nil {
			return err
		}
		wall, cpu := time.Since(t0), cpuTime()-c0
		if *profile != "" && run == *runs {
			pprof.StopCPUProfile()
		}
		r, err := app.FindRecordById("broadcasts", b.Id)
		if err != nil {
			return err
		}
		fmt.Printf("run %d: planned in %s (cpu %s): targeted %d, queued %d, excluded %s, status %s %s\n", run,
			wall.Round(time.Millisecond), cpu.Round(time.Millisecond), r.GetInt("targeted"), r.GetInt("queued"),
			r.GetString("excluded"), r.GetString("status"), r.GetString("error"))
		app.ResetBootstrapState()
	}
	fmt.Printf("peak RSS %.0f MiB\n", peakRSSMiB())
	return nil
}

// copyDataDir replaces dst with a copy of the SQLite files of src.
func copyDataDir(src, dst string) error {
	if err := os.RemoveAll(dst); err != nil {
		return err
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	for _, name := range []string{"data.db", "data.db-wal", "auxiliary.db", "auxiliary.db-wal"} {
		in, err := os.Open(filepath.Join(src, name))
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return err
		}
		out, err := os.Create(filepath.Join(dst, name))
		if err != nil {
			in.Close()
			return err
		}
		_, err = io.Copy(out, in)
		in.Close()
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("copying %s: %w", name, err)
		}
	}
	return nil
}
