package search

import (
	"math"
	"testing"
	"time"
)

func hits(ids ...string) []hit {
	out := make([]hit, len(ids))
	for i, id := range ids {
		// Scores fall with rank: 10, 8, 6, …
		out[i] = hit{ID: id, Score: float64(10 - 2*i), Source: source{Name: id}}
	}
	return out
}

func scores(cs []candidate) map[string]float64 {
	out := map[string]float64{}
	for _, c := range cs {
		out[c.src.Name] = c.score
	}
	return out
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-12 }

func TestFuseRRF(t *testing.T) {
	got := scores(fuseRRF(hits("a", "b", "c"), hits("c", "d"), 60))
	want := map[string]float64{
		"a": 1.0 / 61,
		"b": 1.0 / 62,
		"c": 1.0/63 + 1.0/61, // third in one list, first in the other
		"d": 1.0 / 62,
	}
	for id, w := range want {
		if !near(got[id], w) {
			t.Errorf("rrf %s = %.6f, want %.6f", id, got[id], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("rrf fused %d stores, want %d", len(got), len(want))
	}
}

func TestFuseConvex(t *testing.T) {
	tests := []struct {
		name      string
		bm25, knn []hit
		alpha     float64
		want      map[string]float64
	}{
		{
			name: "both lists", bm25: hits("a", "b", "c"), knn: hits("c", "a"), alpha: 0.3,
			// bm25 normalized: a 1, b .5, c 0; knn: c 1, a 0.
			want: map[string]float64{"a": 0.3, "b": 0.15, "c": 0.7},
		},
		{
			name: "one hit per list is worth the full weight", bm25: hits("a"), knn: hits("b"), alpha: 0.4,
			want: map[string]float64{"a": 0.4, "b": 0.6},
		},
		{
			name: "empty knn", bm25: hits("a", "b"), knn: nil, alpha: 0.3,
			want: map[string]float64{"a": 0.3, "b": 0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := scores(fuseConvex(tt.bm25, tt.knn, tt.alpha))
			if len(got) != len(tt.want) {
				t.Fatalf("fused %v, want %v", got, tt.want)
			}
			for id, w := range tt.want {
				if !near(got[id], w) {
					t.Errorf("%s = %.4f, want %.4f", id, got[id], w)
				}
			}
		})
	}
}

func TestIssuableEvents(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	ev := func(id int64, start, end time.Duration, total, issued int) EventDoc {
		return EventDoc{ID: id, Title: "e", TotalQuantity: total, IssuedCount: issued,
			IssueStartsAt: now.Add(start), IssueEndsAt: now.Add(end)}
	}
	evs := []EventDoc{
		ev(1, -time.Hour, time.Hour, 10, 3),    // open
		ev(2, time.Hour, 2*time.Hour, 10, 0),   // not yet
		ev(3, -2*time.Hour, -time.Hour, 10, 0), // over
		ev(4, -time.Hour, time.Hour, 10, 10),   // sold out per the index
		ev(5, -time.Hour, 0, 10, 0),            // ends exactly now: over
	}
	tests := []struct {
		name string
		live map[int64]liveEvent
		want map[int64]int // id → remaining
	}{
		{"index counts", nil, map[int64]int{1: 7}},
		{"live counts win", map[int64]liveEvent{
			1: {Status: "ACTIVE", Remaining: 0, StartsAt: now.Add(-time.Hour), EndsAt: now.Add(time.Hour)},        // sold out since
			4: {Status: "ACTIVE", Remaining: 2, StartsAt: now.Add(-time.Hour), EndsAt: now.Add(time.Hour)},        // canceled coupons
			2: {Status: "ACTIVE", Remaining: 10, StartsAt: now.Add(-time.Minute), EndsAt: now.Add(2 * time.Hour)}, // opened early
		}, map[int64]int{4: 2, 2: 10}},
		{"suspended", map[int64]liveEvent{
			1: {Status: "SUSPENDED", Remaining: 7, StartsAt: now.Add(-time.Hour), EndsAt: now.Add(time.Hour)},
		}, map[int64]int{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := map[int64]int{}
			for _, e := range issuableEvents(evs, tt.live, now) {
				got[e.ID] = e.Remaining
			}
			if len(got) != len(tt.want) {
				t.Fatalf("issuable %v, want %v", got, tt.want)
			}
			for id, r := range tt.want {
				if got[id] != r {
					t.Errorf("event %d remaining %d, want %d", id, got[id], r)
				}
			}
		})
	}
}

func TestParseMode(t *testing.T) {
	tests := []struct {
		in   string
		want Mode
		ok   bool
	}{
		{"", Hybrid, true}, {"hybrid", Hybrid, true}, {"bm25", BM25, true}, {"knn", KNN, true},
		{"BM25", "", false}, {"vector", "", false},
	}
	for _, tt := range tests {
		got, err := ParseMode(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseMode(%q) = %q, %v; want %q, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestEmbeddingText(t *testing.T) {
	d := Doc{Name: "달빛 커피", CategoryText: CategoryText("CAFE"), Description: "조용한 카페입니다.",
		Address: "서울 마포구 와우산로 1", EventText: "아메리카노 1+1"}
	want := "달빛 커피. 카페 커피 cafe coffee. 조용한 카페입니다. 서울 마포구 와우산로 1. 아메리카노 1+1"
	if got := d.EmbeddingText(); got != want {
		t.Errorf("EmbeddingText() = %q, want %q", got, want)
	}
}
