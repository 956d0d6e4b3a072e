//go:build unix

package fake_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"testing"

	"pregon/channels"
	"pregon/channels/fakekit"
	"pregon/channels/whatsapp/fake"
)

// BenchmarkFakeRaw measures the fake alone: pre-built send bodies posted
// over keep-alive loopback connections, limits and webhooks off, as a
// whole-system benchmark would run it. Recording toggles the request log.
func BenchmarkFakeRaw(b *testing.B) {
	for _, rec := range []bool{false, true} {
		b.Run(fmt.Sprintf("log=%v", rec), func(b *testing.B) {
			f, err := fake.Start(fake.Options{Rate: fake.Unlimited, PairSpacing: fake.Unlimited, Window: fake.WindowOff, NoStatuses: true})
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			f.Log.SetRecording(rec)
			client := channels.DefaultHTTPClient()
			u := f.URL() + "/v25.0/" + f.Options().PhoneNumberID + "/messages"
			auth := "Bearer " + f.Options().AccessToken
			var n atomic.Int64
			b.SetParallelism(32) // many connections, as an outbox with workers would open
			b.ReportAllocs()
			cpu0 := fakekit.ProcessCPU()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := n.Add(1)
					body := fmt.Appendf(nil, `{"messaging_product":"whatsapp","recipient_type":"individual","to":"519%08d","type":"text","text":{"body":"Hola, tu pedido está listo","preview_url":false}}`, i)
					req, _ := http.NewRequest("POST", u, bytes.NewReader(body))
					req.Header.Set("Authorization", auth)
					req.Header.Set("Content-Type", "application/json")
					resp, err := client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						b.Errorf("status %d", resp.StatusCode)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msg/s")
			b.ReportMetric(float64(fakekit.ProcessCPU()-cpu0)/float64(b.N)/1e3, "cpu-µs/msg")
			b.ReportMetric(float64(fakekit.ProcessCPU()-cpu0)/float64(b.N)/1e3, "cpu-µs/msg")
		})
	}
}
