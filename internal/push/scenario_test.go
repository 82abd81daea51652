package push_test

import (
	"context"
	"fmt"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/couponpop/couponpop/internal/outbox"
	"github.com/couponpop/couponpop/internal/push"
)

// TestQuietHoursDefer: a promotional push in the member's quiet hours
// waits for them to end, then goes out once; a receipt goes at once.
func TestQuietHoursDefer(t *testing.T) {
	e := newEnv(t, nil)
	seoul, err := time.LoadLocation("Asia/Seoul")
	require.NoError(t, err)
	night := time.Date(2030, 3, 14, 23, 0, 0, 0, seoul)
	e.clock.Set(night)

	tok := token(t)
	m := member(t, tok)
	_, err = pool.Exec(context.Background(), `
		INSERT INTO notification_preferences (member_id, quiet_start, quiet_end, timezone) VALUES ($1, 22*60, 7*60, 'Asia/Seoul')`, m)
	require.NoError(t, err)

	reminder := trace(outbox.CouponExpiring)
	receipt := trace(outbox.CouponIssued)
	emit(t,
		outbox.Message{Kind: outbox.CouponExpiring, TraceID: reminder, Payload: map[string]any{"coupon_id": 7, "member_id": m, "expires_at": night.Add(20 * time.Hour)}},
		issued(m, receipt))

	eventually(t, 10*time.Second, func() bool { return e.fcm.CountData("trace_id", receipt) == 1 }, "receipt sent during quiet hours")
	eventually(t, 10*time.Second, func() bool { s, _, _, _ := notification(t, m, reminder); return s == "DEFERRED" }, "reminder deferred")
	time.Sleep(2500 * time.Millisecond) // several trips through the delay queues
	assert.Zero(t, e.fcm.CountData("trace_id", reminder), "reminder sent during quiet hours")
	_, _, _, after := notification(t, m, reminder)
	require.NotNil(t, after, "deliver_after")
	assert.True(t, after.Equal(time.Date(2030, 3, 15, 7, 0, 0, 0, seoul)), "deliver_after = %v, want 07:00 the next morning", after.In(seoul))

	e.clock.Set(time.Date(2030, 3, 15, 7, 1, 0, 0, seoul))
	eventually(t, 10*time.Second, func() bool { return e.fcm.CountData("trace_id", reminder) == 1 }, "reminder sent in the morning")
	time.Sleep(1500 * time.Millisecond)
	assert.Equal(t, 1, e.fcm.CountData("trace_id", reminder), "reminder deliveries")
	s, _, _, _ := notification(t, m, reminder)
	assert.Equal(t, "SENT", s)
}

// fixture makes a store with an event whose window is [starts, starts+1 day).
func fixture(t *testing.T, starts time.Time) (store, event int64) {
	t.Helper()
	ctx := context.Background()
	owner := member(t)
	require.NoError(t, pool.QueryRow(ctx, `
		INSERT INTO stores (owner_id, name, category, location)
		VALUES ($1, 'Cafe Mora', 'CAFE', ST_GeogFromText('POINT(126.92 37.55)')) RETURNING id`, owner).Scan(&store))
	require.NoError(t, pool.QueryRow(ctx, `
		INSERT INTO coupon_events (store_id, title, discount_type, discount_value, total_quantity,
		                           issue_starts_at, issue_ends_at, valid_hours, created_at)
		VALUES ($1, 'Americano', 'PERCENT', 50, 100, $2::timestamptz, $2::timestamptz + interval '1 day', 24, now()) RETURNING id`,
		store, starts).Scan(&event))
	return store, event
}

func follow(t *testing.T, member, store int64) {
	t.Helper()
	_, err := pool.Exec(context.Background(), `INSERT INTO store_subscriptions (member_id, store_id) VALUES ($1, $2)`, member, store)
	require.NoError(t, err)
}

// TestNewEventGoesToFollowers: an event created with its window open is
// pushed to the store's followers at once; one whose window opens later is
// pushed by the announcer once it opens, and only once.
func TestNewEventGoesToFollowers(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	tests := []struct {
		name  string
		start time.Duration // from now
	}{
		{"window open", -time.Minute},
		{"window opens later", 2 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store, event := fixture(t, time.Now().Add(tt.start))
			a, b := token(t), token(t)
			follow(t, member(t, a), store)
			follow(t, member(t, b), store)
			lurker := member(t) // follows, but has no device
			follow(t, lurker, store)
			member(t, token(t)) // does not follow
			tr := outbox.TraceID(outbox.EventCreated, event)
			emit(t, outbox.Message{Kind: outbox.EventCreated, TraceID: tr, Payload: map[string]any{"event_id": event, "store_id": store}})

			if tt.start > 0 {
				time.Sleep(time.Second)
				assert.Zero(t, e.fcm.CountData("trace_id", tr), "pushed before the window opened")
				n, err := push.AnnounceOpened(ctx, pool, time.Now())
				require.NoError(t, err)
				assert.Zero(t, n, "announced before the window opened")
				time.Sleep(tt.start)
				n, err = push.AnnounceOpened(ctx, pool, time.Now())
				require.NoError(t, err)
				assert.Equal(t, 1, n, "events announced when the window opened")
			}
			eventually(t, 10*time.Second, func() bool { return e.fcm.CountFor(a) == 1 && e.fcm.CountFor(b) == 1 }, "followers pushed")
			n, err := push.AnnounceOpened(ctx, pool, time.Now().Add(time.Hour))
			require.NoError(t, err)
			assert.Zero(t, n, "announced twice")
			time.Sleep(500 * time.Millisecond)
			assert.Equal(t, 2, e.fcm.CountData("trace_id", tr), "pushes (one per follower device)")
			msgs := e.fcm.MessagesFor(a)
			require.Len(t, msgs, 1)
			assert.Equal(t, push.KindEventNew, msgs[0].Data["kind"])
			assert.Equal(t, fmt.Sprint(event), msgs[0].Data["event_id"])
			assert.Equal(t, "Cafe Mora: new coupon", msgs[0].Notification.Title)
			assert.Equal(t, "Americano — 50% off", msgs[0].Notification.Body)
			s, _, _, _ := notification(t, lurker, tr)
			assert.Equal(t, "NO_DEVICE", s, "history of a follower without a device")
		})
	}
}

// TestRemindExpiring writes one reminder per ISSUED coupon expiring within
// a day, however often it runs.
func TestRemindExpiring(t *testing.T) {
	ctx := context.Background()
	store, event := fixture(t, time.Now().Add(-time.Hour))
	m := member(t)
	now := time.Now()
	coupon := func(status string, expires time.Duration) int64 {
		var id int64
		code := fmt.Sprintf("R%015d", seq.Add(1))
		require.NoError(t, pool.QueryRow(ctx, `
			INSERT INTO coupons (event_id, store_id, member_id, seq, code, status, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
			event, store, m, seq.Add(1)%30000+1, code, status, now.Add(expires)).Scan(&id))
		return id
	}
	due := coupon("ISSUED", 3*time.Hour)
	coupon("ISSUED", 30*time.Hour) // not yet
	coupon("USED", 3*time.Hour)    // used
	coupon("ISSUED", -time.Hour)   // already expired
	due2 := coupon("ISSUED", 23*time.Hour)

	n, err := push.RemindExpiring(ctx, pool, now)
	require.NoError(t, err)
	assert.Equal(t, 2, n, "reminders written")
	n, err = push.RemindExpiring(ctx, pool, now.Add(time.Minute))
	require.NoError(t, err)
	assert.Zero(t, n, "reminders written on the second run")

	var traces []string
	rows, err := pool.Query(ctx, `SELECT trace_id FROM outbox WHERE kind = 'COUPON_EXPIRING' AND payload->>'member_id' = $1 ORDER BY trace_id`, fmt.Sprint(m))
	require.NoError(t, err)
	for rows.Next() {
		var s string
		require.NoError(t, rows.Scan(&s))
		traces = append(traces, s)
	}
	assert.ElementsMatch(t, []string{outbox.TraceID(outbox.CouponExpiring, due), outbox.TraceID(outbox.CouponExpiring, due2)}, traces)
}

// TestRabbitMQRestartLosesNothing restarts the broker while pushes stream
// through it: every push arrives, once.
func TestRabbitMQRestartLosesNothing(t *testing.T) {
	e := newEnv(t, nil)
	const total = 1500
	traces := make([]string, 0, total)
	produce := func(n int) {
		var msgs []outbox.Message
		for range n {
			tr := trace(outbox.CouponIssued)
			traces = append(traces, tr)
			msgs = append(msgs, issued(member(t, token(t)), tr))
		}
		emit(t, msgs...)
	}
	produce(500)
	eventually(t, 20*time.Second, func() bool { return e.fcm.Count() > 100 }, "stream started")

	// stop_app/start_app restarts the broker inside its running node: the
	// quickest restart, and every queue is durable, so what it had
	// confirmed survives. It runs while another 500 rows are written.
	t.Cleanup(func() { _ = exec.Command("rabbitmqctl", "start_app").Run() }) // never leave it down
	restarted := make(chan error, 1)
	var atStop int
	go func() {
		if out, err := exec.Command("rabbitmqctl", "stop_app").CombinedOutput(); err != nil {
			restarted <- fmt.Errorf("stop_app: %v: %s", err, out)
			return
		}
		atStop = e.fcm.Count()
		time.Sleep(500 * time.Millisecond)
		if out, err := exec.Command("rabbitmqctl", "start_app").CombinedOutput(); err != nil {
			restarted <- fmt.Errorf("start_app: %v: %s", err, out)
			return
		}
		restarted <- nil
	}()
	for range 5 {
		produce(100)
		time.Sleep(200 * time.Millisecond)
	}
	require.NoError(t, <-restarted)
	t.Logf("delivered when the broker stopped: %d of %d", atStop, total)
	require.Less(t, atStop, len(traces), "the broker stopped mid-stream")
	produce(total - len(traces))

	eventually(t, 90*time.Second, func() bool { return e.fcm.Count() >= total }, "all %d delivered (got %d)", total, e.fcm.Count())
	time.Sleep(2 * time.Second)
	missing, dup := 0, 0
	for _, tr := range traces {
		switch n := e.fcm.CountData("trace_id", tr); {
		case n == 0:
			missing++
		case n > 1:
			dup++
		}
	}
	assert.Zero(t, missing, "pushes lost")
	assert.Zero(t, dup, "pushes delivered twice")
	assert.Zero(t, e.fcm.Duplicates(), "duplicate deliveries")
	assert.Equal(t, total, e.fcm.Count(), "deliveries")
}
