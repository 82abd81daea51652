package geo_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/couponpop/couponpop/internal/auth"
	"github.com/couponpop/couponpop/internal/geo"
)

// validGeoJSON checks doc against the rules of RFC 7946 a client relies
// on and returns it decoded: a FeatureCollection of Features, each with a
// geometry and a properties member and a string or number id; positions
// [longitude, latitude] within range; polygon rings closed, at least four
// positions, exterior counterclockwise and holes clockwise; no crs member;
// a bbox of four numbers with south ≤ north.
func validGeoJSON(t *testing.T, doc []byte) map[string]any {
	t.Helper()
	var fc map[string]any
	require.NoError(t, json.Unmarshal(doc, &fc), "%s", doc)
	require.Equal(t, "FeatureCollection", fc["type"], "type member")
	assert.NotContains(t, fc, "crs", "RFC 7946 §4: no crs member")
	if bb, ok := fc["bbox"]; ok {
		b, ok := bb.([]any)
		require.True(t, ok && len(b) == 4, "bbox is [west, south, east, north]: %v", bb)
		assert.LessOrEqual(t, b[1].(float64), b[3].(float64), "bbox south <= north (west > east is the antimeridian)")
	}
	features, ok := fc["features"].([]any)
	require.True(t, ok, "features is an array")
	for i, f := range features {
		feat, ok := f.(map[string]any)
		require.True(t, ok, "feature %d is an object", i)
		require.Equal(t, "Feature", feat["type"], "feature %d type", i)
		require.Contains(t, feat, "geometry", "feature %d", i)
		require.Contains(t, feat, "properties", "feature %d", i)
		if p := feat["properties"]; p != nil {
			_, ok := p.(map[string]any)
			require.True(t, ok, "feature %d: properties is an object or null", i)
		}
		if id, ok := feat["id"]; ok {
			switch id.(type) {
			case string, float64:
			default:
				t.Fatalf("feature %d: id must be a string or a number, got %T", i, id)
			}
		}
		if g := feat["geometry"]; g != nil {
			validGeometry(t, g.(map[string]any), fmt.Sprintf("feature %d", i))
		}
	}
	return fc
}

func validGeometry(t *testing.T, g map[string]any, where string) {
	t.Helper()
	coords := g["coordinates"]
	switch g["type"] {
	case "Point":
		validPosition(t, coords, where)
	case "MultiPoint", "LineString":
		for _, p := range coords.([]any) {
			validPosition(t, p, where)
		}
	case "Polygon":
		validPolygon(t, coords.([]any), where)
	case "MultiPolygon":
		for _, poly := range coords.([]any) {
			validPolygon(t, poly.([]any), where)
		}
	default:
		t.Fatalf("%s: unexpected geometry type %v", where, g["type"])
	}
}

func validPosition(t *testing.T, p any, where string) (lng, lat float64) {
	t.Helper()
	pos, ok := p.([]any)
	require.True(t, ok && (len(pos) == 2 || len(pos) == 3), "%s: a position is [lng, lat(, alt)]: %v", where, p)
	lng, lat = pos[0].(float64), pos[1].(float64)
	require.True(t, lng >= -180 && lng <= 180 && lat >= -90 && lat <= 90, "%s: [lng, lat] out of range: %v", where, pos)
	return lng, lat
}

func validPolygon(t *testing.T, rings []any, where string) {
	t.Helper()
	require.NotEmpty(t, rings, "%s: a polygon has an exterior ring", where)
	for i, r := range rings {
		ring := r.([]any)
		require.GreaterOrEqual(t, len(ring), 4, "%s ring %d: at least four positions", where, i)
		first, last := ring[0].([]any), ring[len(ring)-1].([]any)
		require.Equal(t, first, last, "%s ring %d: closed (first position = last)", where, i)
		// Shoelace: positive area is counterclockwise in [lng, lat].
		area := 0.0
		for k := 0; k+1 < len(ring); k++ {
			x1, y1 := validPosition(t, ring[k], where)
			x2, y2 := validPosition(t, ring[k+1], where)
			area += x1*y2 - x2*y1
		}
		if i == 0 {
			assert.Positive(t, area, "%s: exterior ring counterclockwise (right-hand rule)", where)
		} else {
			assert.Negative(t, area, "%s: hole %d clockwise", where, i)
		}
	}
}

func TestParseBBox(t *testing.T) {
	tests := []struct {
		in      string
		want    geo.BBox
		code    string
		crosses bool
	}{
		{in: "126.9,37.5,127.1,37.6", want: geo.BBox{MinLng: 126.9, MinLat: 37.5, MaxLng: 127.1, MaxLat: 37.6}},
		{in: " 126.9 , 37.5 ,127.1, 37.6", want: geo.BBox{MinLng: 126.9, MinLat: 37.5, MaxLng: 127.1, MaxLat: 37.6}},
		{in: "179,-1,-179,1", want: geo.BBox{MinLng: 179, MinLat: -1, MaxLng: -179, MaxLat: 1}, crosses: true},
		{in: "-180,-90,-175,-85", want: geo.BBox{MinLng: -180, MinLat: -90, MaxLng: -175, MaxLat: -85}},
		{in: "", code: "INVALID_BBOX"},
		{in: "1,2,3", code: "INVALID_BBOX"},
		{in: "1,2,3,4,5", code: "INVALID_BBOX"},
		{in: "a,37,127,38", code: "INVALID_BBOX"},
		{in: "NaN,37,127,38", code: "INVALID_BBOX"},
		{in: "126,Inf,127,38", code: "INVALID_BBOX"},
		{in: "126,38,127,37", code: "INVALID_BBOX"}, // minLat > maxLat
		{in: "181,37,127,38", code: "INVALID_BBOX"},
		{in: "126,37,127,91", code: "INVALID_BBOX"},
		{in: "127,37,127,38", code: "EMPTY_BBOX"},
		{in: "126,37,127,37", code: "EMPTY_BBOX"},
		{in: "180,0,-180,1", code: "EMPTY_BBOX"},
		{in: "100,30,120,40", code: "BBOX_TOO_LARGE"},
		{in: "170,0,-170,5", code: "BBOX_TOO_LARGE"},
		{in: "-180,-90,180,90", code: "BBOX_TOO_LARGE"},
	}
	for _, tt := range tests {
		got, err := geo.ParseBBox(tt.in)
		if tt.code != "" {
			require.Error(t, err, "%q", tt.in)
			assert.Contains(t, err.Error(), tt.code, "%q", tt.in)
			continue
		}
		require.NoError(t, err, "%q", tt.in)
		assert.Equal(t, tt.want, got, "%q", tt.in)
		assert.Equal(t, tt.crosses, got.Crosses(), "%q", tt.in)
	}
}

func TestViewportHTTP(t *testing.T) {
	reset(t)
	e := newEnv(t, envOpts{})
	e.waitReady(t)
	ctx := context.Background()
	owner := newMember(t, auth.Owner, "")
	// Three stores in Hongdae, one with two events (one sold out through
	// the gate), one with none; two either side of the antimeridian; one
	// at 0°, 0°.
	a := e.newStore(t, owner, "홍대 A", "CAFE", 37.5563, 126.9236)
	b := e.newStore(t, owner, "홍대 B", "BAR", 37.5570, 126.9250)
	c := e.newStore(t, owner, "홍대 C", "FOOD", 37.5550, 126.9220)
	e.newEvent(t, owner, a.ID, "A1", 10, nil)
	soldOut := e.newEvent(t, owner, a.ID, "A2", 1, nil)
	e.newEvent(t, owner, b.ID, "B1", 5, nil)
	cust := newMember(t, auth.Customer, "")
	_, err := e.issue.Issue(ctx, auth.Principal{MemberID: cust, Role: auth.Customer}, soldOut.ID, geo.Point{Lat: 37.5563, Lng: 126.9236})
	require.NoError(t, err)
	east := e.newStore(t, owner, "Fiji east", "ETC", 10, 179.95)
	west := e.newStore(t, owner, "Fiji west", "ETC", 10, -179.95)
	e.newStore(t, owner, "Null Island", "ETC", 0, 0)

	t.Run("json", func(t *testing.T) {
		r := e.do(t, http.MethodGet, "/api/v1/stores?bbox=126.91,37.55,126.94,37.56&zoom=16", "", "", nil)
		require.Equal(t, http.StatusOK, r.status, "%s", r)
		var v geo.Viewport
		require.NoError(t, json.Unmarshal(r.body, &v))
		assert.False(t, v.Clustered)
		assert.Empty(t, v.Clusters)
		byID := map[int64]geo.ViewportStore{}
		for _, it := range v.Items {
			byID[it.ID] = it
		}
		require.Len(t, byID, 3)
		assert.Equal(t, geo.ViewportStore{StoreBrief: geo.StoreBrief{ID: a.ID, Name: "홍대 A", Category: "CAFE", Lat: 37.5563, Lng: 126.9236, Address: a.Address},
			EventCount: 1, Remaining: 10}, byID[a.ID], "the sold-out event does not count")
		assert.Equal(t, 1, byID[b.ID].EventCount)
		assert.Zero(t, byID[c.ID].EventCount)
	})

	t.Run("geojson", func(t *testing.T) {
		r := e.do(t, http.MethodGet, "/api/v1/stores?bbox=126.91,37.55,126.94,37.56&zoom=16", "", "", map[string]string{"Accept": "application/geo+json"})
		require.Equal(t, http.StatusOK, r.status, "%s", r)
		assert.Equal(t, "application/geo+json", r.header.Get("Content-Type"))
		fc := validGeoJSON(t, r.body)
		features := fc["features"].([]any)
		require.Len(t, features, 3)
		want := map[int64][2]float64{a.ID: {126.9236, 37.5563}, b.ID: {126.9250, 37.5570}, c.ID: {126.9220, 37.5550}}
		for _, f := range features {
			feat := f.(map[string]any)
			props := feat["properties"].(map[string]any)
			id := int64(feat["id"].(float64))
			assert.Equal(t, feat["id"], props["store_id"], "feature id = properties.store_id")
			coords := feat["geometry"].(map[string]any)["coordinates"].([]any)
			assert.Equal(t, []any{want[id][0], want[id][1]}, coords, "store %d: [lng, lat]", id)
			assert.Equal(t, false, props["cluster"])
			assert.Contains(t, props, "event_count")
			assert.Contains(t, props, "name")
		}
	})

	t.Run("antimeridian", func(t *testing.T) {
		for _, accept := range []string{"", "application/geo+json"} {
			r := e.do(t, http.MethodGet, "/api/v1/stores?bbox=179.9,9.9,-179.9,10.1&zoom=15", "", "", map[string]string{"Accept": accept})
			require.Equal(t, http.StatusOK, r.status, "%s", r)
			var ids []int64
			if accept == "" {
				var v geo.Viewport
				require.NoError(t, json.Unmarshal(r.body, &v))
				for _, it := range v.Items {
					ids = append(ids, it.ID)
				}
			} else {
				fc := validGeoJSON(t, r.body)
				assert.Equal(t, []any{179.9, 9.9, -179.9, 10.1}, fc["bbox"], "the bbox crosses the antimeridian, west > east")
				for _, f := range fc["features"].([]any) {
					ids = append(ids, int64(f.(map[string]any)["id"].(float64)))
				}
			}
			assert.ElementsMatch(t, []int64{east.ID, west.ID}, ids)
		}
	})

	t.Run("category", func(t *testing.T) {
		r := e.do(t, http.MethodGet, "/api/v1/stores?bbox=126.91,37.55,126.94,37.56&zoom=16&category=BAR", "", "", nil)
		require.Equal(t, http.StatusOK, r.status, "%s", r)
		var v geo.Viewport
		require.NoError(t, json.Unmarshal(r.body, &v))
		require.Len(t, v.Items, 1)
		assert.Equal(t, b.ID, v.Items[0].ID)
		// Clustered too: the grid counts only that category.
		r = e.do(t, http.MethodGet, "/api/v1/stores?bbox=126.91,37.55,126.94,37.56&zoom=3&category=FOOD", "", "", nil)
		require.Equal(t, http.StatusOK, r.status, "%s", r)
		require.NoError(t, json.Unmarshal(r.body, &v))
		assert.True(t, v.Clustered)
		require.Len(t, v.Items, 1, "a cell of one is its store")
		assert.Equal(t, c.ID, v.Items[0].ID)
	})

	t.Run("bad input", func(t *testing.T) {
		tests := []struct{ query, code string }{
			{"", "INVALID_BBOX"},
			{"bbox=1,2,3", "INVALID_BBOX"},
			{"bbox=126,38,127,37", "INVALID_BBOX"},
			{"bbox=127,37,127,38", "EMPTY_BBOX"},
			{"bbox=100,30,120,40", "BBOX_TOO_LARGE"},
			{"bbox=126,37,127,38&zoom=23", "VALIDATION_FAILED"},
			{"bbox=126,37,127,38&zoom=x", "VALIDATION_FAILED"},
			{"bbox=126,37,127,38&category=CASINO", "VALIDATION_FAILED"},
		}
		for _, tt := range tests {
			r := e.do(t, http.MethodGet, "/api/v1/stores?"+tt.query, "", "", nil)
			assert.Equal(t, http.StatusBadRequest, r.status, "%s: %s", tt.query, r)
			assert.Equal(t, tt.code, r.code(), "%s: %s", tt.query, r)
		}
	})
}

// At low zoom the stores of a city come back as clusters whose counts add
// up to the stores in the box, and no answer is ever larger than the
// bound, at any zoom.
func TestViewportClusters(t *testing.T) {
	reset(t)
	e := newEnv(t, envOpts{geo: geo.Options{MaxPoints: 200}})
	seed(t, e, rand.New(rand.NewPCG(11, 12)), 3000, seoulPoint)
	ctx := context.Background()
	box := geo.BBox{MinLng: 126.85, MinLat: 37.45, MaxLng: 127.15, MaxLat: 37.65}
	var inBox int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM stores WHERE deleted_at IS NULL
		AND location::geometry && ST_MakeEnvelope(126.85, 37.45, 127.15, 37.65, 4326)`).Scan(&inBox))

	for zoom := 0; zoom <= 22; zoom++ {
		v, err := e.geo.Viewport(ctx, geo.ViewportQuery{Box: box, Zoom: zoom})
		require.NoError(t, err)
		features := len(v.Items) + len(v.Clusters)
		assert.LessOrEqual(t, features, 25*25, "zoom %d: bounded", zoom)
		total := len(v.Items)
		for _, c := range v.Clusters {
			assert.GreaterOrEqual(t, c.Count, 2, "zoom %d: a cluster of one is its store", zoom)
			assert.LessOrEqual(t, c.WithCoupons, c.Count)
			assert.True(t, c.Lat >= box.MinLat && c.Lat <= box.MaxLat && c.Lng >= box.MinLng && c.Lng <= box.MaxLng,
				"zoom %d: cluster inside the box", zoom)
			total += c.Count
		}
		assert.Equal(t, inBox, total, "zoom %d: every store is in a cluster or a point", zoom)
		assert.True(t, v.Clustered, "zoom %d: 3000 stores in view are clustered", zoom)

		fc, err := v.GeoJSON(box)
		require.NoError(t, err)
		doc, err := json.Marshal(fc)
		require.NoError(t, err)
		parsed := validGeoJSON(t, doc)
		for _, f := range parsed["features"].([]any) {
			feat := f.(map[string]any)
			props := feat["properties"].(map[string]any)
			if props["cluster"] == true {
				assert.NotContains(t, feat, "id", "clusters have no store id")
				assert.GreaterOrEqual(t, props["count"], 2.0)
			} else {
				assert.Equal(t, feat["id"], props["store_id"])
			}
		}
	}

	// Zoomed in far enough, a few stores come back as points.
	small := geo.BBox{MinLng: 126.9230, MinLat: 37.5558, MaxLng: 126.9242, MaxLat: 37.5568}
	v, err := e.geo.Viewport(ctx, geo.ViewportQuery{Box: small, Zoom: 18})
	require.NoError(t, err)
	assert.False(t, v.Clustered)
	for _, it := range v.Items {
		assert.True(t, it.Lat >= small.MinLat && it.Lat <= small.MaxLat && it.Lng >= small.MinLng && it.Lng <= small.MaxLng)
	}
	assert.Equal(t, 12, box.DefaultZoom(), "Seoul fills a 1024-pixel map at zoom 12")
}

func TestAreasGeoJSON(t *testing.T) {
	e := newEnv(t, envOpts{noRun: true})
	fc, err := e.geo.AreasGeoJSON(context.Background())
	require.NoError(t, err)
	doc, err := json.Marshal(fc)
	require.NoError(t, err)
	parsed := validGeoJSON(t, doc)
	var slugs []string
	for _, f := range parsed["features"].([]any) {
		feat := f.(map[string]any)
		assert.Equal(t, "Polygon", feat["geometry"].(map[string]any)["type"])
		slugs = append(slugs, feat["properties"].(map[string]any)["slug"].(string))
	}
	assert.Equal(t, []string{"hongdae", "gangnam-station", "jamsil", "myeongdong", "seongsu"}, slugs)
}
