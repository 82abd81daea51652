package geo

import (
	"math"
	"sync"
	"sync/atomic"
)

// densityHints remember how many indexed stores there are per square
// metre around each ~1 km cell (per category), so that the hot path's
// first GEOSEARCH circle is about the right size and usually the last:
// GEOSEARCH scans every member of the geohash boxes around its circle
// whatever COUNT says, so a circle ten times too large costs ten times
// the Redis time, and one too small costs another search.
//
// A hint only chooses where to start; the completeness check never trusts
// it. Each API instance learns its own from its own answers.
type densityHints struct {
	m sync.Map // hintKey → *atomic.Uint64 (float64 bits: stores per m²)
	n atomic.Int64
}

// maxHints bounds the memory hints take (a few MiB) whatever points
// clients send: a city has a few thousand cells; past the bound, new cells
// start from the default radius.
const maxHints = 50_000

const hintCellDeg = 0.01 // ~1.1 km of latitude

type hintKey struct {
	lat, lng int32
	category string
}

func keyOf(p Point, category string) hintKey {
	return hintKey{lat: int32(math.Floor(p.Lat / hintCellDeg)), lng: int32(math.Floor(p.Lng / hintCellDeg)), category: category}
}

// firstRadius is where a search for count stores around p should start:
// the circle that holds count stores at the remembered density, with a
// little more for luck; def when nothing is remembered.
func (h *densityHints) firstRadius(p Point, category string, count int, def, last float64) float64 {
	v, ok := h.m.Load(keyOf(p, category))
	if !ok {
		return min(def, last)
	}
	dens := math.Float64frombits(v.(*atomic.Uint64).Load())
	if dens <= 0 {
		return min(def, last)
	}
	r := 1.15 * math.Sqrt(float64(count)/(math.Pi*dens))
	return max(10, min(r, last))
}

// observe learns from a search that returned hits stores (at most count),
// having searched a circle of searched metres; farthest is the Redis
// distance of the last hit.
func (h *densityHints) observe(p Point, category string, count, hits int, searched, farthest float64) {
	var dens float64
	switch {
	case hits >= count && farthest > 0:
		dens = float64(count) / (math.Pi * farthest * farthest)
	case hits > 0:
		dens = float64(hits) / (math.Pi * searched * searched)
	default:
		dens = 0.5 / (math.Pi * searched * searched)
	}
	k := keyOf(p, category)
	v, ok := h.m.Load(k)
	if !ok {
		if h.n.Load() >= maxHints {
			return
		}
		var loaded bool
		v, loaded = h.m.LoadOrStore(k, new(atomic.Uint64))
		if !loaded {
			h.n.Add(1)
		}
	}
	a := v.(*atomic.Uint64)
	old := math.Float64frombits(a.Load())
	if old > 0 {
		// A geometric moving average: densities span orders of magnitude.
		dens = math.Exp(0.7*math.Log(old) + 0.3*math.Log(dens))
	}
	a.Store(math.Float64bits(dens)) // a lost update between racing requests only makes a hint a little older
}
