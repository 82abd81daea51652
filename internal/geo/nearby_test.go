package geo_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/couponpop/couponpop/internal/auth"
	"github.com/couponpop/couponpop/internal/geo"
	"github.com/couponpop/couponpop/internal/store"
)

func TestCategoriesMatchStore(t *testing.T) {
	assert.Equal(t, store.Categories, geo.Categories)
}

// hotSpots are the demo city's areas; random data crowds around them.
var hotSpots = []geo.Point{{Lat: 37.5563, Lng: 126.9236}, {Lat: 37.4979, Lng: 127.0276},
	{Lat: 37.5133, Lng: 127.1001}, {Lat: 37.5636, Lng: 126.9869}, {Lat: 37.5446, Lng: 127.0559}}

// seoulPoint draws a point: around a hot spot (σ ≈ 300 m) or anywhere in
// a 22 × 26 km box over Seoul.
func seoulPoint(r *rand.Rand) geo.Point {
	if r.IntN(10) < 4 {
		h := hotSpots[r.IntN(len(hotSpots))]
		return geo.Point{Lat: h.Lat + r.NormFloat64()*0.0027, Lng: h.Lng + r.NormFloat64()*0.0034}
	}
	return geo.Point{Lat: 37.45 + r.Float64()*0.2, Lng: 126.85 + r.Float64()*0.3}
}

// seed inserts n random stores (some deleted, some sharing a location) and
// events in every state directly in SQL, then rebuilds the index: the
// listeners are tested elsewhere, this is about answers.
func seed(t testing.TB, e *env, r *rand.Rand, n int, at func(*rand.Rand) geo.Point) {
	t.Helper()
	ctx := context.Background()
	owner := newMember(t, auth.Owner, "")
	var (
		names, cats, addrs []string
		lats, lngs         []float64
		deleted            []bool
	)
	for i := range n {
		p := at(r)
		if i > 0 && r.IntN(40) == 0 { // same place as the previous store: ties order by id
			p = geo.Point{Lat: lats[i-1], Lng: lngs[i-1]}
		}
		names = append(names, fmt.Sprintf("가게 %d", i))
		cats = append(cats, geo.Categories[r.IntN(len(geo.Categories))])
		addrs = append(addrs, fmt.Sprintf("서울 %d번지", i))
		lats, lngs = append(lats, p.Lat), append(lngs, p.Lng)
		deleted = append(deleted, r.IntN(33) == 0)
	}
	rows, err := pool.Query(ctx, `
		INSERT INTO stores (owner_id, name, category, address, location, deleted_at)
		SELECT $1, name, cat, addr, ST_SetSRID(ST_MakePoint(lng, lat), 4326)::geography, CASE WHEN del THEN now() END
		FROM unnest($2::text[], $3::text[], $4::text[], $5::float8[], $6::float8[], $7::bool[]) WITH ORDINALITY
		     AS x(name, cat, addr, lat, lng, del, i)
		ORDER BY i
		RETURNING id`, owner, names, cats, addrs, lats, lngs, deleted)
	require.NoError(t, err)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	require.NoError(t, err)
	require.Len(t, ids, n)

	var (
		stores                []int64
		titles, statuses      []string
		values, totals, issue []int
		starts, ends          []string
	)
	for i, id := range ids {
		for k := range r.IntN(4) {
			status, from, to, issued := "ACTIVE", "-1 hour", "2 hours", 0
			total := 1 + r.IntN(50)
			switch x := r.IntN(100); {
			case x < 60: // open, stock left
				issued = r.IntN(total)
			case x < 70: // not open yet
				from, to = "1 hour", "3 hours"
			case x < 78: // window over, not yet ENDED by the batch
				from, to = "-3 hours", "-1 minute"
			case x < 88:
				status = "SUSPENDED"
			case x < 95: // sold out in PostgreSQL
				issued = total
			default:
				status = "ENDED"
			}
			stores = append(stores, id)
			titles = append(titles, fmt.Sprintf("쿠폰 %d-%d", i, k))
			values = append(values, 500*(1+r.IntN(10)))
			totals, issue = append(totals, total), append(issue, issued)
			starts, ends = append(starts, from), append(ends, to)
			statuses = append(statuses, status)
		}
	}
	_, err = pool.Exec(ctx, `
		INSERT INTO coupon_events (store_id, title, discount_type, discount_value, total_quantity, issued_count,
		                           issue_starts_at, issue_ends_at, valid_hours, status)
		SELECT sid, title, 'AMOUNT', val, total, issued, now() + starts::interval, now() + ends::interval, 24, status
		FROM unnest($1::bigint[], $2::text[], $3::int[], $4::int[], $5::int[], $6::text[], $7::text[], $8::text[])
		     AS x(sid, title, val, total, issued, starts, ends, status)`,
		stores, titles, values, totals, issue, starts, ends, statuses)
	require.NoError(t, err)
	// Bulk loads leave the planner guessing until autovacuum analyzes.
	_, err = pool.Exec(ctx, `ANALYZE stores, coupon_events`)
	require.NoError(t, err)
	require.NoError(t, e.geo.Rebuild(ctx))
}

// refStore is a store as the reference sees it, straight from PostgreSQL.
type refStore struct {
	brief  geo.StoreBrief
	events []geo.EventBrief // issuable now, ending soonest first
}

// reference loads every store with an issuable event now, with the
// gate's stock where a gate exists.
func reference(t testing.TB, e *env) []refStore {
	t.Helper()
	ctx := context.Background()
	rows, err := pool.Query(ctx, `
		SELECT s.id, s.name, s.category, s.address, ST_Y(s.location::geometry), ST_X(s.location::geometry),
		       e.id, e.title, e.discount_type, e.discount_value, e.total_quantity - e.issued_count, e.issue_ends_at
		FROM stores s JOIN coupon_events e ON e.store_id = s.id
		WHERE s.deleted_at IS NULL AND e.status = 'ACTIVE' AND e.issue_starts_at <= now() AND e.issue_ends_at > now()
		ORDER BY s.id, e.issue_ends_at, e.id`)
	require.NoError(t, err)
	var out []refStore
	var evIDs []int64
	for rows.Next() {
		var b geo.StoreBrief
		var ev geo.EventBrief
		require.NoError(t, rows.Scan(&b.ID, &b.Name, &b.Category, &b.Address, &b.Lat, &b.Lng,
			&ev.ID, &ev.Title, &ev.DiscountType, &ev.DiscountValue, &ev.Remaining, &ev.IssueEndsAt))
		ev.IssueEndsAt = ev.IssueEndsAt.UTC()
		if len(out) == 0 || out[len(out)-1].brief.ID != b.ID {
			out = append(out, refStore{brief: b})
		}
		out[len(out)-1].events = append(out[len(out)-1].events, ev)
		evIDs = append(evIDs, ev.ID)
	}
	require.NoError(t, rows.Err())
	gate, err := e.issue.Remaining(ctx, evIDs)
	require.NoError(t, err)
	for i := range out {
		out[i].events = slices.DeleteFunc(out[i].events, func(ev geo.EventBrief) bool {
			if g, ok := gate[ev.ID]; ok {
				ev.Remaining = g
			}
			return ev.Remaining <= 0
		})
		for j := range out[i].events {
			if g, ok := gate[out[i].events[j].ID]; ok {
				out[i].events[j].Remaining = g
			}
		}
	}
	return slices.DeleteFunc(out, func(s refStore) bool { return len(s.events) == 0 })
}

// answer computes the nearby answer by brute force: the ellipsoidal
// distance to every store, the millimetre rule, nearest first, ties by id.
func answer(ref []refStore, q geo.Query) geo.Nearby {
	type hit struct {
		s refStore
		d float64
	}
	var hits []hit
	for _, s := range ref {
		if q.Category != "" && s.brief.Category != q.Category {
			continue
		}
		d := math.Round(geo.Distance(q.At, geo.Point{Lat: s.brief.Lat, Lng: s.brief.Lng})*1000) / 1000
		if d <= q.RadiusM {
			hits = append(hits, hit{s, d})
		}
	}
	slices.SortFunc(hits, func(a, b hit) int {
		if a.d != b.d {
			return int(math.Copysign(1, a.d-b.d))
		}
		return int(a.s.brief.ID - b.s.brief.ID)
	})
	n := geo.Nearby{Items: []geo.NearbyItem{}}
	for _, h := range hits[:min(len(hits), q.Limit)] {
		n.Items = append(n.Items, geo.NearbyItem{Store: h.s.brief, DistanceM: h.d, Events: h.s.events})
	}
	return n
}

// sameAnswer asserts two answers list the same stores in the same order,
// with the same events and stock, and distances within tolerance metres.
func sameAnswer(t testing.TB, want, got geo.Nearby, tolerance float64, what string) bool {
	t.Helper()
	ids := func(n geo.Nearby) []int64 {
		out := make([]int64, len(n.Items))
		for i, it := range n.Items {
			out[i] = it.Store.ID
		}
		return out
	}
	if !assert.Equal(t, ids(want), ids(got), "%s: stores and order", what) {
		return false
	}
	ok := true
	for i := range want.Items {
		w, g := want.Items[i], got.Items[i]
		ok = assert.InDelta(t, w.DistanceM, g.DistanceM, tolerance, "%s: distance of store %d", what, w.Store.ID) && ok
		ok = assert.Equal(t, w.Store, g.Store, "%s: store %d", what, w.Store.ID) && ok
		ok = assert.Equal(t, w.Events, g.Events, "%s: events of store %d", what, w.Store.ID) && ok
	}
	return ok
}

// randomQuery draws a nearby question: radius log-uniform in 30 m–8 km
// (sometimes the default or the maximum), any limit, sometimes a category.
func randomQuery(t testing.TB, r *rand.Rand, at geo.Point) geo.Query {
	radius := math.Exp(math.Log(30) + r.Float64()*(math.Log(8000)-math.Log(30)))
	switch r.IntN(10) {
	case 0:
		radius = 0 // the default
	case 1:
		radius = geo.MaxRadiusM
	case 2:
		radius = math.Round(radius)
	}
	cat := ""
	if r.IntN(3) == 0 {
		cat = geo.Categories[r.IntN(len(geo.Categories))]
	}
	limit := 1 + r.IntN(geo.MaxLimit)
	if r.IntN(3) == 0 {
		limit = 0
	}
	q, err := geo.NewQuery(at, radius, cat, limit)
	require.NoError(t, err)
	return q
}

// TestNearbyMatchesReference is the consistency proof: on random stores
// and random questions, the Redis path, the PostGIS path (nearest-first
// KNN, and the textbook sort of the whole circle) and a brute-force
// ellipsoidal reference give the same stores in the same order, with the
// same events and stock, and distances within a millimetre and a half
// (the paths among themselves: exactly); and every distance is within
// 0.6 % of the haversine one.
func TestNearbyMatchesReference(t *testing.T) {
	reset(t)
	e := newEnv(t, envOpts{})
	r := rand.New(rand.NewPCG(8, 2026))
	seed(t, e, r, 2500, seoulPoint)

	// Sell out a few open events through real issuance, after the index
	// was built: the gate's stock must win over the index's copy.
	ctx := context.Background()
	rows, err := pool.Query(ctx, `
		SELECT e.id, ST_Y(s.location::geometry), ST_X(s.location::geometry), e.total_quantity - e.issued_count
		FROM coupon_events e JOIN stores s ON s.id = e.store_id
		WHERE e.status = 'ACTIVE' AND e.issue_starts_at <= now() AND e.issue_ends_at > now()
		  AND e.issued_count < e.total_quantity AND s.deleted_at IS NULL AND e.total_quantity - e.issued_count <= 3
		ORDER BY e.id LIMIT 15`)
	require.NoError(t, err)
	type ev struct {
		id       int64
		lat, lng float64
		left     int
	}
	var evs []ev
	for rows.Next() {
		var x ev
		require.NoError(t, rows.Scan(&x.id, &x.lat, &x.lng, &x.left))
		evs = append(evs, x)
	}
	require.NoError(t, rows.Err())
	require.NotEmpty(t, evs)
	for i, x := range evs {
		take := x.left
		if i%2 == 1 {
			take = x.left - 1 // leave one: the gate's count, not the index's, is shown
		}
		for range take {
			c := newMember(t, auth.Customer, "")
			_, err := e.issue.Issue(ctx, auth.Principal{MemberID: c, Role: auth.Customer}, x.id, geo.Point{Lat: x.lat, Lng: x.lng})
			require.NoError(t, err)
		}
	}

	ref := reference(t, e)
	require.Greater(t, len(ref), 500, "enough stores with issuable events")
	const queries = 1000
	for i := range queries {
		q := randomQuery(t, r, seoulPoint(r))
		what := fmt.Sprintf("query %d %+v", i, q)
		want := answer(ref, q)
		got, err := e.geo.Nearby(ctx, q)
		require.NoError(t, err)
		pg, err := e.pg.Nearby(ctx, q)
		require.NoError(t, err)
		text, err := e.text.Nearby(ctx, q)
		require.NoError(t, err)
		if !sameAnswer(t, want, got, 0.0015, what+" redis") || !sameAnswer(t, want, pg, 0.0015, what+" postgis knn") ||
			!sameAnswer(t, pg, text, 0, what+" postgis textbook") || !sameAnswer(t, pg, got, 0, what+" redis vs postgis, exactly") {
			t.FailNow()
		}
		for _, it := range got.Items {
			h := geo.Haversine(q.At, geo.Point{Lat: it.Store.Lat, Lng: it.Store.Lng})
			assert.InDelta(t, h, it.DistanceM, h*0.006+0.001, "%s: store %d vs haversine", what, it.Store.ID)
		}
	}
	assert.Equal(t, float64(queries), e.counter(t, "geo_nearby_total", "path", "redis"), "every answer came from the Redis path")
	assert.Zero(t, e.counter(t, "geo_nearby_total", "path", "postgis_fallback"))
	t.Logf("%.0f index searches for %d answers", e.counter(t, "geo_nearby_redis_rounds_total"), queries)
}

// Far from Seoul: across the antimeridian, near Redis GEO's latitude
// limit and beyond it (answered by PostGIS), both paths agree.
func TestNearbyEdgesOfTheMap(t *testing.T) {
	reset(t)
	e := newEnv(t, envOpts{})
	r := rand.New(rand.NewPCG(5, 6))
	centers := []geo.Point{{Lat: -16.5, Lng: 179.99}, {Lat: 65.2, Lng: -179.995}, {Lat: 84.98, Lng: 10}, {Lat: -85.2, Lng: 0}, {Lat: 0, Lng: 0}}
	around := func(r *rand.Rand) geo.Point {
		c := centers[r.IntN(len(centers))]
		lat := math.Max(-89.9, math.Min(89.9, c.Lat+r.NormFloat64()*0.02))
		lng := math.Mod(c.Lng+r.NormFloat64()*0.04+540, 360) - 180
		return geo.Point{Lat: lat, Lng: lng}
	}
	seed(t, e, r, 400, around)
	ref := reference(t, e)
	ctx := context.Background()
	for i := range 150 {
		q := randomQuery(t, r, around(r))
		want := answer(ref, q)
		got, err := e.geo.Nearby(ctx, q)
		require.NoError(t, err)
		pg, err := e.pg.Nearby(ctx, q)
		require.NoError(t, err)
		what := fmt.Sprintf("query %d %+v", i, q)
		if !sameAnswer(t, want, got, 0.0015, what+" redis") || !sameAnswer(t, want, pg, 0.0015, what+" postgis") {
			t.FailNow()
		}
	}
}

// destination walks from p along bearing (degrees) until the geodesic
// distance is exactly d metres (to a micrometre), by bisection.
func destination(p geo.Point, bearing, d float64) geo.Point {
	rad := bearing * math.Pi / 180
	at := func(k float64) geo.Point {
		return geo.Point{Lat: p.Lat + k*math.Cos(rad)/111000, Lng: p.Lng + k*math.Sin(rad)/(111000*math.Cos(p.Lat*math.Pi/180))}
	}
	lo, hi := 0.0, 2*d
	for range 200 {
		mid := (lo + hi) / 2
		if geo.Distance(p, at(mid)) < d {
			lo = mid
		} else {
			hi = mid
		}
	}
	return at((lo + hi) / 2)
}

// Stores at exactly the radius are in; a millimetre less and they are
// out — on both paths, whatever the bearing.
func TestNearbyBoundary(t *testing.T) {
	reset(t)
	e := newEnv(t, envOpts{})
	owner := newMember(t, auth.Owner, "")
	center := geo.Point{Lat: 37.5446, Lng: 127.0559}
	ctx := context.Background()
	radii := []float64{1, 250, 500, 1000, 19999.5}
	var ids []int64
	for i, d := range radii {
		for _, bearing := range []float64{0, 45, 90, 180, 271.3} {
			p := destination(center, bearing, d)
			st := e.newStore(t, owner, fmt.Sprintf("경계 %d-%v", i, bearing), "CAFE", p.Lat, p.Lng)
			e.newEvent(t, owner, st.ID, "경계 쿠폰", 10, nil)
			ids = append(ids, st.ID)
		}
	}
	at := e.newStore(t, owner, "바로 여기", "BAR", center.Lat, center.Lng)
	e.newEvent(t, owner, at.ID, "여기 쿠폰", 10, nil)

	var pgDist float64
	require.NoError(t, pool.QueryRow(ctx, `SELECT ST_Distance(location, ST_GeomFromEWKB($1)::geography) FROM stores WHERE id = $2`,
		center.EWKB(), ids[len(ids)-1]).Scan(&pgDist))
	t.Logf("PostGIS distance of a store placed at exactly 19999.5 m: %.9f", pgDist)

	for _, d := range radii {
		for _, tt := range []struct {
			radius float64
			inside bool
		}{{d, true}, {d - 0.001, false}} {
			q, err := geo.NewQuery(center, tt.radius, "", geo.MaxLimit)
			require.NoError(t, err)
			for name, svc := range map[string]*geo.Service{"redis": e.geo, "postgis": e.pg} {
				n, err := svc.Nearby(ctx, q)
				require.NoError(t, err)
				var boundary int
				for _, it := range n.Items {
					assert.LessOrEqual(t, it.DistanceM, tt.radius, "%s: every distance_m is within radius_m", name)
					if it.DistanceM == d {
						boundary++
					}
				}
				want := 0
				if tt.inside {
					want = 5
				}
				assert.Equal(t, want, boundary, "%s: radius %v: stores at exactly %v m", name, tt.radius, d)
				assert.Equal(t, at.ID, n.Items[0].Store.ID, "%s: the store at the point comes first", name)
				assert.Zero(t, n.Items[0].DistanceM)
			}
		}
	}
}
