package search_test

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/couponpop/couponpop/internal/search"
)

func dot(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

// TestOpenAIEmbedder talks to the real e5 server.
func TestOpenAIEmbedder(t *testing.T) {
	ctx := context.Background()
	e := search.NewOpenAI(embeddings, "multilingual-e5-small", nil)
	e.Batch = 2 // three texts: two requests
	texts := []string{"커피 한잔 할 곳", "로스터리 카페입니다. 핸드드립과 콜드브루가 인기예요", "미용실입니다. 커트, 펌 전문이에요"}
	vs, err := e.Embed(ctx, search.Passage, texts)
	require.NoError(t, err)
	require.Len(t, vs, 3)
	for _, v := range vs {
		require.Len(t, v, search.Dims)
		assert.InDelta(t, 1, math.Sqrt(dot(v, v)), 1e-3, "unit length")
	}
	one, err := e.Embed(ctx, search.Passage, texts[2:])
	require.NoError(t, err)
	assert.InDelta(t, 1, dot(one[0], vs[2]), 1e-3, "batching does not change a vector")

	q, err := e.Embed(ctx, search.Query, texts[:1])
	require.NoError(t, err)
	assert.Less(t, dot(q[0], vs[0]), 0.9999, "query and passage prefixes differ")
	// multilingual-e5-small (4-bit) is a small model: its similarities sit in
	// a narrow band (0.8–0.9) and single pairs can surprise; this one is
	// clear-cut and the model is deterministic.
	assert.Greater(t, dot(q[0], vs[1]), dot(q[0], vs[2]), "a roastery is nearer to \"a place for a coffee\" than a hair salon")
}

func TestOpenAIEndpointAndErrors(t *testing.T) {
	var paths []string
	var mu sync.Mutex
	reply := func(w http.ResponseWriter, n, dims int) {
		type d struct {
			Index     int       `json:"index"`
			Embedding []float32 `json:"embedding"`
		}
		var data []d
		for i := range n {
			data = append(data, d{i, make([]float32, dims)})
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"data": data})
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.Path)
		mu.Unlock()
		var req struct {
			Input     []string `json:"input"`
			InputType string   `json:"input_type"`
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		switch req.Input[0] {
		case "fail":
			http.Error(w, "overloaded", http.StatusServiceUnavailable)
		case "short":
			reply(w, len(req.Input), 16)
		case "missing":
			reply(w, len(req.Input)-1, search.Dims)
		default:
			reply(w, len(req.Input), search.Dims)
		}
	}))
	defer srv.Close()

	for _, base := range []string{srv.URL, srv.URL + "/", srv.URL + "/v1", srv.URL + "/v1/embeddings"} {
		_, err := search.NewOpenAI(base, "m", nil).Embed(context.Background(), search.Query, []string{"ok"})
		require.NoError(t, err, base)
	}
	assert.Equal(t, []string{"/v1/embeddings", "/v1/embeddings", "/v1/embeddings", "/v1/embeddings"}, paths)

	e := search.NewOpenAI(srv.URL, "m", nil)
	for _, in := range [][]string{{"fail"}, {"short"}, {"missing", "x"}} {
		_, err := e.Embed(context.Background(), search.Query, in)
		assert.Error(t, err, in[0])
	}
}

func TestHashedFallback(t *testing.T) {
	var h search.Hashed
	assert.Contains(t, h.Name(), "not semantic", "the fallback says what it is")
	vs, err := h.Embed(context.Background(), search.Query, []string{"조용한 카페", "조용한 카페", "조용한 카페 홍대", "spicy chicken", ""})
	require.NoError(t, err)
	for _, v := range vs {
		require.Len(t, v, search.Dims)
		assert.InDelta(t, 1, math.Sqrt(dot(v, v)), 1e-5)
	}
	assert.Equal(t, vs[0], vs[1], "deterministic")
	assert.Greater(t, dot(vs[0], vs[2]), dot(vs[0], vs[3]), "shared character n-grams are nearer")
}

// counting counts the texts it embeds, taking delay per call.
type counting struct {
	calls, texts atomic.Int64
	delay        time.Duration
}

func (c *counting) Name() string { return "counting" }
func (c *counting) Embed(_ context.Context, _ search.InputType, texts []string) ([][]float32, error) {
	c.calls.Add(1)
	c.texts.Add(int64(len(texts)))
	time.Sleep(c.delay)
	return search.Hashed{}.Embed(context.Background(), search.Query, texts)
}

func TestCachedEmbedder(t *testing.T) {
	next := &counting{}
	c := search.NewCached(next, 100)
	ctx := context.Background()
	_, err := c.Embed(ctx, search.Query, []string{"a", "b"})
	require.NoError(t, err)
	vs, err := c.Embed(ctx, search.Query, []string{"b", "c", "a"})
	require.NoError(t, err)
	require.Len(t, vs, 3)
	assert.Equal(t, int64(3), next.texts.Load(), "only c was embedded the second time")
	_, err = c.Embed(ctx, search.Passage, []string{"a"})
	require.NoError(t, err)
	assert.Equal(t, int64(4), next.texts.Load(), "query and passage vectors are cached apart")

	// Fifty users typing the same new query at once: one model call.
	next.delay = 50 * time.Millisecond
	before := next.calls.Load()
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.Embed(ctx, search.Query, []string{"새로운 검색어"})
			assert.NoError(t, err)
		}()
	}
	wg.Wait()
	assert.Equal(t, int64(1), next.calls.Load()-before)
	assert.Equal(t, 5, c.Len())
}
