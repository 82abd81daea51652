package geo_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/couponpop/couponpop/internal/auth"
	"github.com/couponpop/couponpop/internal/geo"
	"github.com/couponpop/couponpop/internal/issue"
	"github.com/couponpop/couponpop/internal/redisx/redistest"
	"github.com/couponpop/couponpop/internal/store"
)

// nearbyIDs asks both paths and checks they agree; it returns the store
// ids and the answer.
func nearbyIDs(t *testing.T, e *env, q geo.Query) ([]int64, geo.Nearby) {
	t.Helper()
	ctx := context.Background()
	got, err := e.geo.Nearby(ctx, q)
	require.NoError(t, err)
	pg, err := e.pg.Nearby(ctx, q)
	require.NoError(t, err)
	sameAnswer(t, pg, got, 0.0015, "redis vs postgis")
	ids := []int64{}
	for _, it := range got.Items {
		ids = append(ids, it.Store.ID)
	}
	return ids, got
}

func query(t *testing.T, at geo.Point, radius float64, cat string) geo.Query {
	t.Helper()
	q, err := geo.NewQuery(at, radius, cat, geo.MaxLimit)
	require.NoError(t, err)
	return q
}

// Every change through the store and issue services reaches the index at
// once through the listeners, without a rebuild.
func TestListenersKeepIndexInStep(t *testing.T) {
	reset(t)
	e := newEnv(t, envOpts{})
	e.waitReady(t)
	ctx := context.Background()
	owner := newMember(t, auth.Owner, "")
	op := auth.Principal{MemberID: owner, Role: auth.Owner}
	here := geo.Point{Lat: 37.5563, Lng: 126.9236}
	rebuilds := e.counter(t, "geo_index_rebuilds_total")
	fallbacks := e.counter(t, "geo_nearby_total", "path", "postgis_fallback")

	a := e.newStore(t, owner, "카페 A", "CAFE", 37.5570, 126.9240)
	b := e.newStore(t, owner, "빵집 B", "BAKERY", 37.5580, 126.9250)
	ids, _ := nearbyIDs(t, e, query(t, here, 1000, ""))
	assert.Empty(t, ids, "stores without events are not listed")

	evA := e.newEvent(t, owner, a.ID, "A 쿠폰", 5, nil)
	evB := e.newEvent(t, owner, b.ID, "B 쿠폰", 5, nil)
	e.newEvent(t, owner, b.ID, "B 나중", 5, func(in *issue.EventInput) {
		in.IssueStartsAt = ptr(time.Now().Add(time.Hour))
		in.IssueEndsAt = ptr(time.Now().Add(2 * time.Hour))
	})
	ids, n := nearbyIDs(t, e, query(t, here, 1000, ""))
	assert.Equal(t, []int64{a.ID, b.ID}, ids)
	require.Len(t, n.Items, 2)
	assert.Equal(t, []int64{evB.ID}, eventIDs(n.Items[1]), "an event whose window has not opened is not listed")

	// Category filter, then a category change.
	ids, _ = nearbyIDs(t, e, query(t, here, 1000, "BAKERY"))
	assert.Equal(t, []int64{b.ID}, ids)
	_, err := e.stores.Update(ctx, op, b.ID, store.Input{Category: ptr("BAR")})
	require.NoError(t, err)
	ids, _ = nearbyIDs(t, e, query(t, here, 1000, "BAKERY"))
	assert.Empty(t, ids)
	ids, _ = nearbyIDs(t, e, query(t, here, 1000, "BAR"))
	assert.Equal(t, []int64{b.ID}, ids)

	// A move: B goes 3 km away, then A's event is suspended and resumed.
	_, err = e.stores.Update(ctx, op, b.ID, store.Input{Lat: ptr(37.58), Lng: ptr(126.94)})
	require.NoError(t, err)
	ids, _ = nearbyIDs(t, e, query(t, here, 1000, ""))
	assert.Equal(t, []int64{a.ID}, ids)
	ids, _ = nearbyIDs(t, e, query(t, here, 5000, ""))
	assert.Equal(t, []int64{a.ID, b.ID}, ids)

	_, err = e.issue.SetStatus(ctx, op, evA.ID, issue.Suspended)
	require.NoError(t, err)
	ids, _ = nearbyIDs(t, e, query(t, here, 5000, ""))
	assert.Equal(t, []int64{b.ID}, ids, "a suspended event is never listed")
	_, err = e.issue.SetStatus(ctx, op, evA.ID, issue.Active)
	require.NoError(t, err)
	ids, _ = nearbyIDs(t, e, query(t, here, 5000, ""))
	assert.Equal(t, []int64{a.ID, b.ID}, ids)

	// Suspend a whole store, then delete the other.
	_, err = e.issue.SuspendStore(ctx, op, b.ID)
	require.NoError(t, err)
	ids, _ = nearbyIDs(t, e, query(t, here, 5000, ""))
	assert.Equal(t, []int64{a.ID}, ids)
	require.NoError(t, e.stores.Delete(ctx, op, a.ID))
	ids, _ = nearbyIDs(t, e, query(t, here, 5000, ""))
	assert.Empty(t, ids)

	assert.Equal(t, rebuilds, e.counter(t, "geo_index_rebuilds_total"), "no rebuild was needed")
	assert.Equal(t, fallbacks, e.counter(t, "geo_nearby_total", "path", "postgis_fallback"), "every answer came from Redis")
}

func eventIDs(it geo.NearbyItem) []int64 {
	var ids []int64
	for _, e := range it.Events {
		ids = append(ids, e.ID)
	}
	return ids
}

// Sold-out and suspended events are never listed, and the stock shown is
// the issuance gate's, coupon by coupon.
func TestSoldOutAndSuspendedNeverListed(t *testing.T) {
	reset(t)
	e := newEnv(t, envOpts{})
	e.waitReady(t)
	ctx := context.Background()
	owner := newMember(t, auth.Owner, "")
	op := auth.Principal{MemberID: owner, Role: auth.Owner}
	at := geo.Point{Lat: 37.4979, Lng: 127.0276}
	st := e.newStore(t, owner, "강남 분식", "FOOD", at.Lat, at.Lng)
	small := e.newEvent(t, owner, st.ID, "선착순 2명", 2, func(in *issue.EventInput) { in.IssueEndsAt = ptr(time.Now().Add(time.Minute)) })
	big := e.newEvent(t, owner, st.ID, "100명", 100, nil)
	q := query(t, at, 100, "")

	take := func(ev int64) {
		t.Helper()
		c := newMember(t, auth.Customer, "")
		_, err := e.issue.Issue(ctx, auth.Principal{MemberID: c, Role: auth.Customer}, ev, at)
		require.NoError(t, err)
	}
	remaining := func() map[int64]int {
		t.Helper()
		_, n := nearbyIDs(t, e, q)
		out := map[int64]int{}
		for _, it := range n.Items {
			for _, ev := range it.Events {
				out[ev.ID] = ev.Remaining
			}
		}
		return out
	}
	assert.Equal(t, map[int64]int{small.ID: 2, big.ID: 100}, remaining())
	take(small.ID)
	take(big.ID)
	assert.Equal(t, map[int64]int{small.ID: 1, big.ID: 99}, remaining())
	take(small.ID)
	assert.Equal(t, map[int64]int{big.ID: 99}, remaining(), "sold out: gone at once, with no listener involved")

	_, err := e.issue.SetStatus(ctx, op, big.ID, issue.Suspended)
	require.NoError(t, err)
	assert.Empty(t, remaining(), "suspended")
	_, err = e.issue.SetStatus(ctx, op, big.ID, issue.Active)
	require.NoError(t, err)
	assert.Equal(t, map[int64]int{big.ID: 99}, remaining())

	// A window that closes: gone at the instant it closes, with no
	// listener involved; then the expiry batch ends it and the listener
	// takes it out of the index.
	_, err = e.issue.PatchEvent(ctx, op, big.ID, issue.EventInput{IssueEndsAt: ptr(time.Now().Add(1500 * time.Millisecond))})
	require.NoError(t, err)
	assert.Equal(t, map[int64]int{big.ID: 99}, remaining())
	time.Sleep(1600 * time.Millisecond)
	assert.Empty(t, remaining(), "a window that is over")
	res, err := e.issue.Expire(ctx, 0)
	require.NoError(t, err)
	assert.Positive(t, res.Events)
	assert.Empty(t, remaining())
	n, err := e.geo.Nearby(ctx, q)
	require.NoError(t, err)
	assert.Empty(t, n.Items)
}

// While Redis is down nearby answers from PostGIS; changes made meanwhile
// are in the answer once Redis is back (restarted empty: the index is
// rebuilt from PostgreSQL).
func TestRedisDownFallsBackToPostGIS(t *testing.T) {
	reset(t)
	srv := redistest.StartServer(t)
	own := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1, DialTimeout: 200 * time.Millisecond,
		ReadTimeout: 200 * time.Millisecond, WriteTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { own.Close() })
	e := newEnv(t, envOpts{rdb: own})
	e.waitReady(t)
	ctx := context.Background()
	owner := newMember(t, auth.Owner, "")
	at := geo.Point{Lat: 37.5636, Lng: 126.9869}
	a := e.newStore(t, owner, "명동 A", "CAFE", 37.5637, 126.9870)
	e.newEvent(t, owner, a.ID, "A", 10, nil)
	q := query(t, at, 500, "")
	ids, _ := nearbyIDs(t, e, q)
	require.Equal(t, []int64{a.ID}, ids)

	srv.Stop()
	// A store and event created while Redis is down: PostgreSQL commits,
	// the index cannot hear of it.
	b := e.newStore(t, owner, "명동 B", "CAFE", 37.5638, 126.9871)
	e.newEvent(t, owner, b.ID, "B", 10, nil)
	for range 20 {
		n, err := e.geo.Nearby(ctx, q)
		require.NoError(t, err, "nearby answers while Redis is down")
		assert.Equal(t, []int64{a.ID, b.ID}, []int64{n.Items[0].Store.ID, n.Items[1].Store.ID})
		assert.Equal(t, 10, n.Items[1].Events[0].Remaining, "PostgreSQL's stock")
	}
	assert.Positive(t, e.counter(t, "geo_nearby_total", "path", "postgis_fallback")+e.counter(t, "geo_nearby_total", "path", "postgis"))
	assert.Positive(t, e.counter(t, "geo_index_sync_errors_total"), "the failed index writes were counted")

	srv.Start(t) // back, empty
	e.waitReady(t)
	ids, _ = nearbyIDs(t, e, q)
	assert.Equal(t, []int64{a.ID, b.ID}, ids)
	assert.GreaterOrEqual(t, e.counter(t, "geo_index_rebuilds_total"), 2.0, "built at start and after the restart")
}

// A write that failed while Redis was reachable for reads leaves the index
// stale: it is taken out of service and rebuilt, so it never answers with
// the missed change.
func TestFailedWriteRebuildsIndex(t *testing.T) {
	reset(t)
	e := newEnv(t, envOpts{})
	e.waitReady(t)
	owner := newMember(t, auth.Owner, "")
	at := geo.Point{Lat: 37.5133, Lng: 127.1001}
	a := e.newStore(t, owner, "잠실 A", "CAFE", at.Lat, at.Lng)
	e.newEvent(t, owner, a.ID, "A", 10, nil)
	before := e.counter(t, "geo_index_rebuilds_total")

	// Make the next index write fail: the index's version hash becomes a
	// string, so the write script errors (WRONGTYPE) for this write.
	ctx := context.Background()
	require.NoError(t, rdb.Rename(ctx, "geo:{stores}:ver", "geo:{stores}:ver:saved").Err())
	require.NoError(t, rdb.Set(ctx, "geo:{stores}:ver", "x", 0).Err())
	_, err := e.stores.Update(ctx, auth.Principal{MemberID: owner, Role: auth.Owner}, a.ID, store.Input{Name: ptr("잠실 A2")})
	require.NoError(t, err, "the store change commits anyway")
	require.NoError(t, rdb.Del(ctx, "geo:{stores}:ver").Err())

	require.Eventually(t, func() bool { return e.counter(t, "geo_index_rebuilds_total") > before }, 10*time.Second, 10*time.Millisecond)
	e.waitReady(t)
	_, n := nearbyIDs(t, e, query(t, at, 100, ""))
	require.Len(t, n.Items, 1)
	assert.Equal(t, "잠실 A2", n.Items[0].Store.Name)
}

// A thousand requests finding the index gone on three API instances cause
// one rebuild, and every one of them is answered (from PostGIS) meanwhile.
func TestRebuildOnceUnderLock(t *testing.T) {
	reset(t)
	var envs []*env
	for range 3 {
		envs = append(envs, newEnv(t, envOpts{}))
	}
	envs[0].waitReady(t)
	r := rand.New(rand.NewPCG(1, 1))
	seed(t, envs[0], r, 3000, seoulPoint)
	total := func() float64 {
		n := 0.0
		for _, e := range envs {
			n += e.counter(t, "geo_index_rebuilds_total")
		}
		return n
	}
	before := total()

	require.NoError(t, rdb.FlushDB(context.Background()).Err()) // Redis restarted empty
	ref := reference(t, envs[0])
	var wg sync.WaitGroup
	errs := make(chan error, 1000)
	for i := range 1000 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e := envs[i%3]
			q, _ := geo.NewQuery(hotSpots[i%len(hotSpots)], 300, "", 10)
			got, err := e.geo.Nearby(context.Background(), q)
			if err != nil {
				errs <- err
				return
			}
			if want := answer(ref, q); !sameAnswer(t, want, got, 0.0015, fmt.Sprintf("request %d", i)) {
				errs <- fmt.Errorf("request %d: wrong answer", i)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for _, e := range envs {
		e.waitReady(t)
	}
	assert.Equal(t, before+1, total(), "exactly one rebuild across the instances")
	var fallback float64
	for _, e := range envs {
		fallback += e.counter(t, "geo_nearby_total", "path", "postgis_fallback")
	}
	t.Logf("%v of 1000 requests were answered by PostGIS while the index was missing", fallback)
	assert.Positive(t, fallback)
}
