package api_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/couponpop/couponpop/internal/api"
	"github.com/couponpop/couponpop/internal/auth"
	"github.com/couponpop/couponpop/internal/dashboard"
	"github.com/couponpop/couponpop/internal/geo"
	"github.com/couponpop/couponpop/internal/httpapi"
	"github.com/couponpop/couponpop/internal/issue"
	"github.com/couponpop/couponpop/internal/member"
	"github.com/couponpop/couponpop/internal/postgres/pgtest"
	"github.com/couponpop/couponpop/internal/push"
	"github.com/couponpop/couponpop/internal/redisx"
	"github.com/couponpop/couponpop/internal/search"
	"github.com/couponpop/couponpop/internal/store"
)

// The package's services: a database of its own and Redis DB 5.
var (
	pool *pgxpool.Pool
	rdb  *redis.Client
)

func TestMain(m *testing.M) {
	rdb = redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", DB: 5})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	err := rdb.FlushDB(ctx).Err()
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "api tests need Redis on 127.0.0.1:6379 (make services):", err)
		os.Exit(1)
	}
	pgtest.Main(m, "api", &pool)
}

// testAPI is the whole API as cmd/api builds it, on the real services.
type testAPI struct {
	srv    *httpapi.Server
	tokens *auth.Tokens
	issue  *issue.Service
}

// newAPI builds api.New's dependencies the way cmd/api does. When api.Deps
// grows a field, this is the one place the tests wire it.
func newAPI(t *testing.T) *testAPI {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	reg := prometheus.NewRegistry()
	rs, closeLocks, err := redisx.Redsync(ctx, rdb, "", "")
	require.NoError(t, err)
	t.Cleanup(closeLocks)

	tokens := auth.NewTokens("api-test-secret", "", 15*time.Minute, auth.NewRedisDenyList(rdb))
	onErr := func(ctx context.Context, what string, err error) { log.WarnContext(ctx, what, "err", err) }
	stores := store.NewService(pool, onErr)
	issuing := issue.NewService(pool, rdb, rs, stores, log, reg, issue.Options{})
	t.Cleanup(issuing.Close)

	nearby := geo.NewService(pool, rdb, rs, issuing, log, reg, geo.Options{Prefix: "apitest"})
	stores.AddListener(api.GeoStores{Geo: nearby})
	issuing.AddListener(nearby)
	osc, err := search.NewClient(opensearchURL())
	require.NoError(t, err)
	srv := api.New(api.Deps{
		Log:      log,
		Registry: reg,
		Checks: []httpapi.Check{
			{Name: "postgres", Ping: pool.Ping},
			{Name: "redis", Ping: func(ctx context.Context) error { return rdb.Ping(ctx).Err() }},
		},
		Tokens:  tokens,
		Members: member.NewService(pool, tokens, time.Hour),
		Stores:  stores,
		Issue:   issuing,
		Geo:     nearby,
		Push:    push.NewService(pool, stores),
		Stats:   dashboard.NewService(pool, stores),
		Search:  search.NewService(osc, search.Hashed{}, pool, search.Options{Alias: "apitest-missing"}),
	})
	return &testAPI{srv: srv, tokens: tokens, issue: issuing}
}

func opensearchURL() string {
	if u := os.Getenv("OPENSEARCH_URL"); u != "" {
		return u
	}
	return "http://127.0.0.1:9200"
}
