package issue_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/go-redsync/redsync/v4"
	"github.com/go-redsync/redsync/v4/redis/goredis/v9"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/couponpop/couponpop/internal/auth"
	"github.com/couponpop/couponpop/internal/issue"
)

// stampede sends one issue request per customer, all at once, spread over
// the given servers round-robin, and calls mid once half have been sent.
func stampede(t *testing.T, servers []*env, eventID int64, customers []int64, mid func()) *tally {
	t.Helper()
	var c tally
	var wg sync.WaitGroup
	start := make(chan struct{})
	var once sync.Once
	for i, id := range customers {
		e := servers[i%len(servers)]
		tok := e.token(t, id, auth.Customer)
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if mid != nil && i == len(customers)/2 {
				once.Do(mid)
			}
			c.add(e.issue(t, eventID, tok, hongdae.Lat, hongdae.Lng, nil))
		}()
	}
	close(start)
	wg.Wait()
	return &c
}

// Invariants 1 and 3 under a thousand simultaneous customers, with and
// without the things that go wrong: Redis losing everything mid-event, two
// API servers sharing PostgreSQL and Redis, and each lock strategy.
func TestIssueNeverOversells(t *testing.T) {
	tests := []struct {
		name    string
		servers int
		opts    issue.Options
		flush   bool // FLUSHDB half way through
	}{
		{name: "one server", servers: 1},
		{name: "redis flushed halfway", servers: 1, flush: true},
		{name: "two servers", servers: 2},
		{name: "two servers and a flush", servers: 2, flush: true},
		{name: "lock per request", servers: 1, opts: issue.Options{MaxBatch: 1}},
		{name: "no redis gate", servers: 2, opts: issue.Options{NoGate: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var servers []*env
			for range tt.servers {
				servers = append(servers, newEnv(t, tt.opts))
			}
			f := newFixture(t, servers[0])
			ev := f.event(t, servers[0], 100, nil)
			customers := members(t, auth.Customer, 1000)
			var mid func()
			if tt.flush {
				mid = func() { require.NoError(t, rdb.FlushDB(context.Background()).Err()) }
			}
			got := stampede(t, servers, ev.ID, customers, mid)

			assert.Equal(t, 100, got.m["201"], "201 answers; all answers: %v", got.m)
			assert.Equal(t, 900, got.m["SOLD_OUT"], "SOLD_OUT answers; all answers: %v", got.m)
			rows, issued := dbCounts(t, ev.ID)
			assert.Equal(t, 100, rows, "coupon rows")
			assert.Equal(t, 100, issued, "issued_count")
			if !tt.opts.NoGate {
				// The gate was built from PostgreSQL once per loss, not once per
				// request: first use, plus once after the flush.
				builds := 0.0
				for _, e := range servers {
					builds += e.counter(t, "issue_gate_builds_total")
				}
				want := 1.0
				if tt.flush {
					want = 2
				}
				assert.LessOrEqual(t, builds, want, "gate builds")
			}
		})
	}
}

// Invariant 2: one customer tapping fifty times at once gets one coupon.
func TestIssueOneCustomerManyTaps(t *testing.T) {
	tests := []struct {
		name  string
		limit int
		opts  issue.Options
		flush bool
	}{
		{name: "limit 1", limit: 1},
		{name: "limit 3", limit: 3},
		{name: "limit 1, redis flushed", limit: 1, flush: true},
		{name: "limit 2, no gate", limit: 2, opts: issue.Options{NoGate: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.opts)
			f := newFixture(t, e)
			ev := f.event(t, e, 100, func(in *issue.EventInput) { in.PerMemberLimit = ptr(tt.limit) })
			who := members(t, auth.Customer, 1)
			fifty := make([]int64, 50)
			for i := range fifty {
				fifty[i] = who[0]
			}
			var mid func()
			if tt.flush {
				mid = func() { require.NoError(t, rdb.FlushDB(context.Background()).Err()) }
			}
			got := stampede(t, []*env{e}, ev.ID, fifty, mid)
			assert.Equal(t, tt.limit, got.m["201"], "answers: %v", got.m)
			assert.Equal(t, 50-tt.limit, got.m["ALREADY_ISSUED"], "answers: %v", got.m)
			rows, issued := dbCounts(t, ev.ID)
			assert.Equal(t, tt.limit, rows)
			assert.Equal(t, tt.limit, issued)
		})
	}
}

// While Redis is unreachable, issuance falls back to PostgreSQL alone: no
// oversell and no 500.
func TestIssueWithRedisDown(t *testing.T) {
	up := newEnv(t, issue.Options{})
	f := newFixture(t, up)
	ev := f.event(t, up, 20, nil)

	dead := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	t.Cleanup(func() { dead.Close() })
	down := newEnvWith(t, issue.Options{}, dead, redsync.New(goredis.NewPool(dead)))
	// Tokens are verified with the same secret; the deny-list lookup fails
	// open while Redis is down.
	got := stampede(t, []*env{down}, ev.ID, members(t, auth.Customer, 100), nil)
	assert.Equal(t, 20, got.m["201"], "answers: %v", got.m)
	assert.Equal(t, 80, got.m["SOLD_OUT"], "answers: %v", got.m)
	for k := range got.m {
		assert.NotEqual(t, "500", k, "no 500 while Redis is down: %v", got.m)
	}
	rows, issued := dbCounts(t, ev.ID)
	assert.Equal(t, 20, rows)
	assert.Equal(t, 20, issued)

	// And once Redis is back, the gate rebuilds from PostgreSQL.
	again := up.issue(t, ev.ID, up.token(t, members(t, auth.Customer, 1)[0], auth.Customer), hongdae.Lat, hongdae.Lng, nil)
	assert.Equal(t, http.StatusConflict, again.Status)
	assert.Equal(t, "SOLD_OUT", again.code())
}

// If the PostgreSQL write fails, what the gate reserved is given back: the
// customers get a retryable 503, and once PostgreSQL recovers every coupon
// can still be issued.
func TestFailedWriteGivesReservationsBack(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, issue.Options{})
	f := newFixture(t, e)
	ev := f.event(t, e, 10, nil)
	// Warm the gate, then make every insert for this event fail.
	first := members(t, auth.Customer, 1)
	require.Equal(t, http.StatusCreated, e.issue(t, ev.ID, e.token(t, first[0], auth.Customer), hongdae.Lat, hongdae.Lng, nil).Status)
	_, err := pool.Exec(ctx, fmt.Sprintf(`
		CREATE FUNCTION fail_event_%[1]d() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN RAISE EXCEPTION 'disk on fire'; END $$;
		CREATE TRIGGER fail_event_%[1]d BEFORE INSERT ON coupons
		FOR EACH ROW WHEN (NEW.event_id = %[1]d) EXECUTE FUNCTION fail_event_%[1]d();`, ev.ID))
	require.NoError(t, err)

	broken := stampede(t, []*env{e}, ev.ID, members(t, auth.Customer, 20), nil)
	// At most 9 can hold a reservation at once; the others are told it is
	// sold out for now. Nobody is told they have a coupon.
	assert.Zero(t, broken.m["201"], "answers: %v", broken.m)
	assert.Positive(t, broken.m["ISSUE_BUSY"], "answers: %v", broken.m)
	assert.Equal(t, 20, broken.m["ISSUE_BUSY"]+broken.m["SOLD_OUT"], "answers: %v", broken.m)
	left, err := e.svc.Remaining(ctx, []int64{ev.ID})
	require.NoError(t, err)
	assert.Equal(t, 9, left[ev.ID], "reservations given back")

	_, err = pool.Exec(ctx, fmt.Sprintf(`DROP TRIGGER fail_event_%[1]d ON coupons; DROP FUNCTION fail_event_%[1]d();`, ev.ID))
	require.NoError(t, err)
	healed := stampede(t, []*env{e}, ev.ID, members(t, auth.Customer, 30), nil)
	assert.Equal(t, 9, healed.m["201"], "answers: %v", healed.m)
	rows, issued := dbCounts(t, ev.ID)
	assert.Equal(t, 10, rows)
	assert.Equal(t, 10, issued)
}
