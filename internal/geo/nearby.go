package geo

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/couponpop/couponpop/internal/derrors"
)

// Categories a store may have (the same list as package store, which
// imports this package; a test keeps the two equal).
var Categories = []string{"CAFE", "FOOD", "BAKERY", "BAR", "CONVENIENCE", "BEAUTY", "FASHION", "ENTERTAINMENT", "ETC"}

// Nearby limits.
const (
	DefaultRadiusM = 1000
	MaxRadiusM     = 20000
	DefaultLimit   = 20
	MaxLimit       = 100
)

// ErrInvalidRadius is a radius_m that is not a number in (0, 20000].
var ErrInvalidRadius = derrors.New(derrors.Invalid, "INVALID_RADIUS", "radius_m must be a number of metres above 0 and at most 20000")

// Query is a validated nearby question. Build it with ParseQuery or
// NewQuery.
type Query struct {
	At       Point
	RadiusM  float64
	Category string // empty: every category
	Limit    int
}

// NewQuery validates a nearby question; zero radius and limit take the
// defaults.
func NewQuery(at Point, radiusM float64, category string, limit int) (Query, error) {
	if radiusM == 0 {
		radiusM = DefaultRadiusM
	}
	if math.IsNaN(radiusM) || radiusM <= 0 || radiusM > MaxRadiusM {
		return Query{}, ErrInvalidRadius
	}
	if limit == 0 {
		limit = DefaultLimit
	}
	if limit < 1 || limit > MaxLimit {
		return Query{}, derrors.Invalidf("limit", "must be an integer between 1 and %d", MaxLimit)
	}
	if category != "" && !slices.Contains(Categories, category) {
		return Query{}, derrors.Invalidf("category", "must be one of %s", strings.Join(Categories, ", "))
	}
	return Query{At: at, RadiusM: radiusM, Category: category, Limit: limit}, nil
}

// ParseQuery validates the query string of GET /coupons/nearby.
func ParseQuery(lat, lng, radius, category, limit string) (Query, error) {
	at, err := ParsePoint(lat, lng)
	if err != nil {
		return Query{}, err
	}
	r := 0.0
	if radius != "" {
		r, err = strconv.ParseFloat(radius, 64)
		if err != nil || r <= 0 {
			return Query{}, ErrInvalidRadius
		}
	}
	n := 0
	if limit != "" {
		n, err = strconv.Atoi(limit)
		if err != nil || n == 0 {
			return Query{}, derrors.Invalidf("limit", "must be an integer between 1 and %d", MaxLimit)
		}
	}
	return NewQuery(at, r, category, n)
}

// Nearby is the answer: stores with issuable events, nearest first.
type Nearby struct {
	Items []NearbyItem `json:"items"`
}

// NearbyItem is one store of a nearby answer.
type NearbyItem struct {
	Store     StoreBrief   `json:"store"`
	DistanceM float64      `json:"distance_m"`
	Events    []EventBrief `json:"events"`
}

// StoreBrief is what a map pin shows of a store.
type StoreBrief struct {
	ID       int64   `json:"id"`
	Name     string  `json:"name"`
	Category string  `json:"category"`
	Lat      float64 `json:"lat"`
	Lng      float64 `json:"lng"`
	Address  string  `json:"address"`
}

// EventBrief is an issuable event as a nearby answer shows it.
type EventBrief struct {
	ID            int64     `json:"id"`
	Title         string    `json:"title"`
	DiscountType  string    `json:"discount_type"`
	DiscountValue int       `json:"discount_value"`
	Remaining     int       `json:"remaining"`
	IssueEndsAt   time.Time `json:"issue_ends_at"`
}

// Distances are reported, compared and ordered at millimetre resolution:
// a store is within the radius when its distance rounded to the millimetre
// is at most radius_m, and ties order by store id. PostGIS and Distance
// agree to well under a micrometre, so both paths make the same decisions
// (except for a store within a micrometre of a half-millimetre, which no
// test or person will ever place).
func roundMM(d float64) float64 { return math.Round(d*1000) / 1000 }

// Bounds between Redis' distance and the geodesic one. Redis measures on
// a sphere of radius 6372797.56 m; the WGS84 geodesic is between 0.9941
// (meridians near the equator) and 1.0042 (near the poles) times that, and
// Redis stores a member's position as a 52-bit geohash, off by at most
// ~0.6 m. With margins:
//
//	geodesic ≤ r        ⇒ redis ≤ r·searchFactor + searchSlackM
//	redis ≥ b           ⇒ geodesic ≥ (b − searchSlackM)·lowFactor
const (
	searchFactor = 1.008
	searchSlackM = 1.0
	lowFactor    = 0.993
)

// Nearby answers a nearby question from the Redis index, or from PostGIS
// when the index is missing (a rebuild is requested), Redis is down, or
// the circle reaches where Redis GEO cannot go. Both paths give the same
// answer; see docs/GEO.md.
func (s *Service) Nearby(ctx context.Context, q Query) (Nearby, error) {
	now := s.now()
	if s.redisUp() && redisCanAnswer(q) {
		n, err := s.nearbyRedis(ctx, q, now)
		if err == nil {
			s.m.nearby.WithLabelValues("redis").Inc()
			return n, nil
		}
		if ctx.Err() != nil {
			return Nearby{}, ctx.Err()
		}
		switch {
		case errors.Is(err, errIndexMissing):
			s.requestRebuild()
		case errors.Is(err, errBadSummary):
			s.log.WarnContext(ctx, "geo index inconsistent; answering from PostGIS", "err", err)
			s.stale.Store(true)
			s.requestRebuild()
		default:
			s.log.WarnContext(ctx, "geo index unavailable; answering from PostGIS", "err", err)
			s.redisFailed(err)
		}
		n, err = s.nearbyPostGIS(ctx, q, now)
		if err != nil {
			return Nearby{}, err
		}
		s.m.nearby.WithLabelValues("postgis_fallback").Inc()
		return n, nil
	}
	n, err := s.nearbyPostGIS(ctx, q, now)
	if err != nil {
		return Nearby{}, err
	}
	s.m.nearby.WithLabelValues("postgis").Inc()
	return n, nil
}

// redisCanAnswer: the searched circle stays within Redis GEO's latitudes.
func redisCanAnswer(q Query) bool {
	reach := (q.RadiusM*searchFactor + searchSlackM) / 110000 // degrees of latitude, generously
	return math.Abs(q.At.Lat)+reach < maxRedisLat
}

var errIndexMissing = errors.New("geo: the Redis index is missing")

// candidate is a store that may be in the answer.
type candidate struct {
	id     int64
	d      float64 // geodesic metres, rounded to the millimetre
	store  summary
	events []cachedEvent // those issuable now by the index's knowledge
}

// less orders candidates nearest first, ties by store id.
func less(a, b *candidate) int {
	if c := cmp.Compare(a.d, b.d); c != 0 {
		return c
	}
	return cmp.Compare(a.id, b.id)
}

// nearbyRedis answers from the index. Redis finds candidates on its
// sphere; the exact geodesic distance (DistancePostGIS, what PostGIS
// computes) decides membership and order. Redis' circle is a little
// larger than the asked one, and the answer is accepted only once it is
// provably complete:
// every store Redis has not returned is farther, geodesically, than every
// store in the answer (the bounds above). Otherwise it searches again,
// wider and with a larger count.
func (s *Service) nearbyRedis(ctx context.Context, q Query, now time.Time) (Nearby, error) {
	last := q.RadiusM*searchFactor + searchSlackM
	// Enough for the answer when a few of the indexed stores have nothing
	// issuable right now (window not open yet, sold out since); if more
	// do, another round asks for more.
	count := q.Limit + q.Limit/5 + 3
	first := s.hints.firstRadius(q.At, q.Category, count, s.opts.FirstRadiusM, last)
	nowMicro := now.UnixMicro()
	stock := map[int64]int{}
	for round := 0; ; round++ {
		hits, searched, err := s.search(ctx, q, first, count, last)
		if err != nil {
			return Nearby{}, err
		}

		// What no returned store can beat: Redis returned everything
		// within its bound, so the rest is geodesically beyond safe.
		bound := searched
		if len(hits) >= count {
			bound = hits[len(hits)-1].Dist
		}
		if round == 0 {
			s.hints.observe(q.At, q.Category, count, len(hits), searched, bound)
		}
		safe := math.Inf(1)
		if len(hits) >= count || searched < last {
			safe = (bound-searchSlackM)*lowFactor - 0.002
		}

		cands := make([]candidate, 0, len(hits))
		for _, h := range hits {
			id, raw, ok := splitMember(h.Name)
			if !ok {
				continue // the sentinel
			}
			sm, err := decodeSummary(raw)
			if err != nil {
				return Nearby{}, fmt.Errorf("store %d: %w", id, err)
			}
			d := roundMM(DistancePostGIS(q.At, Point{Lat: sm.lat, Lng: sm.lng}))
			if d > q.RadiusM {
				continue
			}
			c := candidate{id: id, d: d, store: sm, events: sm.events[:0]}
			for _, e := range sm.events { // filtering in place: sm.events is this candidate's own
				if e.starts <= nowMicro && nowMicro < e.ends && e.remaining > 0 {
					c.events = append(c.events, e)
				}
			}
			if len(c.events) > 0 {
				cands = append(cands, c)
			}
		}
		slices.SortFunc(cands, func(a, b candidate) int { return less(&a, &b) })

		items, complete, err := s.accept(ctx, cands, safe, q.Limit, stock)
		if err != nil {
			return Nearby{}, err
		}
		if complete {
			return Nearby{Items: items}, nil
		}
		if round >= 6 || count >= 4000 {
			return Nearby{}, fmt.Errorf("search index: no complete answer after %d rounds", round+1)
		}
		// Wider and more: start where this round stopped.
		first = min(searched*2, last)
		count = min(count*4, 4000)
	}
}

// search is the hot path's Redis work: GEOSEARCH for the count nearest
// members within first metres, and while that finds fewer than count,
// again with a circle grown to where count stores should be at the
// density just seen (at most 4× at a time, never beyond last). The first
// search travels in one pipeline with the check that the index is in
// service, so an answer usually costs one round trip (the density hints
// make the first circle about right: 1.0–1.2 searches per answer).
//
// It is a pipeline and not a Lua script on purpose: a script would save
// the rare second round trip but costs Redis ~30 µs per answer to carry
// the members through Lua tables, a fifth of all its work here.
func (s *Service) search(ctx context.Context, q Query, r float64, count int, last float64) ([]redis.GeoLocation, float64, error) {
	key := s.keys.set(q.Category)
	for i := 0; ; i++ {
		s.m.rounds.Inc()
		query := &redis.GeoSearchLocationQuery{GeoSearchQuery: redis.GeoSearchQuery{
			Longitude: q.At.Lng, Latitude: q.At.Lat, Radius: r, RadiusUnit: "m", Sort: "ASC", Count: count,
		}, WithDist: true}
		var hits []redis.GeoLocation
		if i == 0 {
			var built *redis.BoolCmd
			var exists *redis.IntCmd
			var found *redis.GeoSearchLocationCmd
			_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
				built = p.HExists(ctx, s.keys.sum, sentinel)
				exists = p.Exists(ctx, key)
				found = p.GeoSearchLocation(ctx, key, query)
				return nil
			})
			if err != nil {
				return nil, 0, fmt.Errorf("search index: %w", err)
			}
			if !built.Val() || exists.Val() == 0 {
				return nil, 0, errIndexMissing
			}
			hits = found.Val()
		} else {
			var err error
			hits, err = s.rdb.GeoSearchLocation(ctx, key, query).Result()
			if err != nil {
				return nil, 0, fmt.Errorf("search index: %w", err)
			}
		}
		if len(hits) >= count || r >= last {
			return hits, r, nil
		}
		grow := 4.0
		if n := len(hits); n > 0 {
			grow = min(4, max(1.3, math.Sqrt(float64(count)/float64(n))*1.2))
		}
		r = min(r*grow, last)
	}
}

// accept walks the candidates in order, asks the issuance gate for the
// stock of their events (in chunks, only as far as needed; not at all when
// stock is nil) and keeps the stores with an event left, up to limit. It
// reports whether the answer is complete: limit stores found, all nearer
// than safe, or every candidate nearer than safe taken and nothing beyond
// it to miss.
func (s *Service) accept(ctx context.Context, cands []candidate, safe float64, limit int, stock map[int64]int) ([]NearbyItem, bool, error) {
	items := make([]NearbyItem, 0, min(limit, len(cands)))
	next := 0 // first candidate whose stock is not yet known
	for i := range cands {
		c := &cands[i]
		if c.d >= safe {
			return items, false, nil
		}
		if i >= next && stock != nil {
			// Look up this candidate and the next few: as many as the
			// answer still needs, plus a little for sold-out ones.
			end := min(len(cands), i+limit-len(items)+2)
			var ids []int64
			for j := i; j < end && cands[j].d < safe; j++ {
				for _, e := range cands[j].events {
					if _, known := stock[e.id]; !known {
						ids = append(ids, e.id)
					}
				}
				next = j + 1
			}
			if err := s.lookupStock(ctx, ids, stock); err != nil {
				return nil, false, err
			}
		}
		it := item(c, stock)
		if len(it.Events) > 0 {
			items = append(items, it)
			if len(items) == limit {
				return items, true, nil
			}
		}
	}
	return items, math.IsInf(safe, 1), nil
}

// noGate marks an event the gate was asked about and does not know.
const noGate = -1

// lookupStock adds the gate's stock of ids to stock. Events without a gate
// are absent from the gate's answer; they keep PostgreSQL's count (and are
// marked noGate so that they are not asked about again).
func (s *Service) lookupStock(ctx context.Context, ids []int64, stock map[int64]int) error {
	if len(ids) == 0 {
		return nil
	}
	got, err := s.stock.Remaining(ctx, ids)
	if err != nil {
		return fmt.Errorf("read stock: %w", err)
	}
	for _, id := range ids {
		n, ok := got[id]
		if !ok {
			n = noGate
		}
		stock[id] = n
	}
	return nil
}

// nearbyPostGIS answers from PostgreSQL, the truth. ST_DWithin on the
// GiST-indexed geography bounds the circle, and the same index hands the
// stores out nearest first (KNN: ORDER BY location <-> point walks the
// index, so a page costs about the page, not every store in the circle —
// thousands in a dense district). <-> measures on a sphere; ST_Distance
// gives each store's geodesic distance, and the same completeness rule as
// the Redis path decides when a page is enough: every store not yet read
// is at least as far on the sphere as the last one read, hence at least
// 0.993 times that on the ellipsoid.
//
// The stock shown is the issuance gate's when Redis answers, else
// PostgreSQL's total − issued, which is then what issuance uses too.
func (s *Service) nearbyPostGIS(ctx context.Context, q Query, now time.Time) (Nearby, error) {
	var cat *string
	if q.Category != "" {
		cat = &q.Category
	}
	pt := q.At.EWKB()
	var stock map[int64]int
	if s.gateUp() {
		stock = map[int64]int{}
	}
	// The order the page is read in, and how far its last store bounds
	// the ones not read: the sphere for KNN, the geodesic itself for the
	// textbook plan. (No tie-breaker in the inner ORDER BY: anything but
	// the bare <-> turns the index walk into a sort of the whole circle.
	// A store tied with the last one read is beyond safe anyway.)
	order, factor := "s.location <-> ST_GeomFromEWKB($1)::geography", lowFactor
	if s.opts.NoKNN {
		order, factor = "ST_Distance(s.location, ST_GeomFromEWKB($1)::geography)", 1.0
	}
	for page := q.Limit + q.Limit/5 + 3; ; page *= 4 {
		rows, err := s.db.Query(ctx, `
			WITH near AS (
				SELECT s.id, s.name, s.category, s.address, s.location,
				       ST_Distance(s.location, ST_GeomFromEWKB($1)::geography) AS d,
				       `+order+` AS ord
				FROM stores s
				WHERE s.deleted_at IS NULL
				  AND ST_DWithin(s.location, ST_GeomFromEWKB($1)::geography, $2)
				  AND ($3::text IS NULL OR s.category = $3)
				  AND EXISTS (SELECT 1 FROM coupon_events e
				              WHERE e.store_id = s.id AND e.status = 'ACTIVE'
				                AND e.issue_starts_at <= $4 AND e.issue_ends_at > $4
				                AND e.issued_count < e.total_quantity)
				ORDER BY `+order+`
				LIMIT $5
			)
			SELECT n.id, n.name, n.category, n.address, ST_Y(n.location::geometry), ST_X(n.location::geometry), n.d, n.ord,
			       e.id, e.title, e.discount_type, e.discount_value, e.total_quantity - e.issued_count, e.issue_ends_at
			FROM near n
			JOIN coupon_events e ON e.store_id = n.id AND e.status = 'ACTIVE'
			     AND e.issue_starts_at <= $4 AND e.issue_ends_at > $4 AND e.issued_count < e.total_quantity
			ORDER BY n.ord, n.id, e.issue_ends_at, e.id`,
			pt, q.RadiusM+0.0005, cat, now, page)
		if err != nil {
			return Nearby{}, fmt.Errorf("nearby: %w", err)
		}
		var cands []candidate
		var c *candidate
		var farthest float64 // order key of the last store read
		var r struct {
			id              int64
			name, cat, addr string
			lat, lng, d, sp float64
			eid             int64
			title, dtype    string
			dval, left      int
			ends            time.Time
		}
		_, err = pgx.ForEachRow(rows, []any{&r.id, &r.name, &r.cat, &r.addr, &r.lat, &r.lng, &r.d, &r.sp,
			&r.eid, &r.title, &r.dtype, &r.dval, &r.left, &r.ends}, func() error {
			if c == nil || c.id != r.id {
				cands = append(cands, candidate{id: r.id, d: roundMM(r.d),
					store: summary{name: r.name, category: r.cat, address: r.addr, lat: r.lat, lng: r.lng}})
				c = &cands[len(cands)-1]
				farthest = max(farthest, r.sp)
			}
			c.events = append(c.events, cachedEvent{id: r.eid, title: r.title, discountType: r.dtype,
				discountValue: r.dval, remaining: r.left, ends: r.ends.UnixMicro()})
			return nil
		})
		if err != nil {
			return Nearby{}, fmt.Errorf("nearby: %w", err)
		}
		safe := math.Inf(1)
		if len(cands) >= page {
			safe = farthest*factor - 0.002
		}
		// The same millimetre rule and order as the Redis path.
		cands = slices.DeleteFunc(cands, func(c candidate) bool { return c.d > q.RadiusM })
		slices.SortFunc(cands, func(a, b candidate) int { return less(&a, &b) })

		items, complete, err := s.accept(ctx, cands, safe, q.Limit, stock)
		if err != nil {
			// Redis failed mid-answer: PostgreSQL's stock is what
			// issuance uses while Redis is down.
			s.redisFailed(err)
			stock = nil
			items, complete, _ = s.accept(ctx, cands, safe, q.Limit, nil)
		}
		if complete {
			return Nearby{Items: items}, nil
		}
	}
}

func item(c *candidate, stock map[int64]int) NearbyItem {
	it := NearbyItem{
		Store:     StoreBrief{ID: c.id, Name: c.store.name, Category: c.store.category, Lat: c.store.lat, Lng: c.store.lng, Address: c.store.address},
		DistanceM: c.d,
	}
	for _, e := range c.events {
		left := e.remaining
		if g, ok := stock[e.id]; ok && g != noGate {
			left = g
		}
		if left > 0 {
			it.Events = append(it.Events, EventBrief{ID: e.id, Title: e.title, DiscountType: e.discountType,
				DiscountValue: e.discountValue, Remaining: left, IssueEndsAt: time.UnixMicro(e.ends).UTC()})
		}
	}
	return it
}
