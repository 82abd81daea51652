package corpus

import (
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite testdata/search/qrels.tsv")

const (
	queriesPath = "../../../testdata/search/queries.json"
	qrelsPath   = "../../../testdata/search/qrels.tsv"
)

// TestGenerateDeterministic: the same seed gives the same stores, and store
// i does not depend on the corpus size (the relevance corpus is a prefix of
// the benchmark's).
func TestGenerateDeterministic(t *testing.T) {
	a, b := Generate(300, 1), Generate(500, 1)
	require.Equal(t, a, b[:300])
	c := Generate(300, 2)
	assert.NotEqual(t, a[0].Name+a[1].Name+a[2].Name, c[0].Name+c[1].Name+c[2].Name)
	for _, s := range a {
		assert.NotEmpty(t, s.Name)
		assert.NotEmpty(t, s.Address)
		assert.InDelta(t, 37.5, s.Lat, 0.3)
		assert.InDelta(t, 127.0, s.Lng, 0.3)
		assert.False(t, slices.Contains(s.Attrs, "cheap") && slices.Contains(s.Attrs, "premium"), "%s is both cheap and premium", s.Name)
	}
}

func TestGrade(t *testing.T) {
	cafe := Store{Kind: "coffee", Category: "CAFE", Area: "hongdae", Attrs: []string{"quiet", "study"}}
	chain := Store{Kind: "coffee", Category: "CAFE", Area: "gangnam", Brand: "starbucks"}
	tests := []struct {
		name string
		in   Intent
		s    Store
		want int
	}{
		{"category and every quality", Intent{Category: "CAFE", Attrs: []string{"quiet", "study"}}, cafe, 3},
		{"half the qualities", Intent{Category: "CAFE", Attrs: []string{"quiet", "cheap"}}, cafe, 2},
		{"right kind only", Intent{Category: "CAFE", Attrs: []string{"cheap", "late", "pet"}}, cafe, 1},
		{"wrong category", Intent{Category: "FOOD"}, cafe, 0},
		{"kind in area", Intent{Kinds: []string{"coffee"}, Area: "hongdae"}, cafe, 3},
		{"kind elsewhere", Intent{Kinds: []string{"coffee"}, Area: "gangnam"}, cafe, 1},
		{"qualities only, one met", Intent{Attrs: []string{"study", "date", "view"}}, cafe, 1},
		{"qualities only, none met", Intent{Attrs: []string{"date"}}, cafe, 0},
		{"chain", Intent{Brand: "starbucks"}, chain, 3},
		{"chain elsewhere", Intent{Brand: "starbucks", Area: "hongdae"}, chain, 1},
		{"not the chain", Intent{Brand: "starbucks"}, cafe, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Grade(tt.in, tt.s); got != tt.want {
				t.Errorf("Grade(%+v) = %d, want %d", tt.in, got, tt.want)
			}
		})
	}
}

// TestQrelsGolden keeps testdata/search/qrels.tsv, the judgments of every
// query over the 2,000-store relevance corpus, in step with the generator
// and the queries. Refresh with -update after changing either.
func TestQrelsGolden(t *testing.T) {
	qs, err := LoadQueries(queriesPath)
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(qs), 60)
	stores := Generate(RelevanceSize, RelevanceSeed)
	var b strings.Builder
	b.WriteString("# query\tgrade\tstore numbers (0-based positions in corpus.Generate(2000, 1))\n")
	for _, q := range qs {
		byGrade := map[int][]string{}
		for i, s := range stores {
			if g := Grade(q.Intent, s); g > 0 {
				byGrade[g] = append(byGrade[g], fmt.Sprint(i))
			}
		}
		if len(byGrade[3]) < 3 {
			t.Errorf("query %s (%s) has %d perfect answers in the corpus, want >= 3", q.ID, q.Text, len(byGrade[3]))
		}
		for g := 3; g >= 1; g-- {
			if len(byGrade[g]) > 0 {
				fmt.Fprintf(&b, "%s\t%d\t%s\n", q.ID, g, strings.Join(byGrade[g], " "))
			}
		}
	}
	if *update {
		require.NoError(t, os.WriteFile(qrelsPath, []byte(b.String()), 0o644))
	}
	want, err := os.ReadFile(qrelsPath)
	require.NoError(t, err, "run: go test ./internal/search/corpus -run TestQrelsGolden -update")
	assert.Equal(t, string(want), b.String(), "judgments changed; review and rerun with -update")
}
