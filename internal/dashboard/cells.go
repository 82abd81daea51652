package dashboard

import (
	"fmt"
	"slices"

	"github.com/RoaringBitmap/roaring/v2/roaring64"
)

// members counts distinct and repeat members over any number of cells
// exactly. A member is a repeat member of a window when they took two
// coupons in one cell (in that cell's twice set) or appear in two cells;
// the second case is found by intersecting each cell with the members seen
// in the cells before it. Order does not matter.
//
// Member ids are dense small integers, so a day of a busy store is a few
// bitmap containers of 8 KiB, and a 30-day window is ~30 ORs of those.
type members struct {
	seen, repeat *roaring64.Bitmap
}

func newMembers() *members {
	return &members{seen: roaring64.New(), repeat: roaring64.New()}
}

// addCell merges one cell's two sets.
func (m *members) addCell(once, twice *roaring64.Bitmap) {
	m.repeat.Or(twice)
	m.repeat.Or(roaring64.And(m.seen, once))
	m.seen.Or(once)
}

// addOne records one coupon of member id (a delta not folded yet).
func (m *members) addOne(id int64) {
	if !m.seen.CheckedAdd(uint64(id)) {
		m.repeat.Add(uint64(id))
	}
}

func (m *members) unique() int64  { return int64(m.seen.GetCardinality()) }
func (m *members) repeats() int64 { return int64(m.repeat.GetCardinality()) }

// cell is one stored (store, grain, start) row of dashboard_cells while the
// folder changes it.
type cell struct {
	once, twice *roaring64.Bitmap
	hist        histogram
}

func newCell() *cell {
	return &cell{once: roaring64.New(), twice: roaring64.New(), hist: histogram{}}
}

// addMember records one more coupon of id in this cell.
func (c *cell) addMember(id int64) {
	if !c.once.CheckedAdd(uint64(id)) {
		c.twice.Add(uint64(id))
	}
}

func decodeBitmap(b []byte) (*roaring64.Bitmap, error) {
	bm := roaring64.New()
	if len(b) == 0 {
		return bm, nil
	}
	if err := bm.UnmarshalBinary(b); err != nil {
		return nil, fmt.Errorf("decode member bitmap: %w", err)
	}
	return bm, nil
}

// encodeBitmap stores bm as it is. No RunOptimize: member ids of a cell are
// scattered, runs save little, and ORing run containers into the window's
// sets on every read cost more than the bytes saved.
func encodeBitmap(bm *roaring64.Bitmap) ([]byte, error) {
	b, err := bm.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("encode member bitmap: %w", err)
	}
	return b, nil
}

// histogram counts uses by whole minutes from issue to use. Counts are
// signed while deltas are merged (a cancel-use takes one back); a stored
// histogram has only positive counts.
type histogram map[int32]int64

// addArrays adds a stored histogram (parallel arrays).
func (h histogram) addArrays(minutes, counts []int32) {
	for i, m := range minutes {
		h[m] += int64(counts[i])
	}
}

// arrays returns the non-zero entries as parallel arrays, minutes
// ascending, for storage.
func (h histogram) arrays() (minutes, counts []int32) {
	minutes = make([]int32, 0, len(h))
	for m, n := range h {
		if n != 0 {
			minutes = append(minutes, m)
		}
	}
	slices.Sort(minutes)
	counts = make([]int32, len(minutes))
	for i, m := range minutes {
		counts[i] = int32(h[m])
	}
	return minutes, counts
}

// median is the median of the recorded minutes with PostgreSQL's
// percentile_cont(0.5) semantics (the mean of the two middle values when
// the count is even), or nil when nothing was used.
func (h histogram) median() *float64 {
	keys := make([]int32, 0, len(h))
	var n int64
	for m, c := range h {
		if c > 0 {
			keys = append(keys, m)
			n += c
		}
	}
	if n == 0 {
		return nil
	}
	slices.Sort(keys)
	// at returns the value of 0-based rank r.
	at := func(r int64) float64 {
		for _, k := range keys {
			if r < h[k] {
				return float64(k)
			}
			r -= h[k]
		}
		return float64(keys[len(keys)-1])
	}
	v := at((n - 1) / 2)
	if n%2 == 0 {
		v = (v + at(n/2)) / 2
	}
	return &v
}
