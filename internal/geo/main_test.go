package geo_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/go-redsync/redsync/v4"
	"github.com/go-redsync/redsync/v4/redis/goredis/v9"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/couponpop/couponpop/internal/auth"
	"github.com/couponpop/couponpop/internal/geo"
	"github.com/couponpop/couponpop/internal/httpapi"
	"github.com/couponpop/couponpop/internal/issue"
	"github.com/couponpop/couponpop/internal/postgres/pgtest"
	"github.com/couponpop/couponpop/internal/redisx/redistest"
	"github.com/couponpop/couponpop/internal/store"
)

// Redis database 7 belongs to this package's tests.
const redisDB = 7

var (
	pool *pgxpool.Pool
	rdb  *redis.Client
)

func TestMain(m *testing.M) {
	var err error
	rdb, err = redistest.Open(redisDB)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	pgtest.Main(m, "geo", &pool)
}

// storeListener adapts the geo service to store.Listener, as the wiring
// does (package store imports geo, so geo cannot name store.Store).
type storeListener struct{ g *geo.Service }

func (l storeListener) StoreChanged(ctx context.Context, s store.Store) error {
	return l.g.StoreChanged(ctx, s.ID)
}
func (l storeListener) StoreDeleted(ctx context.Context, id int64) error {
	return l.g.StoreDeleted(ctx, id)
}

// env is one API instance: the store, issue and geo services wired as
// cmd/api wires them, on the package's database and a Redis.
type env struct {
	geo    *geo.Service
	pg     *geo.Service // the same, with Options.NoRedis: PostGIS only
	text   *geo.Service // PostGIS only, the textbook plan (Options.NoKNN)
	stores *store.Service
	issue  *issue.Service
	tokens *auth.Tokens
	reg    *prometheus.Registry
	h      http.Handler
	rdb    redis.UniversalClient
}

type envOpts struct {
	rdb   redis.UniversalClient // default: the package's database
	geo   geo.Options
	noRun bool
}

// reset empties the tables the geo tests fill and the Redis database, so
// that each test sees only its own stores.
func reset(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	_, err := pool.Exec(ctx, `TRUNCATE coupons, coupon_events, area_entries, outbox, stores CASCADE`)
	require.NoError(t, err)
	require.NoError(t, rdb.FlushDB(ctx).Err())
}

func newEnv(t testing.TB, o envOpts) *env {
	t.Helper()
	if o.rdb == nil {
		o.rdb = rdb
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	rs := redsync.New(goredis.NewPool(o.rdb))
	e := &env{reg: prometheus.NewRegistry(), rdb: o.rdb}
	e.tokens = auth.NewTokens("geo-test-secret", "", time.Hour, auth.NewRedisDenyList(o.rdb))
	e.stores = store.NewService(pool, func(_ context.Context, what string, err error) { log.Warn(what, "err", err) })
	e.issue = issue.NewService(pool, o.rdb, rs, e.stores, log, e.reg, issue.Options{})
	o.geo.CheckEvery = 50 * time.Millisecond
	e.geo = geo.NewService(pool, o.rdb, rs, e.issue, log, e.reg, o.geo)
	pgOpts := o.geo
	pgOpts.NoRedis = true
	e.pg = geo.NewService(pool, o.rdb, rs, e.issue, log, prometheus.NewRegistry(), pgOpts)
	pgOpts.NoKNN = true
	e.text = geo.NewService(pool, o.rdb, rs, e.issue, log, prometheus.NewRegistry(), pgOpts)
	e.stores.AddListener(storeListener{e.geo})
	e.issue.AddListener(e.geo)

	s := httpapi.New(log, e.reg, e.reg, nil)
	v1 := s.Engine.Group("/api/v1", e.tokens.Authenticate(func(c *gin.Context, err error) { httpapi.WriteError(c, log, err) }))
	geo.Routes(v1, s, e.geo)
	e.h = s.Engine

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	if !o.noRun {
		wg.Add(1)
		go func() { defer wg.Done(); _ = e.geo.Run(ctx) }()
	}
	t.Cleanup(func() { cancel(); wg.Wait(); e.issue.Close() })
	return e
}

// counter sums a counter (over its labels, or only those matching label)
// from the env's registry.
func (e *env) counter(t testing.TB, name string, label ...string) float64 {
	t.Helper()
	mfs, err := e.reg.Gather()
	require.NoError(t, err)
	total := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(label); i += 2 {
				found := false
				for _, lp := range m.GetLabel() {
					if lp.GetName() == label[i] && lp.GetValue() == label[i+1] {
						found = true
					}
				}
				if !found {
					continue metrics
				}
			}
			total += m.GetCounter().GetValue()
		}
	}
	return total
}

// waitReady waits until the env answers nearby from Redis.
func (e *env) waitReady(t testing.TB) {
	t.Helper()
	q, err := geo.NewQuery(geo.Point{Lat: 37.5, Lng: 127}, 10, "", 1)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		before := e.counter(t, "geo_nearby_total", "path", "redis")
		_, err := e.geo.Nearby(context.Background(), q)
		return err == nil && e.counter(t, "geo_nearby_total", "path", "redis") > before
	}, 20*time.Second, 20*time.Millisecond, "the Redis index never came into service")
}

var memberSeq atomic.Int64

// newMember inserts a member with role (no bcrypt) and returns its id.
func newMember(t testing.TB, role auth.Role, tz string) int64 {
	t.Helper()
	if tz == "" {
		tz = "Asia/Seoul"
	}
	var id int64
	err := pool.QueryRow(context.Background(), `
		INSERT INTO members (email, password_hash, nickname, role, timezone) VALUES ($1, 'x', 'geo', $2, $3) RETURNING id`,
		fmt.Sprintf("geo%d.%d@example.com", memberSeq.Add(1), time.Now().UnixNano()), role, tz).Scan(&id)
	require.NoError(t, err)
	return id
}

func ptr[T any](v T) *T { return &v }

// newStore creates a store through the store service (listeners run).
func (e *env) newStore(t testing.TB, owner int64, name, cat string, lat, lng float64) store.Store {
	t.Helper()
	st, err := e.stores.Create(context.Background(), auth.Principal{MemberID: owner, Role: auth.Owner},
		store.Input{Name: &name, Category: &cat, Lat: &lat, Lng: &lng, Address: ptr("서울 " + name)})
	require.NoError(t, err)
	return st
}

// newEvent creates an event through the issue service, open from now for
// an hour unless mod says otherwise.
func (e *env) newEvent(t testing.TB, owner, storeID int64, title string, qty int, mod func(*issue.EventInput)) issue.Event {
	t.Helper()
	now := time.Now()
	in := issue.EventInput{Title: &title, DiscountType: ptr("AMOUNT"), DiscountValue: ptr(1000),
		TotalQuantity: &qty, IssueStartsAt: &now, IssueEndsAt: ptr(now.Add(time.Hour)), ValidHours: ptr(24)}
	if mod != nil {
		mod(&in)
	}
	ev, err := e.issue.CreateEvent(context.Background(), auth.Principal{MemberID: owner, Role: auth.Owner}, storeID, in)
	require.NoError(t, err)
	return ev
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) String() string { return fmt.Sprintf("%d %s", r.status, r.body) }

func (r response) code() string {
	var p httpapi.Problem
	if r.header.Get("Content-Type") != "application/problem+json" || json.Unmarshal(r.body, &p) != nil {
		return ""
	}
	return p.Code
}

func (e *env) do(t testing.TB, method, path, token, body string, hdr map[string]string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, req)
	return response{status: w.Code, header: w.Header(), body: w.Body.Bytes()}
}

func (e *env) token(t testing.TB, id int64, role auth.Role) string {
	t.Helper()
	tok, _, err := e.tokens.Issue(id, role)
	require.NoError(t, err)
	return tok
}
