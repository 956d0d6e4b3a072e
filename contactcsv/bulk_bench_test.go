package contactcsv

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/pocketbase/pocketbase/core"
	_ "github.com/pocketbase/pocketbase/migrations"

	"pregon/internal/sqlitemem"
	_ "pregon/pb_migrations"
)

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkBulkIdentities(b *testing.B) {
	for _, per := range []int{1, 4, 8, 16, 32, 64} {
		b.Run(fmt.Sprint(per), func(b *testing.B) {
			app := core.NewBaseApp(core.BaseAppConfig{DataDir: b.TempDir()})
			if err := app.Bootstrap(); err != nil {
				b.Fatal(err)
			}
			if err := app.RunAllMigrations(); err != nil {
				b.Fatal(err)
			}
			sqlitemem.KeepSlabs()
			seq := newIDSeq(time.Now())
			b.ResetTimer()
			cpu0 := cpuTime()
			defer func() { b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op") }()
			n := 0
			for n < b.N {
				err := app.RunInTransaction(func(tx core.App) error {
					ex, _ := executor(tx)
					now := sqlText("2026-11-21 00:00:00.000Z")
					ins := newBulkInsert(ex, "contact_identities",
						[]string{"id", "contact", "kind", "identifier", "from_phone", "consent", "consent_at", "consent_source", "consent_wording", "created", "updated"},
						[]string{"?", "?", "?", "?", "?", "?", "?", "?", "?", now, now}, per)
					defer ins.close()
					for i := 0; i < 5000 && n < b.N; i++ {
						n++
						if err := ins.add(seq.next(), "c"+fmt.Sprint(n), "sms", fmt.Sprintf("+5255%08d", (n*7919)%100000000), true, "", "", "", ""); err != nil {
							return err
						}
					}
					return ins.flush()
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
