package fcmfake_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"firebase.google.com/go/v4/messaging"

	"github.com/couponpop/couponpop/internal/push/fcmfake"
)

// BenchmarkServeHTTP measures the fake alone, without sockets: the cost it
// adds to a push benchmark on top of the SDK and the network.
func BenchmarkServeHTTP(b *testing.B) {
	srv := fcmfake.New(fcmfake.WithProject(project), fcmfake.WithMessageLimit(1000))
	const body = `{"message":{"token":"tok","notification":{"title":"50% off","body":"Cafe Mora"},` +
		`"data":{"kind":"EVENT_NEW","event_id":"42","store_id":"7"},"android":{"priority":"high"}}}`
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest(http.MethodPost, "/v1/projects/"+project+"/messages:send", strings.NewReader(body))
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("status %d, want 200: %s", rec.Code, rec.Body)
			}
		}
	})
}

// BenchmarkSDKSend measures end-to-end sends through the real SDK over
// loopback, the path the push benchmark takes.
func BenchmarkSDKSend(b *testing.B) {
	srv := fcmfake.Start(b, fcmfake.WithMessageLimit(1000))
	client := newClient(b, srv)
	var n atomic.Int64
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			tok := "tok-" + strconv.FormatInt(n.Add(1), 10)
			if _, err := client.Send(context.Background(), &messaging.Message{
				Token: tok,
				Data:  map[string]string{"kind": "EVENT_NEW"},
			}); err != nil {
				b.Fatalf("Send: %v", err)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sends/s")
}
