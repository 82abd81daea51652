package search_test

import (
	"context"
	"math"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/couponpop/couponpop/internal/geo"
	"github.com/couponpop/couponpop/internal/search"
)

// offset returns the point d metres from p at bearing deg (0 = north),
// on a sphere: accurate to well under a metre at these distances.
func offset(p geo.Point, d, deg float64) geo.Point {
	const r = 6_371_008.8
	br := deg * math.Pi / 180
	lat1, lng1 := p.Lat*math.Pi/180, p.Lng*math.Pi/180
	lat2 := math.Asin(math.Sin(lat1)*math.Cos(d/r) + math.Cos(lat1)*math.Sin(d/r)*math.Cos(br))
	lng2 := lng1 + math.Atan2(math.Sin(br)*math.Sin(d/r)*math.Cos(lat1), math.Cos(d/r)-math.Sin(lat1)*math.Sin(lat2))
	return geo.Point{Lat: lat2 * 180 / math.Pi, Lng: lng2 * 180 / math.Pi}
}

// TestGeoFilter puts stores at known distances around a point on Jeju (far
// from every other test store) and checks that every mode returns exactly
// those inside the radius, with distance_m geodesic like the rest of the
// API. Radii keep 10 % away from every store, as the filter uses a sphere
// and distance_m the WGS84 ellipsoid (they differ by up to 0.5 %).
func TestGeoFilter(t *testing.T) {
	centre := geo.Point{Lat: 33.4996, Lng: 126.5312}
	tok := token()
	placed := map[int64]float64{} // store id → metres from centre
	for i, d := range []float64{120, 300, 450, 560, 900, 1800, 4000} {
		p := offset(centre, d, float64(i)*51)
		st := createStore(t, "제주 카페 "+tok, "CAFE", "바다가 보이는 카페", p.Lat, p.Lng)
		placed[st.ID] = d
	}
	ix, svc := newIndex(t, "geo")
	_ = ix

	tests := []struct {
		radius float64
		want   int // stores inside
	}{
		{200, 1}, {500, 3}, {1000, 5}, {2500, 6}, {10_000, 7},
	}
	for _, mode := range []search.Mode{search.BM25, search.KNN, search.Hybrid} {
		for _, tt := range tests {
			res, err := svc.Search(context.Background(), search.Request{
				Text: "제주 카페 " + tok, Mode: mode, Near: &centre, RadiusM: tt.radius, Limit: 50,
			})
			require.NoError(t, err)
			var got []float64
			for _, it := range res.Items {
				d, ok := placed[it.Store.ID]
				require.True(t, ok, "%s r=%v: store %d (%s) is not one of ours", mode, tt.radius, it.Store.ID, it.Store.Name)
				require.NotNil(t, it.DistanceM)
				want := geo.Distance(centre, geo.Point{Lat: it.Store.Lat, Lng: it.Store.Lng})
				assert.InDelta(t, want, *it.DistanceM, 1e-6)
				assert.InEpsilon(t, d, *it.DistanceM, 0.006, "distance_m of the store placed at %v m", d)
				got = append(got, d)
			}
			sort.Float64s(got)
			assert.Len(t, got, tt.want, "%s within %v m: got stores at %v", mode, tt.radius, got)
			for _, d := range got {
				assert.Less(t, d, tt.radius)
			}
		}
	}

	t.Run("distance without a radius", func(t *testing.T) {
		res, err := svc.Search(context.Background(), search.Request{Text: tok, Mode: search.BM25, Near: &centre})
		require.NoError(t, err)
		require.Len(t, res.Items, len(placed))
		for _, it := range res.Items {
			require.NotNil(t, it.DistanceM)
		}
		res, err = svc.Search(context.Background(), search.Request{Text: tok, Mode: search.BM25})
		require.NoError(t, err)
		for _, it := range res.Items {
			assert.Nil(t, it.DistanceM, "no distance without a position")
		}
	})
}
