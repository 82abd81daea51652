package search

import (
	"math"
	"testing"
)

// hits builds a ranked list of store ids a=1, b=2, …; scores fall with
// rank: 10, 8, 6, …
func hits(ids ...string) []hit {
	out := make([]hit, len(ids))
	for i, id := range ids {
		out[i].Score = float64(10 - 2*i)
		out[i].Fields.StoreID = []int64{int64(id[0]-'a') + 1}
	}
	return out
}

func scores(cs []candidate) map[string]float64 {
	out := map[string]float64{}
	for _, c := range cs {
		out[string(rune('a'+c.id-1))] = c.score
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

func TestContenders(t *testing.T) {
	cands := func(scores ...float64) []candidate {
		out := make([]candidate, len(scores))
		for i, s := range scores {
			out[i] = candidate{id: int64(i + 1), score: s}
		}
		return out
	}
	tests := []struct {
		name   string
		scores []float64
		limit  int
		boost  float64
		want   int
	}{
		{"fewer than a page", []float64{9, 8}, 5, 0.1, 2},
		// The 2nd score is 8; 8/1.1 = 7.27: 7.5 can still pass it, 7 not;
		// plus five spares.
		{"boost reach plus spares", []float64{9, 8, 7.5, 7, 6, 5, 4, 3, 2, 1, 0.5}, 2, 0.1, 8},
		{"no boost", []float64{9, 8, 8, 7, 6, 5, 4, 3, 2, 1}, 2, -1, 8},
		{"spares capped by the list", []float64{9, 8, 7}, 2, 0.1, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := len(contenders(cands(tt.scores...), tt.limit, tt.boost)); got != tt.want {
				t.Errorf("kept %d, want %d", got, tt.want)
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
