//go:build unix

package whatsapp_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"pregon/channels"
	"pregon/channels/fakekit"
	"pregon/channels/whatsapp"
	"pregon/channels/whatsapp/fake"
)

// BenchmarkAdapterSend measures Send end to end against the fake on
// loopback (both in this process, sharing the machine's cores), with the
// fake's limits and webhooks off.
func BenchmarkAdapterSend(b *testing.B) {
	f, err := fake.Start(fake.Options{Rate: fake.Unlimited, PairSpacing: fake.Unlimited, Window: fake.WindowOff, NoStatuses: true})
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	f.Log.SetRecording(false)
	o := f.Options()
	a, err := whatsapp.New(channels.Config{
		whatsapp.KeyBaseURL: f.URL(), whatsapp.KeyPhoneNumberID: o.PhoneNumberID, whatsapp.KeyAccessToken: o.AccessToken,
		whatsapp.KeyAppSecret: o.AppSecret, whatsapp.KeyVerifyToken: "v",
	}, channels.Deps{})
	if err != nil {
		b.Fatal(err)
	}
	var n atomic.Int64
	b.SetParallelism(32)
	b.ReportAllocs()
	cpu0 := fakekit.ProcessCPU()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			i := n.Add(1)
			_, err := a.Send(ctx, channels.OutMessage{ID: "m", To: fmt.Sprintf("+519%08d", i), Content: channels.Content{Text: "Hola, tu pedido está listo"}})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msg/s")
	b.ReportMetric(float64(fakekit.ProcessCPU()-cpu0)/float64(b.N)/1e3, "cpu-µs/msg")
}
