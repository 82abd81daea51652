package push

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	firebase "firebase.google.com/go/v4"
	"firebase.google.com/go/v4/messaging"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/api/option"

	"github.com/couponpop/couponpop/internal/push/fcmfake"
)

func TestQuietUntil(t *testing.T) {
	seoul, _ := time.LoadLocation("Asia/Seoul")
	paris, _ := time.LoadLocation("Europe/Paris")
	at := func(loc *time.Location, y int, mo time.Month, d, h, m int) time.Time {
		return time.Date(y, mo, d, h, m, 0, 0, loc)
	}
	tests := []struct {
		name   string
		q      quiet
		now    time.Time
		wantIn bool
		want   time.Time
	}{
		{"none", quiet{loc: seoul}, at(seoul, 2030, 1, 1, 23, 0), false, time.Time{}},
		{"before a wrapping window", quiet{22 * 60, 7 * 60, seoul}, at(seoul, 2030, 1, 1, 21, 59), false, time.Time{}},
		{"late evening", quiet{22 * 60, 7 * 60, seoul}, at(seoul, 2030, 1, 1, 22, 0), true, at(seoul, 2030, 1, 2, 7, 0)},
		{"after midnight", quiet{22 * 60, 7 * 60, seoul}, at(seoul, 2030, 1, 2, 3, 0), true, at(seoul, 2030, 1, 2, 7, 0)},
		{"end is not quiet", quiet{22 * 60, 7 * 60, seoul}, at(seoul, 2030, 1, 2, 7, 0), false, time.Time{}},
		{"daytime window", quiet{13 * 60, 14 * 60, seoul}, at(seoul, 2030, 1, 2, 13, 30), true, at(seoul, 2030, 1, 2, 14, 0)},
		{"read in the member's zone", quiet{22 * 60, 7 * 60, seoul}, at(paris, 2030, 1, 1, 15, 0), true, at(seoul, 2030, 1, 2, 7, 0)},
		// Paris springs forward on 2030-03-31 at 02:00: "until 07:00" is
		// 07:00 on the new clock, 8 hours after 23:00, not 9.
		{"across a DST change", quiet{23 * 60, 7 * 60, paris}, at(paris, 2030, 3, 30, 23, 0), true, at(paris, 2030, 3, 31, 7, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, in := tt.q.until(tt.now)
			assert.Equal(t, tt.wantIn, in, "in quiet hours")
			assert.True(t, got.Equal(tt.want), "until = %v, want %v", got, tt.want)
		})
	}
	end, _ := quiet{23 * 60, 7 * 60, paris}.until(at(paris, 2030, 3, 30, 23, 0))
	assert.Equal(t, 7*time.Hour, end.Sub(at(paris, 2030, 3, 30, 23, 0)), "DST night is an hour short")
}

func TestBackoff(t *testing.T) {
	w := NewWorker(nil, nil, nil, WorkerConfig{BaseBackoff: time.Second, MaxBackoff: time.Minute})
	tests := []struct {
		attempt    int
		retryAfter time.Duration
		lo, hi     time.Duration
	}{
		{1, 0, 500 * time.Millisecond, time.Second},
		{2, 0, time.Second, 2 * time.Second},
		{4, 0, 4 * time.Second, 8 * time.Second},
		{10, 0, 30 * time.Second, time.Minute},                    // capped
		{60, 0, 30 * time.Second, time.Minute},                    // no overflow
		{1, 20 * time.Second, 20 * time.Second, 20 * time.Second}, // Retry-After wins
		{1, time.Hour, time.Minute, time.Minute},                  // but not past the cap
	}
	for _, tt := range tests {
		for range 50 {
			got := w.backoff(tt.attempt, tt.retryAfter)
			if got < tt.lo || got > tt.hi {
				t.Fatalf("backoff(%d, %v) = %v, want within [%v, %v]", tt.attempt, tt.retryAfter, got, tt.lo, tt.hi)
			}
		}
	}
}

func TestDelayFor(t *testing.T) {
	topo := DefaultTopology()
	tests := []struct {
		wait, want time.Duration
	}{
		{0, time.Second},
		{300 * time.Millisecond, time.Second},
		{4 * time.Second, time.Second},
		{5 * time.Second, 5 * time.Second},
		{9 * time.Hour, time.Hour},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, topo.delayFor(tt.wait), "delayFor(%v)", tt.wait)
	}
	assert.Equal(t, "push.delay.30s", topo.DelayQueue(30*time.Second))
}

// TestClassify runs each FCM answer through the real SDK against the fake,
// and classifies the error exactly as SendEach hands it over.
func TestClassify(t *testing.T) {
	srv := fcmfake.Start(t)
	ctx := context.Background()
	app, err := firebase.NewApp(ctx, &firebase.Config{ProjectID: "p"}, option.WithEndpoint(srv.Endpoint()), option.WithoutAuthentication())
	require.NoError(t, err)
	client, err := app.Messaging(ctx)
	require.NoError(t, err)

	tests := []struct {
		name       string
		failure    *fcmfake.Failure
		want       outcome
		reason     string
		retryAfter time.Duration
	}{
		{"accepted", nil, delivered, "", 0},
		{"unregistered", fcmfake.Unregistered(), gone, "UNREGISTERED", 0},
		{"invalid token", fcmfake.InvalidToken(), rejected, "INVALID_ARGUMENT", 0},
		{"sender id mismatch", fcmfake.SenderIDMismatch(), rejected, "SENDER_ID_MISMATCH", 0},
		{"quota", fcmfake.QuotaExceeded(30 * time.Second), transient, "QUOTA_EXCEEDED", 30 * time.Second},
		{"internal", fcmfake.Internal(), transient, "INTERNAL", 0},
		{"unavailable, SDK gave up", fcmfake.Unavailable(3 * time.Minute), transient, "UNAVAILABLE", 3 * time.Minute},
		{"third-party auth", fcmfake.ThirdPartyAuthError(), transient, "THIRD_PARTY_AUTH_ERROR", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv.ClearFailures()
			if tt.failure != nil {
				srv.FailNext(1, tt.failure)
			}
			br, err := client.SendEach(ctx, []*messaging.Message{{Token: "t"}})
			require.NoError(t, err)
			o, reason, ra := classify(br.Responses[0].Error)
			assert.Equal(t, tt.want, o, "outcome")
			assert.Equal(t, tt.reason, reason, "reason")
			assert.Equal(t, tt.retryAfter, ra, "retry after")
		})
	}
	t.Run("timeout", func(t *testing.T) {
		srv.ClearFailures()
		srv.SetLatency(time.Second)
		defer srv.SetLatency(0)
		tctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		br, err := client.SendEach(tctx, []*messaging.Message{{Token: "t"}})
		require.NoError(t, err)
		o, reason, _ := classify(br.Responses[0].Error)
		assert.Equal(t, transient, o)
		assert.Equal(t, "TIMEOUT", reason)
	})
	t.Run("wrapped errors are not trusted", func(t *testing.T) {
		o, _, _ := classify(errors.New("something"))
		assert.Equal(t, transient, o, "unknown errors retry")
	})
}

func TestNewSenderWithoutFCMLogs(t *testing.T) {
	var buf strings.Builder
	log := slog.New(slog.NewTextHandler(&buf, nil))
	s, err := NewSender(context.Background(), FCMConfig{ProjectID: "p"}, log)
	require.NoError(t, err)
	require.IsType(t, &LogSender{}, s, "no credentials and no endpoint: a logging sender")
	br, err := s.SendEach(context.Background(), []*messaging.Message{{Token: "abcdefghijklmnopqrstuvwxyz", Notification: &messaging.Notification{Title: "Hi"}}})
	require.NoError(t, err)
	assert.Equal(t, 1, br.SuccessCount)
	assert.True(t, br.Responses[0].Success)
	assert.Contains(t, buf.String(), "title=Hi")
	assert.NotContains(t, buf.String(), "abcdefghijklmnopqrstuvwxyz", "tokens are shortened in logs")

	s, err = NewSender(context.Background(), FCMConfig{ProjectID: "p", Endpoint: "http://127.0.0.1:1/v1"}, log)
	require.NoError(t, err)
	assert.IsType(t, &messaging.Client{}, s, "an endpoint: the real client")
}
