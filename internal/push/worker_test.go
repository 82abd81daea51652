package push_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/couponpop/couponpop/internal/outbox"
	"github.com/couponpop/couponpop/internal/push"
	"github.com/couponpop/couponpop/internal/push/fcmfake"
)

func tokenExists(t *testing.T, tok string) bool {
	t.Helper()
	var n int
	require.NoError(t, pool.QueryRow(context.Background(), `SELECT count(*) FROM devices WHERE token = $1`, tok).Scan(&n))
	return n > 0
}

// TestDeliveryOutcomes sends one push to a member with two devices, the
// second of which FCM answers in various ways, and checks what the worker
// did about each answer.
func TestDeliveryOutcomes(t *testing.T) {
	e := newEnv(t, nil)
	tests := []struct {
		name string
		fail func(tok string) // program the fake for the second device
		// want
		secondDelivered bool
		secondRequests  int
		secondKept      bool   // the token is still registered
		deadReason      string // "" when nothing is dead-lettered
	}{
		{"both accepted", func(string) {}, true, 1, true, ""},
		{"unregistered token is deleted, not retried", func(tok string) { e.fcm.Unregister(tok) }, false, 1, false, ""},
		{"invalid argument is dead-lettered, not retried", func(tok string) { e.fcm.MarkInvalid(tok) }, false, 1, true, "INVALID_ARGUMENT"},
		{"sender id mismatch is dead-lettered, not retried", func(tok string) { e.fcm.MismatchSender(tok) }, false, 1, true, "SENDER_ID_MISMATCH"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			good, other := token(t), token(t)
			tt.fail(other)
			m := member(t, good, other)
			tr := trace(outbox.CouponIssued)
			before := len(e.deadLetters())
			emit(t, issued(m, tr))

			eventually(t, 10*time.Second, func() bool { return e.fcm.CountFor(good) == 1 }, "push to the good device")
			eventually(t, 10*time.Second, func() bool {
				s, _, _, _ := notification(t, m, tr)
				return s == "SENT"
			}, "history SENT")
			time.Sleep(700 * time.Millisecond) // room for a wrong retry to show up

			assert.Equal(t, 1, e.fcm.CountFor(good), "deliveries to the good device")
			wantOther := 0
			if tt.secondDelivered {
				wantOther = 1
			}
			assert.Equal(t, wantOther, e.fcm.CountFor(other), "deliveries to the second device")
			assert.Equal(t, tt.secondRequests, e.tries(other), "sends tried to the second device")
			assert.Equal(t, tt.secondKept, tokenExists(t, other), "second token still registered")

			dead := e.deadLetters()
			if tt.deadReason == "" {
				assert.Len(t, dead, before, "dead letters")
				return
			}
			require.Len(t, dead, before+1, "dead letters")
			j := jobOf(t, dead[len(dead)-1])
			assert.Equal(t, tt.deadReason, j.Reason)
			assert.Equal(t, tr, j.TraceID)
			assert.Equal(t, []push.Target{{MemberID: m, Token: other}}, j.Targets, "only the rejected device is dead-lettered")
		})
	}
}

// TestTransientFailuresDeliverOnce: FCM failing for a while, in each way
// the worker must retry, still ends with every push delivered exactly once.
func TestTransientFailuresDeliverOnce(t *testing.T) {
	tests := []struct {
		name    string
		failure *fcmfake.Failure
		n       int // sends that fail
	}{
		// Retry-After 0: the SDK retries 503s itself (0, 1, 2, 4 s).
		{"503 retried inside the SDK", fcmfake.Unavailable(0), 30},
		// Retry-After above 2 min: the SDK gives up at once and the worker
		// retries through its delay queues (capped by MaxBackoff here).
		{"503 with a long Retry-After", fcmfake.Unavailable(3 * time.Minute), 60},
		{"429 QUOTA_EXCEEDED", fcmfake.QuotaExceeded(time.Second), 60},
		{"500 INTERNAL", fcmfake.Internal(), 60},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			const members = 40
			traces := make([]string, members)
			var msgs []outbox.Message
			for i := range traces {
				traces[i] = trace(outbox.CouponIssued)
				msgs = append(msgs, issued(member(t, token(t)), traces[i]))
			}
			e.fcm.FailNext(tt.n, tt.failure)
			emit(t, msgs...)

			eventually(t, 45*time.Second, func() bool { return e.fcm.Count() >= members }, "all %d delivered (got %d)", members, e.fcm.Count())
			time.Sleep(time.Second)
			for _, tr := range traces {
				assert.Equal(t, 1, e.fcm.CountData("trace_id", tr), "deliveries of %s", tr)
			}
			assert.Equal(t, members, e.fcm.Count(), "deliveries")
			assert.Zero(t, e.fcm.Duplicates(), "duplicates")
			assert.Greater(t, e.fcm.Requests(), members, "some sends failed first")
			assert.Zero(t, e.queueLen(e.topo.DeadLetter), "dead letters")
		})
	}
}

// TestAttemptsExhaustedDeadLetter: a device FCM keeps failing is tried
// MaxAttempts times, then dead-lettered once; the dead-letter queue does
// not feed back.
func TestAttemptsExhaustedDeadLetter(t *testing.T) {
	e := newEnv(t, func(c *push.WorkerConfig) { c.MaxAttempts = 3 })
	tok := token(t)
	e.fcm.FailTokens(fcmfake.Internal(), tok)
	m := member(t, tok)
	tr := trace(outbox.CouponUsed)
	emit(t, outbox.Message{Kind: outbox.CouponUsed, TraceID: tr, Payload: map[string]any{"coupon_id": 1, "member_id": m}})

	eventually(t, 20*time.Second, func() bool { return e.queueLen(e.topo.DeadLetter) == 1 }, "dead-lettered")
	time.Sleep(1500 * time.Millisecond)
	assert.Equal(t, 3, e.tries(tok), "sends tried")
	assert.Equal(t, 1, e.queueLen(e.topo.DeadLetter), "dead letters (no loop)")
	j := jobOf(t, e.deadLetters()[0])
	assert.Equal(t, "attempts exhausted: INTERNAL", j.Reason)
	assert.Zero(t, j.Attempt, "a replay starts with fresh attempts")
	status, attempts, lastErr, _ := notification(t, m, tr)
	assert.Equal(t, "FAILED", status)
	assert.Equal(t, 3, attempts)
	require.NotNil(t, lastErr)
	assert.Equal(t, "INTERNAL", *lastErr)
}

// TestPoisonMessageDeadLetteredOnce: messages the worker cannot read go to
// the dead-letter queue once, and do not hold up the good ones.
func TestPoisonMessageDeadLetteredOnce(t *testing.T) {
	e := newEnv(t, nil)
	poison := []outbox.Message{
		{Kind: outbox.CouponIssued, TraceID: trace(outbox.CouponIssued), Payload: "not an object"},
		{Kind: outbox.CouponIssued, TraceID: trace(outbox.CouponIssued), Payload: map[string]any{"coupon_id": 1}}, // no member
		{Kind: outbox.CouponIssued, TraceID: "", Payload: map[string]any{"member_id": 1}},                         // no trace
	}
	tok := token(t)
	tr := trace(outbox.CouponIssued)
	emit(t, append(poison, issued(member(t, tok), tr))...)

	eventually(t, 10*time.Second, func() bool { return e.fcm.CountData("trace_id", tr) == 1 }, "good message delivered")
	eventually(t, 10*time.Second, func() bool { return e.queueLen(e.topo.DeadLetter) == len(poison) }, "poison dead-lettered")
	time.Sleep(1500 * time.Millisecond)
	assert.Equal(t, len(poison), e.queueLen(e.topo.DeadLetter), "dead letters stay put (no loop)")
	assert.Zero(t, e.queueLen(e.topo.Queue), "push queue drained")
	for _, d := range e.deadLetters() {
		deaths, _ := d.Headers["x-death"].([]any)
		assert.Len(t, deaths, 1, "died once")
	}
}

// TestDuplicateMessagesDeliverOnce: the same news arriving twice (a relay
// that crashed after publishing, before marking the row) is sent once.
func TestDuplicateMessagesDeliverOnce(t *testing.T) {
	e := newEnv(t, nil)
	tok := token(t)
	m := member(t, tok)
	tr := trace(outbox.CouponIssued)
	emit(t, issued(m, tr), issued(m, tr))
	eventually(t, 10*time.Second, func() bool { return e.fcm.CountData("trace_id", tr) == 1 }, "delivered")
	emit(t, issued(m, tr)) // and once more, well after
	time.Sleep(1500 * time.Millisecond)
	assert.Equal(t, 1, e.fcm.CountData("trace_id", tr), "deliveries")
	status, _, _, _ := notification(t, m, tr)
	assert.Equal(t, "SENT", status)
}

// TestSameCouponIssuedAndUsedAreTwoPushes: the trace id carries the kind.
func TestSameCouponIssuedAndUsedAreTwoPushes(t *testing.T) {
	e := newEnv(t, nil)
	tok := token(t)
	m := member(t, tok)
	coupon := seq.Add(1) + 1_000_000
	p := map[string]any{"coupon_id": coupon, "member_id": m}
	emit(t,
		outbox.Message{Kind: outbox.CouponIssued, TraceID: outbox.TraceID(outbox.CouponIssued, coupon) + ":" + runID, Payload: p},
		outbox.Message{Kind: outbox.CouponUsed, TraceID: outbox.TraceID(outbox.CouponUsed, coupon) + ":" + runID, Payload: p})
	eventually(t, 10*time.Second, func() bool { return e.fcm.CountFor(tok) == 2 }, "two pushes")
	assert.Equal(t, 1, e.fcm.CountData("kind", push.KindCouponIssued))
	assert.Equal(t, 1, e.fcm.CountData("kind", push.KindCouponUsed))
}

// TestAreaEntered: entering an area with issuable events pushes them to
// the member once per area and day (the trace id); an area with none stays
// quiet.
func TestAreaEntered(t *testing.T) {
	e := newEnv(t, nil)
	tests := []struct {
		name     string
		events   []int64
		want     int
		wantBody string
	}{
		{"two events", []int64{11, 12}, 1, "2 coupons you can get right now"},
		{"one event", []int64{13}, 1, "1 coupon you can get right now"},
		{"no events", []int64{}, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := token(t)
			m := member(t, tok)
			tr := fmt.Sprintf("AREA_ENTERED:%d:7:2030-03-14:%s", m, runID)
			msg := outbox.Message{Kind: outbox.AreaEntered, TraceID: tr, Payload: map[string]any{
				"member_id": m, "area_id": 7, "area_name": "Hongdae", "day": "2030-03-14", "event_ids": tt.events,
			}}
			emit(t, msg, msg) // entered twice the same day
			if tt.want > 0 {
				eventually(t, 10*time.Second, func() bool { return e.fcm.CountFor(tok) >= 1 }, "pushed")
			}
			time.Sleep(700 * time.Millisecond)
			require.Equal(t, tt.want, e.fcm.CountFor(tok), "pushes")
			if tt.want == 0 {
				return
			}
			got := e.fcm.MessagesFor(tok)[0]
			assert.Equal(t, "Coupons near Hongdae", got.Notification.Title)
			assert.Equal(t, tt.wantBody, got.Notification.Body)
			assert.Equal(t, push.KindAreaEntered, got.Data["kind"])
			assert.Equal(t, "7", got.Data["area_id"])
		})
	}
}
