package search_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/couponpop/couponpop/internal/search"
)

func TestSearchHTTP(t *testing.T) {
	_, svc := newIndex(t, "http")
	h := api(svc)

	t.Run("hybrid with a position", func(t *testing.T) {
		rec, body := get(t, h, "/api/v1/search?q="+url.QueryEscape("스타벅스")+"&lat=37.5563&lng=126.9236&limit=5")
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		assert.Equal(t, "hybrid", body["mode"])
		assert.Equal(t, false, body["degraded"])
		items := body["items"].([]any)
		require.NotEmpty(t, items)
		assert.LessOrEqual(t, len(items), 5)
		first := items[0].(map[string]any)
		st := first["store"].(map[string]any)
		assert.Contains(t, st["name"], "스타벅스")
		for _, k := range []string{"id", "name", "category", "address", "lat", "lng"} {
			assert.Contains(t, st, k)
		}
		assert.Contains(t, first, "score")
		assert.Contains(t, first, "distance_m")
		assert.IsType(t, []any{}, first["events"], "events is always an array")
	})

	t.Run("every mode", func(t *testing.T) {
		for _, mode := range []string{"bm25", "knn", "hybrid"} {
			rec, body := get(t, h, "/api/v1/search?q="+url.QueryEscape("조용한 카페")+"&mode="+mode)
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			assert.Equal(t, mode, body["mode"])
			assert.NotEmpty(t, body["items"])
			for _, it := range body["items"].([]any) {
				assert.NotContains(t, it, "distance_m", "no position, no distance")
			}
		}
	})

	t.Run("bad input is a 400", func(t *testing.T) {
		tests := []struct{ query, code string }{
			{"", "VALIDATION_FAILED"},
			{"q=%20%20", "VALIDATION_FAILED"},
			{"q=" + strings.Repeat("가", 201), "VALIDATION_FAILED"},
			{"q=x&mode=fuzzy", "VALIDATION_FAILED"},
			{"q=x&limit=0", "VALIDATION_FAILED"},
			{"q=x&limit=51", "VALIDATION_FAILED"},
			{"q=x&limit=ten", "VALIDATION_FAILED"},
			{"q=x&lat=91&lng=0", "INVALID_LOCATION"},
			{"q=x&lat=37.5", "INVALID_LOCATION"},
			{"q=x&lng=127", "INVALID_LOCATION"},
			{"q=x&lat=north&lng=127", "INVALID_LOCATION"},
			{"q=x&radius_m=500", "VALIDATION_FAILED"},
			{"q=x&lat=37.5&lng=127&radius_m=-5", "VALIDATION_FAILED"},
			{"q=x&lat=37.5&lng=127&radius_m=NaN", "VALIDATION_FAILED"},
			{"q=x&lat=37.5&lng=127&radius_m=50001", "VALIDATION_FAILED"},
		}
		for _, tt := range tests {
			rec, body := get(t, h, "/api/v1/search?"+tt.query)
			assert.Equal(t, http.StatusBadRequest, rec.Code, tt.query)
			assert.Equal(t, tt.code, body["code"], tt.query)
		}
	})

	t.Run("suggest", func(t *testing.T) {
		rec, body := get(t, h, "/api/v1/search/suggest?q="+url.QueryEscape("스타"))
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		items := body["items"].([]any)
		require.NotEmpty(t, items)
		seen := map[string]bool{}
		for _, it := range items {
			name := it.(map[string]any)["name"].(string)
			assert.True(t, strings.HasPrefix(name, "스타"), "suggestion %q", name)
			assert.False(t, seen[name], "%q suggested twice", name)
			seen[name] = true
		}
		rec, body = get(t, h, "/api/v1/search/suggest")
		assert.Equal(t, http.StatusBadRequest, rec.Code)
		assert.Equal(t, "VALIDATION_FAILED", body["code"])
	})
}

// TestDegradedEmbeddings: when the model fails or is too slow, hybrid and
// knn answer with BM25 results and say so.
func TestDegradedEmbeddings(t *testing.T) {
	ix, _ := newIndex(t, "degraded")
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "model crashed", http.StatusInternalServerError)
	}))
	defer failing.Close()
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(time.Second):
		}
	}))
	defer slow.Close()

	for name, srv := range map[string]*httptest.Server{"failing": failing, "slow": slow} {
		t.Run(name, func(t *testing.T) {
			svc := search.NewService(testOS, search.NewOpenAI(srv.URL, "e5", nil), testDB,
				search.Options{Alias: ix.Alias(), EmbedTimeout: 200 * time.Millisecond})
			for _, mode := range []string{"hybrid", "knn"} {
				start := time.Now()
				rec, body := get(t, api(svc), "/api/v1/search?q="+url.QueryEscape("카페")+"&mode="+mode)
				require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
				assert.Equal(t, true, body["degraded"])
				assert.Equal(t, "bm25", body["mode"])
				assert.NotEmpty(t, body["items"])
				assert.Less(t, time.Since(start), 2*time.Second)
			}
			rec, body := get(t, api(svc), "/api/v1/search?q="+url.QueryEscape("카페")+"&mode=bm25")
			require.Equal(t, http.StatusOK, rec.Code)
			assert.Equal(t, false, body["degraded"], "bm25 needs no model")
		})
	}
}

// TestSearchUnavailable: OpenSearch down, or no index yet, is a 503 with
// SEARCH_UNAVAILABLE, never a 500.
func TestSearchUnavailable(t *testing.T) {
	dead, err := search.NewClient("http://127.0.0.1:1")
	require.NoError(t, err)
	tests := []struct {
		name string
		svc  *search.Service
	}{
		{"node down", search.NewService(dead, testEmb, testDB, search.Options{})},
		{"index missing", search.NewService(testOS, testEmb, testDB, search.Options{Alias: runPrefix + "never-built"})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, path := range []string{"/api/v1/search?q=x", "/api/v1/search?q=x&mode=bm25", "/api/v1/search/suggest?q=x"} {
				rec, body := get(t, api(tt.svc), path)
				assert.Equal(t, http.StatusServiceUnavailable, rec.Code, path)
				assert.Equal(t, "SEARCH_UNAVAILABLE", body["code"], path)
				assert.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"))
			}
		})
	}
}
