package search_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opensearch-project/opensearch-go/v2/opensearchapi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/couponpop/couponpop/internal/search"
	"github.com/couponpop/couponpop/internal/store"
)

// osGet is a raw GET against the node, for checks the Go API does not
// expose.
func osGet(t *testing.T, path string, body any, out any) {
	t.Helper()
	var req *http.Request
	var err error
	if body == nil {
		req, err = http.NewRequest(http.MethodGet, path, nil)
	} else {
		b, _ := json.Marshal(body)
		req, err = http.NewRequest(http.MethodPost, path, strings.NewReader(string(b)))
		req.Header.Set("Content-Type", "application/json")
	}
	require.NoError(t, err)
	resp, err := testOS.Perform(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Less(t, resp.StatusCode, 300, path)
	require.NoError(t, json.NewDecoder(resp.Body).Decode(out))
}

func analyze(t *testing.T, index, analyzer, text string) []string {
	t.Helper()
	var res struct {
		Tokens []struct {
			Token string `json:"token"`
		} `json:"tokens"`
	}
	osGet(t, "/"+index+"/_analyze", map[string]any{"analyzer": analyzer, "text": text}, &res)
	var out []string
	for _, tk := range res.Tokens {
		out = append(out, tk.Token)
	}
	return out
}

// TestMapping checks the index as OpenSearch sees it: the analyzers, the
// lucene HNSW vector, the geo_point, the _source without vectors, the _meta
// that Ensure relies on.
func TestMapping(t *testing.T) {
	seedCorpus(t)
	ctx := context.Background()
	ix := search.NewIndexer(testDB, testOS, testEmb, search.IndexerOptions{Alias: runPrefix + "mapping"})
	rebuilt, err := ix.Ensure(ctx)
	require.NoError(t, err)
	assert.True(t, rebuilt, "a missing index is built")
	rebuilt, err = ix.Ensure(ctx)
	require.NoError(t, err)
	assert.False(t, rebuilt, "an up-to-date index is kept")

	var mappings map[string]struct {
		Mappings struct {
			Meta       map[string]any            `json:"_meta"`
			Source     map[string][]string       `json:"_source"`
			Properties map[string]map[string]any `json:"properties"`
		} `json:"mappings"`
	}
	osGet(t, "/"+ix.Alias()+"/_mapping", nil, &mappings)
	require.Len(t, mappings, 1, "the alias points at exactly one index")
	var index string
	for name, m := range mappings {
		index = name
		props := m.Mappings.Properties
		emb := props["embedding"]
		assert.Equal(t, "knn_vector", emb["type"])
		assert.EqualValues(t, search.Dims, emb["dimension"])
		method := emb["method"].(map[string]any)
		assert.Equal(t, "hnsw", method["name"])
		assert.Equal(t, "lucene", method["engine"])
		assert.Equal(t, "cosinesimil", method["space_type"])
		params := method["parameters"].(map[string]any)
		assert.Equal(t, "sq", params["encoder"].(map[string]any)["name"], "int8-quantized graph")
		assert.Equal(t, "geo_point", props["location"]["type"])
		assert.Equal(t, "korean", props["name"]["analyzer"])
		fields := props["name"]["fields"].(map[string]any)
		assert.Equal(t, "autocomplete", fields["ac"].(map[string]any)["analyzer"])
		assert.Equal(t, "english", fields["en"].(map[string]any)["analyzer"])
		assert.Equal(t, "keyword", props["category"]["type"])
		assert.NotContains(t, props, "events", "live event state comes from PostgreSQL")
		assert.Equal(t, []string{"embedding"}, m.Mappings.Source["excludes"])
		assert.EqualValues(t, search.MappingVersion, m.Mappings.Meta["mapping_version"])
		assert.Equal(t, testEmb.Name(), m.Mappings.Meta["embedder"])
		assert.Equal(t, "nori", m.Mappings.Meta["korean"])
	}

	t.Run("korean analyzer", func(t *testing.T) {
		got := analyze(t, index, "korean", "조용한 카페에서 커피를 마셨다 Starbucks 홍대입구역")
		for _, want := range []string{"조용", "카페", "커피", "마시", "starbucks", "홍대입구역", "홍대"} {
			assert.Contains(t, got, want)
		}
		for _, particle := range []string{"에서", "를", "한"} {
			assert.NotContains(t, got, particle)
		}
		assert.Contains(t, analyze(t, index, "korean", "가성비 좋은 스타벅스"), "가성비", "user dictionary")
	})
	t.Run("autocomplete analyzer", func(t *testing.T) {
		got := analyze(t, index, "autocomplete", "스타벅스 강남역점")
		assert.Subset(t, got, []string{"스", "스타", "스타벅스", "강", "강남"})
	})
	t.Run("documents carry no vector in _source", func(t *testing.T) {
		var res struct {
			Hits struct {
				Hits []struct {
					Source map[string]any `json:"_source"`
				} `json:"hits"`
			} `json:"hits"`
		}
		osGet(t, "/"+ix.Alias()+"/_search", map[string]any{"size": 5}, &res)
		require.NotEmpty(t, res.Hits.Hits)
		for _, h := range res.Hits.Hits {
			assert.NotContains(t, h.Source, "embedding")
			assert.Equal(t, true, h.Source["has_embedding"])
		}
	})
	t.Run("another model rebuilds", func(t *testing.T) {
		hashed := search.NewIndexer(testDB, testOS, search.Hashed{}, search.IndexerOptions{Alias: ix.Alias()})
		rebuilt, err := hashed.Ensure(ctx)
		require.NoError(t, err)
		assert.True(t, rebuilt, "vectors of two models must not share an index")
	})
}

// TestReindexAliasSwap rebuilds the index three times while four clients
// search without pause: not one search may fail or come back empty, and
// writes made during the rebuild must survive it.
func TestReindexAliasSwap(t *testing.T) {
	ix, svc := newIndex(t, "swap")
	ctx := context.Background()

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var total, failed, empty atomic.Int64
	var firstErr atomic.Value
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			queries := []search.Request{
				{Text: "카페", Mode: search.Hybrid, Limit: 10},
				{Text: "스타벅스", Mode: search.BM25, Limit: 10},
				{Text: "quiet cafe", Mode: search.KNN, Limit: 10},
			}
			for i := w; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				res, err := svc.Search(ctx, queries[i%len(queries)])
				total.Add(1)
				switch {
				case err != nil:
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				case len(res.Items) == 0:
					empty.Add(1)
				}
			}
		}()
	}

	// Writes the bulk pass cannot have seen: a rename and a new store after
	// it (only the first catch-up can carry them into the new index), a
	// rename just before the swap (only the second catch-up can), each
	// also synced to the old index as the live sync would.
	stores := store.NewService(testDB, nil)
	p := owner(t)
	st := createStore(t, "교체 카페 "+token(), "CAFE", "", 37.55, 126.92)
	require.NoError(t, ix.Sync(ctx, []int64{st.ID}))
	var renamedBulk, renamedSwap, created string
	var createdID int64
	search.SetReindexHooks(ix, func() {
		renamedBulk = token()
		name := "교체 카페 " + renamedBulk
		_, err := stores.Update(ctx, p, st.ID, store.Input{Name: &name})
		require.NoError(t, err)
		created = token()
		createdID = createStore(t, "새 가게 "+created, "FOOD", "", 37.55, 126.92).ID
		require.NoError(t, ix.Sync(ctx, []int64{st.ID, createdID}))
	}, func() {
		renamedSwap = token()
		name := "교체 카페 " + renamedSwap
		_, err := stores.Update(ctx, p, st.ID, store.Input{Name: &name})
		require.NoError(t, err)
		require.NoError(t, ix.Sync(ctx, []int64{st.ID}))
	})

	var indices []string
	for range 3 {
		rs, err := ix.Reindex(ctx)
		require.NoError(t, err)
		assert.Len(t, rs.Old, 1, "exactly one old index is retired")
		assert.Positive(t, rs.CaughtUp)
		indices = append(indices, rs.Index)
	}
	search.SetReindexHooks(ix, nil, nil)
	time.Sleep(300 * time.Millisecond) // a few more searches on the final index
	close(stop)
	wg.Wait()

	t.Logf("%d searches during 3 rebuilds: %d failed, %d empty", total.Load(), failed.Load(), empty.Load())
	assert.Positive(t, total.Load())
	assert.Zero(t, failed.Load(), "first error: %v", firstErr.Load())
	assert.Zero(t, empty.Load())

	// Only the last index is left, and it holds every live store.
	var aliases map[string]any
	osGet(t, "/_alias/"+ix.Alias(), nil, &aliases)
	assert.Equal(t, []string{indices[2]}, keys(aliases))
	var cat []map[string]any
	osGet(t, "/_cat/indices/"+ix.Alias()+"-*?format=json", nil, &cat)
	assert.Len(t, cat, 1, "old indices are deleted")
	var live int64
	require.NoError(t, testDB.QueryRow(ctx, `SELECT count(*) FROM stores WHERE deleted_at IS NULL`).Scan(&live))
	resp, err := opensearchapi.CountRequest{Index: []string{ix.Alias()}}.Do(ctx, testOS)
	require.NoError(t, err)
	var count struct {
		Count int64 `json:"count"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&count))
	resp.Body.Close()
	assert.Equal(t, live, count.Count)

	for _, tc := range []struct{ what, q string }{
		{"a rename just before the swap", renamedSwap},
		{"a store created after the bulk pass", created},
	} {
		id := st.ID
		if tc.q == created {
			id = createdID
		}
		_, ok := find(t, svc, search.Request{Text: tc.q, Mode: search.BM25}, id)
		assert.True(t, ok, "%s is lost", tc.what)
	}
	_, stale := find(t, svc, search.Request{Text: renamedBulk, Mode: search.BM25}, st.ID)
	assert.False(t, stale, "an older name came back")
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
