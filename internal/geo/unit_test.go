package geo

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSummaryRoundTrip(t *testing.T) {
	tests := []summary{
		{},
		{lat: 37.5563, lng: 126.9236, category: "CAFE", name: "홍대 커피", address: "서울 마포구 양화로 1"},
		{lat: -33.9, lng: -179.99999, category: "BAR", name: "a\x1fb\x1e\"c\x00", address: "",
			events: []cachedEvent{
				{id: 1, starts: 1_700_000_000_000_000, ends: 1_700_003_600_000_000, remaining: 100, discountType: "AMOUNT", discountValue: 1000, title: "천원 할인"},
				{id: math.MaxInt64, starts: -5, ends: 0, remaining: 0, discountType: "PERCENT", discountValue: 100, title: ""},
			}},
	}
	for _, want := range tests {
		got, err := decodeSummary(string(want.encode(nil)))
		require.NoError(t, err)
		if want.events == nil {
			want.events = []cachedEvent{}
		}
		assert.Equal(t, want, got)
	}
}

func TestDecodeSummaryRejectsGarbage(t *testing.T) {
	good := (&summary{name: "x", events: []cachedEvent{{id: 1, title: "t"}}}).encode(nil)
	tests := map[string][]byte{
		"empty":           nil,
		"wrong version":   append([]byte{9}, good[1:]...),
		"truncated":       good[:len(good)-1],
		"trailing":        append(append([]byte{}, good...), 0),
		"huge count":      append(append([]byte{}, good[:1+16+3]...), 0xff, 0xff, 0xff, 0xff, 0x0f),
		"varint too long": append(append([]byte{}, good[:1+16]...), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01),
	}
	for name, b := range tests {
		_, err := decodeSummary(string(b))
		assert.ErrorIs(t, err, errBadSummary, name)
	}
}

// The hand-written nearby encoding must be exactly what encoding/json
// writes for the same value.
func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	strs := []string{"", "plain", "홍대 커피", `quote " back \ slash`, "<b>&amp;</b>", "tab\tnl\ncr\r",
		"\x00\x01\x1f\b\f", "\u2028\u2029", "bad \xff utf8 \xc3", "emoji 🍩", "\u007f"}
	floats := []float64{0, 1, -1, 0.5, 37.5563, 126.9236, 1e-7, -1e-7, 123456.789, 1e21, 19999.999, 0.001, 5e-324}
	r := rand.New(rand.NewPCG(1, 2))
	ends := time.Date(2026, 5, 1, 12, 30, 0, 123456000, time.UTC)
	var n Nearby
	for i := range 200 {
		it := NearbyItem{
			Store: StoreBrief{ID: int64(i), Name: strs[r.IntN(len(strs))], Category: "CAFE",
				Lat: floats[r.IntN(len(floats))], Lng: r.Float64()*360 - 180, Address: strs[r.IntN(len(strs))]},
			DistanceM: roundMM(r.Float64() * 20000),
		}
		for j := range r.IntN(3) + 1 {
			it.Events = append(it.Events, EventBrief{ID: int64(j), Title: strs[r.IntN(len(strs))], DiscountType: "PERCENT",
				DiscountValue: r.IntN(100), Remaining: r.IntN(1e6), IssueEndsAt: ends.Add(time.Duration(j) * time.Second)})
		}
		n.Items = append(n.Items, it)
	}
	for _, tt := range []Nearby{{Items: []NearbyItem{}}, n} {
		want, err := json.Marshal(struct {
			Items []NearbyItem `json:"items"`
		}{tt.Items})
		require.NoError(t, err)
		got := tt.AppendJSON(nil)
		if string(got) != string(want) {
			for i := range min(len(got), len(want)) {
				if got[i] != want[i] {
					t.Fatalf("differs at byte %d:\n got %s\nwant %s", i, got[max(0, i-60):min(len(got), i+60)], want[max(0, i-60):min(len(want), i+60)])
				}
			}
			t.Fatalf("lengths differ: got %d, want %d", len(got), len(want))
		}
	}
}

// redisDistance is Redis GEO's distance: haversine on a sphere of radius
// 6372797.560856 m.
func redisDistance(a, b Point) float64 {
	return Haversine(a, b) * 6372797.560856 / 6371008.8
}

// The completeness argument of the Redis path rests on these bounds
// between Redis' spherical distance and the WGS84 geodesic, everywhere
// Redis GEO can index, at every distance nearby asks about.
func TestRedisDistanceBounds(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	lo, hi := math.Inf(1), math.Inf(-1)
	for range 200_000 {
		a := Point{Lat: r.Float64()*170 - 85, Lng: r.Float64()*360 - 180}
		// A destination up to ~25 km away in a random direction.
		dLat := (r.Float64()*2 - 1) * 0.23
		dLng := (r.Float64()*2 - 1) * 0.23 / math.Max(0.05, math.Cos(a.Lat*math.Pi/180))
		b := Point{Lat: math.Max(-85, math.Min(85, a.Lat+dLat)), Lng: math.Mod(a.Lng+dLng+540, 360) - 180}
		rd := redisDistance(a, b)
		if rd < 1 {
			continue
		}
		ratio := Distance(a, b) / rd
		lo, hi = math.Min(lo, ratio), math.Max(hi, ratio)
	}
	t.Logf("geodesic / redis distance in [%.5f, %.5f]", lo, hi)
	assert.GreaterOrEqual(t, lo, lowFactor, "the lower bound the completeness check uses")
	assert.LessOrEqual(t, 1/lo, searchFactor, "the search circle must cover the asked one")
	assert.LessOrEqual(t, hi, 1/lowFactor)
}

func TestRoundMM(t *testing.T) {
	tests := []struct{ in, want float64 }{{0, 0}, {1.0004, 1}, {1.0006, 1.001}, {999.9995, 1000}, {12.3456789, 12.346}}
	for _, tt := range tests {
		assert.Equal(t, tt.want, roundMM(tt.in), "roundMM(%v)", tt.in)
	}
}

func TestDensityHints(t *testing.T) {
	var h densityHints
	p := Point{Lat: 37.5563, Lng: 126.9236}
	assert.Equal(t, 50.0, h.firstRadius(p, "", 27, 50, 1009), "nothing learned: the default")
	// 27 stores within 200 m: ~215 stores per km².
	h.observe(p, "", 27, 27, 400, 200)
	got := h.firstRadius(Point{Lat: p.Lat + 0.001, Lng: p.Lng}, "", 27, 50, 1009)
	assert.InDelta(t, 1.15*200, got, 1, "same cell: the circle that held 27 stores, a little larger")
	assert.Equal(t, 50.0, h.firstRadius(p, "CAFE", 27, 50, 1009), "categories learn apart")
	assert.Equal(t, 100.0, h.firstRadius(p, "", 27, 50, 100), "never beyond the last radius")
	// Nothing found within 50 m: the density estimate falls, the next
	// circle grows.
	h.observe(p, "BAR", 27, 0, 50, 50)
	assert.Greater(t, h.firstRadius(p, "BAR", 27, 50, 1009), 100.0)

	// Points from all over the world cannot grow the hints without bound.
	for i := range maxHints + 1000 {
		h.observe(Point{Lat: float64(i%170) - 85, Lng: float64(i/170)*0.01 - 180}, "", 27, 27, 100, 50)
	}
	assert.Equal(t, int64(maxHints), h.n.Load())
}

func TestSplitMember(t *testing.T) {
	id, sum, ok := splitMember("42\x00\x01abc\x00def")
	assert.True(t, ok)
	assert.Equal(t, int64(42), id)
	assert.Equal(t, "\x01abc\x00def", sum)
	for _, bad := range []string{"_", "", "x\x00y", "\x00"} {
		_, _, ok := splitMember(bad)
		assert.False(t, ok, "%q", bad)
	}
}

// Whatever is in Redis, decoding never panics, and what decodes encodes
// back to the same bytes.
func FuzzDecodeSummary(f *testing.F) {
	f.Add((&summary{lat: 37.5, lng: 127, category: "CAFE", name: "n", events: []cachedEvent{{id: 1, title: "t"}}}).encode(nil))
	f.Add([]byte{1})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := decodeSummary(string(b))
		if err != nil {
			return
		}
		if got := s.encode(nil); string(got) != string(b) && !math.IsNaN(s.lat) && !math.IsNaN(s.lng) {
			// Varints have one shortest form; a longer one decodes the same.
			again, err := decodeSummary(string(got))
			require.NoError(t, err)
			assert.Equal(t, s, again)
		}
	})
}

// The package's TestMain (a database per package) keeps `go test -fuzz`
// from running here, so the decoder also meets a few hundred thousand
// random mutations of a real summary in every run.
func TestDecodeSummaryMutations(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	good := (&summary{lat: 37.5, lng: 127, category: "CAFE", name: "가게", address: "서울",
		events: []cachedEvent{{id: 1, starts: 2, ends: 3, remaining: 4, discountType: "AMOUNT", discountValue: 5, title: "쿠폰"}}}).encode(nil)
	for range 300_000 {
		b := append([]byte{}, good...)
		for range 1 + r.IntN(4) {
			switch r.IntN(3) {
			case 0:
				b[r.IntN(len(b))] = byte(r.IntN(256))
			case 1:
				b = b[:r.IntN(len(b))]
			default:
				b = append(b, byte(r.IntN(256)))
			}
			if len(b) == 0 {
				break
			}
		}
		_, _ = decodeSummary(string(b)) // must not panic
	}
}
