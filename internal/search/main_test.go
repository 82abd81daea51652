package search_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/opensearch-project/opensearch-go/v2"

	"github.com/couponpop/couponpop/internal/postgres/pgtest"
	"github.com/couponpop/couponpop/internal/rabbitmq"
	"github.com/couponpop/couponpop/internal/search"
	"github.com/couponpop/couponpop/internal/search/corpus"
)

// The tests run against the real services `make services` starts. A missing
// service fails the run; nothing is skipped.
var (
	testDB *pgxpool.Pool
	testOS *opensearch.Client
	// testEmb is the real model behind a per-machine file cache of the
	// corpus vectors (see corpus.VectorCache) and the query LRU.
	testEmb *search.Cached
	// runPrefix names everything this run creates in OpenSearch and
	// RabbitMQ (cptest-search-<random>-…), so parallel runs never collide
	// and the cleanup at the end removes exactly what this run made.
	runPrefix  string
	rabbitURL  string
	embeddings string
)

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func TestMain(m *testing.M) { os.Exit(testMain(m)) }

func testMain(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	fail := func(format string, args ...any) int {
		fmt.Fprintf(os.Stderr, "search tests: "+format+" (run `make services`)\n", args...)
		return 1
	}

	var err error
	testDB, _, err = pgtest.Open("search", 20)
	if err != nil {
		return fail("%v", err)
	}
	defer testDB.Close()

	osURL := envOr("OPENSEARCH_URL", "http://127.0.0.1:9200")
	if testOS, err = search.NewClient(osURL); err != nil {
		return fail("%v", err)
	}
	if err := search.Ping(ctx, testOS); err != nil {
		return fail("OpenSearch at %s: %v", osURL, err)
	}

	embeddings = envOr("EMBEDDINGS_URL", "http://127.0.0.1:8089")
	model := search.NewOpenAI(embeddings, "multilingual-e5-small", nil)
	if _, err := model.Embed(ctx, search.Query, []string{"ping"}); err != nil {
		return fail("embeddings server at %s: %v", embeddings, err)
	}
	path, err := corpus.DefaultVectorCachePath(model)
	if err != nil {
		return fail("%v", err)
	}
	vc, err := corpus.OpenVectorCache(path, model)
	if err != nil {
		return fail("vector cache: %v", err)
	}
	defer vc.Close()
	testEmb = search.NewCached(vc, 10_000)

	rabbitURL = envOr("RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")
	if err := rabbitmq.Ping(ctx, rabbitURL); err != nil {
		return fail("RabbitMQ at %s: %v", rabbitURL, err)
	}

	var b [4]byte
	_, _ = rand.Read(b[:])
	runPrefix = "cptest-search-" + hex.EncodeToString(b[:]) + "-"

	code := m.Run()

	cctx, ccancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer ccancel()
	cleanup := search.NewIndexer(nil, testOS, nil, search.IndexerOptions{Alias: strings.TrimSuffix(runPrefix, "-")})
	if err := cleanup.DeleteAll(cctx); err != nil {
		fmt.Fprintln(os.Stderr, "search tests: cleanup:", err)
	}
	return code
}
