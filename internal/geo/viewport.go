package geo

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/couponpop/couponpop/internal/derrors"
)

// Viewport errors.
var (
	ErrInvalidBBox  = derrors.New(derrors.Invalid, "INVALID_BBOX", "bbox must be minLng,minLat,maxLng,maxLat in WGS84 degrees, with minLat <= maxLat")
	ErrEmptyBBox    = derrors.New(derrors.Invalid, "EMPTY_BBOX", "the bbox has no area: minLng equals maxLng or minLat equals maxLat")
	ErrBBoxTooLarge = derrors.New(derrors.Invalid, "BBOX_TOO_LARGE", "the bbox may span at most 10 degrees of longitude and 10 of latitude")
)

// MaxBBoxSpanDeg bounds a viewport on each axis: a city map, or a small
// country, never the world in one request.
const MaxBBoxSpanDeg = 10

// BBox is a validated longitude/latitude rectangle. MinLng > MaxLng means
// it crosses the antimeridian (RFC 7946 §5.2).
type BBox struct {
	MinLng, MinLat, MaxLng, MaxLat float64
}

// ParseBBox validates "minLng,minLat,maxLng,maxLat".
func ParseBBox(s string) (BBox, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 4 {
		return BBox{}, ErrInvalidBBox.WithDetail("bbox must be four comma-separated numbers minLng,minLat,maxLng,maxLat, got %q", s)
	}
	var v [4]float64
	for i, p := range parts {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return BBox{}, ErrInvalidBBox.WithDetail("bbox value %d (%q) is not a number", i+1, p)
		}
		v[i] = f
	}
	b := BBox{MinLng: v[0], MinLat: v[1], MaxLng: v[2], MaxLat: v[3]}
	switch {
	case b.MinLng < -180 || b.MinLng > 180 || b.MaxLng < -180 || b.MaxLng > 180:
		return BBox{}, ErrInvalidBBox.WithDetail("longitudes must be within [-180, 180]")
	case b.MinLat < -90 || b.MinLat > 90 || b.MaxLat < -90 || b.MaxLat > 90:
		return BBox{}, ErrInvalidBBox.WithDetail("latitudes must be within [-90, 90]")
	case b.MinLat > b.MaxLat:
		return BBox{}, ErrInvalidBBox.WithDetail("minLat (%g) is greater than maxLat (%g)", b.MinLat, b.MaxLat)
	case b.Width() == 0 || b.Height() == 0:
		return BBox{}, ErrEmptyBBox
	case b.Width() > MaxBBoxSpanDeg || b.Height() > MaxBBoxSpanDeg:
		return BBox{}, ErrBBoxTooLarge.WithDetail("the bbox spans %.4g° of longitude and %.4g° of latitude; at most %d° each", b.Width(), b.Height(), MaxBBoxSpanDeg)
	}
	return b, nil
}

// Crosses reports whether the box crosses the antimeridian.
func (b BBox) Crosses() bool { return b.MinLng > b.MaxLng }

// Width is the box's extent in degrees of longitude.
func (b BBox) Width() float64 {
	if b.Crosses() {
		return 360 - (b.MinLng - b.MaxLng)
	}
	return b.MaxLng - b.MinLng
}

// Height is the box's extent in degrees of latitude.
func (b BBox) Height() float64 { return b.MaxLat - b.MinLat }

// parts splits a box that crosses the antimeridian in two that do not.
func (b BBox) parts() []BBox {
	if !b.Crosses() {
		return []BBox{b}
	}
	return []BBox{
		{MinLng: b.MinLng, MinLat: b.MinLat, MaxLng: 180, MaxLat: b.MaxLat},
		{MinLng: -180, MinLat: b.MinLat, MaxLng: b.MaxLng, MaxLat: b.MaxLat},
	}
}

// ViewportQuery is a validated viewport question.
type ViewportQuery struct {
	Box      BBox
	Zoom     int // web-map zoom, 0–22
	Category string
}

// Clustering: below ClusterBelowZoom, or whenever more than MaxPoints
// stores are in view, stores are grouped on a grid of cells about a
// quarter of a 256-pixel tile wide (64 px) at the asked zoom, never
// narrower than 1/maxCellsPerAxis of the box, so an answer holds at most
// MaxPoints points or (maxCellsPerAxis+1)² features, whatever the zoom
// and box.
const (
	ClusterBelowZoom = 14
	maxCellsPerAxis  = 24
)

// DefaultZoom is the zoom at which the box fills a 1024-pixel-wide map.
func (b BBox) DefaultZoom() int {
	z := int(math.Round(math.Log2(360 / b.Width() * 4)))
	return max(0, min(22, z))
}

// ViewportStore is a store in the viewport with its coupon summary.
type ViewportStore struct {
	StoreBrief
	// EventCount counts its events issuable now; Remaining sums their
	// stock.
	EventCount int `json:"event_count"`
	Remaining  int `json:"remaining"`
}

// Cluster is a group of stores drawn as one marker.
type Cluster struct {
	Lat   float64 `json:"lat"`
	Lng   float64 `json:"lng"`
	Count int     `json:"count"`
	// WithCoupons counts the cluster's stores that have an issuable event
	// (by PostgreSQL's stock).
	WithCoupons int `json:"with_coupons"`
}

// Viewport is the answer: stores as points, and clusters where stores
// were grouped. A cluster of one is returned as its store.
type Viewport struct {
	Items     []ViewportStore `json:"items"`
	Clusters  []Cluster       `json:"clusters"`
	Clustered bool            `json:"clustered"`
	Zoom      int             `json:"zoom"`
}

// boxSQL is the WHERE condition selecting live stores in the box parts
// given as $first.. arguments: the geometry expression index
// stores_location_geom_gix answers `&&` (bounding-box overlap, which for
// a point is containment, edges included).
func boxSQL(parts []BBox, first int, args *[]any) string {
	conds := make([]string, len(parts))
	for i, p := range parts {
		n := first + 4*i
		conds[i] = fmt.Sprintf("s.location::geometry && ST_MakeEnvelope($%d, $%d, $%d, $%d, 4326)", n, n+1, n+2, n+3)
		*args = append(*args, p.MinLng, p.MinLat, p.MaxLng, p.MaxLat)
	}
	return "s.deleted_at IS NULL AND (" + strings.Join(conds, " OR ") + ")"
}

// Viewport answers a map viewport from PostGIS.
func (s *Service) Viewport(ctx context.Context, q ViewportQuery) (Viewport, error) {
	now := s.now()
	out := Viewport{Items: []ViewportStore{}, Clusters: []Cluster{}, Zoom: q.Zoom}
	var cat *string
	if q.Category != "" {
		cat = &q.Category
	}
	if q.Zoom >= ClusterBelowZoom {
		args := []any{cat, s.opts.MaxPoints + 1}
		rows, err := s.db.Query(ctx, `
			SELECT s.id, s.name, s.category, s.address, ST_Y(s.location::geometry), ST_X(s.location::geometry)
			FROM stores s
			WHERE `+boxSQL(q.Box.parts(), 3, &args)+` AND ($1::text IS NULL OR s.category = $1)
			ORDER BY s.id
			LIMIT $2`, args...)
		if err != nil {
			return Viewport{}, fmt.Errorf("viewport: %w", err)
		}
		stores, err := pgx.CollectRows(rows, scanBrief)
		if err != nil {
			return Viewport{}, fmt.Errorf("viewport: %w", err)
		}
		if len(stores) <= s.opts.MaxPoints {
			out.Items, err = s.withCoupons(ctx, stores, now)
			return out, err
		}
	}
	return s.clusters(ctx, q, cat, now, out)
}

func scanBrief(row pgx.CollectableRow) (StoreBrief, error) {
	var b StoreBrief
	err := row.Scan(&b.ID, &b.Name, &b.Category, &b.Address, &b.Lat, &b.Lng)
	return b, err
}

// clusters groups the box's stores on the zoom's grid.
func (s *Service) clusters(ctx context.Context, q ViewportQuery, cat *string, now time.Time, out Viewport) (Viewport, error) {
	out.Clustered = true
	cellLng := 90 / math.Exp2(float64(q.Zoom))
	// Web Mercator stretches latitude by 1/cos: equal pixels are fewer
	// degrees of latitude.
	cellLat := cellLng * math.Cos((q.Box.MinLat+q.Box.MaxLat)/2*math.Pi/180)
	cellLng = max(cellLng, q.Box.Width()/maxCellsPerAxis)
	cellLat = max(cellLat, q.Box.Height()/maxCellsPerAxis)

	args := []any{cat, now, cellLng, cellLat}
	rows, err := s.db.Query(ctx, `
		WITH pts AS (
			SELECT s.id, ST_X(s.location::geometry) AS x, ST_Y(s.location::geometry) AS y,
			       EXISTS (SELECT 1 FROM coupon_events e
			               WHERE e.store_id = s.id AND e.status = 'ACTIVE'
			                 AND e.issue_starts_at <= $2 AND e.issue_ends_at > $2
			                 AND e.issued_count < e.total_quantity) AS live
			FROM stores s
			WHERE `+boxSQL(q.Box.parts(), 5, &args)+` AND ($1::text IS NULL OR s.category = $1)
		)
		SELECT count(*), avg(y), avg(x), min(id), count(*) FILTER (WHERE live)
		FROM pts
		GROUP BY floor(x / $3), floor(y / $4)
		ORDER BY 1 DESC, 4`, args...)
	if err != nil {
		return Viewport{}, fmt.Errorf("viewport clusters: %w", err)
	}
	var singles []int64
	var c Cluster
	var one int64
	_, err = pgx.ForEachRow(rows, []any{&c.Count, &c.Lat, &c.Lng, &one, &c.WithCoupons}, func() error {
		if c.Count == 1 {
			singles = append(singles, one)
		} else {
			out.Clusters = append(out.Clusters, c)
		}
		return nil
	})
	if err != nil {
		return Viewport{}, fmt.Errorf("viewport clusters: %w", err)
	}
	if len(singles) == 0 {
		return out, nil
	}
	rows, err = s.db.Query(ctx, `
		SELECT s.id, s.name, s.category, s.address, ST_Y(s.location::geometry), ST_X(s.location::geometry)
		FROM stores s WHERE s.id = ANY($1) ORDER BY s.id`, singles)
	if err != nil {
		return Viewport{}, fmt.Errorf("viewport: %w", err)
	}
	stores, err := pgx.CollectRows(rows, scanBrief)
	if err != nil {
		return Viewport{}, fmt.Errorf("viewport: %w", err)
	}
	out.Items, err = s.withCoupons(ctx, stores, now)
	return out, err
}

// withCoupons adds each store's issuable events' count and stock, with
// the gate's stock when Redis answers.
func (s *Service) withCoupons(ctx context.Context, stores []StoreBrief, now time.Time) ([]ViewportStore, error) {
	out := make([]ViewportStore, len(stores))
	if len(stores) == 0 {
		return out, nil
	}
	ids := make([]int64, len(stores))
	at := make(map[int64]int, len(stores))
	for i, st := range stores {
		ids[i] = st.ID
		at[st.ID] = i
		out[i].StoreBrief = st
	}
	type ev struct {
		store, id int64
		left      int
	}
	rows, err := s.db.Query(ctx, `
		SELECT e.store_id, e.id, e.total_quantity - e.issued_count
		FROM coupon_events e
		WHERE e.store_id = ANY($1) AND e.status = 'ACTIVE'
		  AND e.issue_starts_at <= $2 AND e.issue_ends_at > $2 AND e.issued_count < e.total_quantity`, ids, now)
	if err != nil {
		return nil, fmt.Errorf("viewport coupons: %w", err)
	}
	var evs []ev
	var e ev
	if _, err := pgx.ForEachRow(rows, []any{&e.store, &e.id, &e.left}, func() error {
		evs = append(evs, e)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("viewport coupons: %w", err)
	}
	stock := map[int64]int{}
	if s.gateUp() && len(evs) > 0 {
		eids := make([]int64, len(evs))
		for i, e := range evs {
			eids[i] = e.id
		}
		if err := s.lookupStock(ctx, eids, stock); err != nil {
			s.redisFailed(err)
			stock = map[int64]int{}
		}
	}
	for _, e := range evs {
		left := e.left
		if g, ok := stock[e.id]; ok && g != noGate {
			left = g
		}
		if left > 0 {
			vs := &out[at[e.store]]
			vs.EventCount++
			vs.Remaining += left
		}
	}
	return out, nil
}
