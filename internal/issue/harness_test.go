package issue_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-redsync/redsync/v4"
	"github.com/go-redsync/redsync/v4/redis/goredis/v9"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/couponpop/couponpop/internal/api"
	"github.com/couponpop/couponpop/internal/auth"
	"github.com/couponpop/couponpop/internal/issue"
	"github.com/couponpop/couponpop/internal/member"
	"github.com/couponpop/couponpop/internal/postgres/pgtest"
	"github.com/couponpop/couponpop/internal/redisx/redistest"
	"github.com/couponpop/couponpop/internal/store"
)

// Redis database 1 belongs to this package's tests.
const redisDB = 1

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
	pgtest.Main(m, "issue", &pool)
}

var hongdae = struct{ Lat, Lng float64 }{37.5563, 126.9236}

// env is one API server (engine + its own issue.Service) on a real port.
type env struct {
	svc    *issue.Service
	stores *store.Service
	tokens *auth.Tokens
	srv    *httptest.Server
	client *http.Client
	reg    *prometheus.Registry
}

func newEnv(t testing.TB, opts issue.Options) *env {
	return newEnvWith(t, opts, rdb, redsync.New(goredis.NewPool(rdb)))
}

func newEnvWith(t testing.TB, opts issue.Options, r redis.UniversalClient, rs *redsync.Redsync) *env {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	tokens := auth.NewTokens("test-secret", "", time.Hour, auth.NewRedisDenyList(r))
	stores := store.NewService(pool, func(context.Context, string, error) {})
	reg := prometheus.NewRegistry()
	svc := issue.NewService(pool, r, rs, stores, log, reg, opts)
	s := api.New(api.Deps{Log: log, Registry: reg, Tokens: tokens,
		Members: member.NewService(pool, tokens, time.Hour), Stores: stores, Issue: svc})
	srv := httptest.NewServer(s.Engine)
	t.Cleanup(func() { srv.Close(); svc.Close() })
	return &env{svc: svc, stores: stores, tokens: tokens, srv: srv, reg: reg, client: &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 2000, MaxConnsPerHost: 0},
	}}
}

var memberSeq atomic.Int64

// members inserts n members of a role directly (signup's bcrypt would
// take a minute for a thousand) and returns their ids.
func members(t testing.TB, role auth.Role, n int) []int64 {
	t.Helper()
	prefix := fmt.Sprintf("%s-%d-%d", role, time.Now().UnixNano(), memberSeq.Add(1))
	rows, err := pool.Query(context.Background(), `
		INSERT INTO members (email, password_hash, nickname, role)
		SELECT lower($1) || '-' || i || '@test.dev', 'x', 'm' || i, $2
		FROM generate_series(1, $3) AS i RETURNING id`, prefix, string(role), n)
	require.NoError(t, err)
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		require.NoError(t, rows.Scan(&id))
		ids = append(ids, id)
	}
	require.NoError(t, rows.Err())
	return ids
}

func (e *env) token(t testing.TB, id int64, role auth.Role) string {
	tok, _, err := e.tokens.Issue(id, role)
	require.NoError(t, err)
	return tok
}

// fixture is an owner with a store in Hongdae.
type fixture struct {
	owner auth.Principal
	store store.Store
}

func newFixture(t testing.TB, e *env) fixture {
	t.Helper()
	owner := auth.Principal{MemberID: members(t, auth.Owner, 1)[0], Role: auth.Owner}
	name, cat := "테스트 카페", "CAFE"
	st, err := e.stores.Create(context.Background(), owner, store.Input{
		Name: &name, Category: &cat, Lat: &hongdae.Lat, Lng: &hongdae.Lng})
	require.NoError(t, err)
	return fixture{owner: owner, store: st}
}

func ptr[T any](v T) *T { return &v }

// event creates a live event of qty coupons; mod may change the input.
func (f fixture) event(t testing.TB, e *env, qty int, mod func(*issue.EventInput)) issue.Event {
	t.Helper()
	now := time.Now()
	in := issue.EventInput{
		Title: ptr("아메리카노 1+1"), DiscountType: ptr("PERCENT"), DiscountValue: ptr(50),
		TotalQuantity: ptr(qty), IssueStartsAt: ptr(now.Add(-time.Minute)), IssueEndsAt: ptr(now.Add(time.Hour)),
		ValidHours: ptr(24),
	}
	if mod != nil {
		mod(&in)
	}
	ev, err := e.svc.CreateEvent(context.Background(), f.owner, f.store.ID, in)
	require.NoError(t, err)
	return ev
}

type answer struct {
	Status int
	Body   map[string]any
	Raw    []byte
}

// code is the problem's error code ("" for a success).
func (a answer) code() string {
	if c, ok := a.Body["code"].(string); ok && a.Status >= 400 {
		return c
	}
	return ""
}

func (e *env) do(t testing.TB, method, path, token string, body any, hdr map[string]string) answer {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := e.client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	a := answer{Status: resp.StatusCode, Raw: raw}
	_ = json.Unmarshal(raw, &a.Body)
	return a
}

func (e *env) issue(t testing.TB, eventID int64, token string, lat, lng float64, hdr map[string]string) answer {
	return e.do(t, http.MethodPost, fmt.Sprintf("/api/v1/coupon-events/%d/issue", eventID), token,
		map[string]float64{"lat": lat, "lng": lng}, hdr)
}

// tally counts answers by "201" or error code.
type tally struct {
	mu sync.Mutex
	m  map[string]int
}

func (c *tally) add(a answer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]int{}
	}
	k := a.code()
	if a.Status == http.StatusCreated {
		k = "201"
	} else if k == "" {
		k = fmt.Sprint(a.Status)
	}
	c.m[k]++
}

// dbCounts reads the truth: rows and issued_count of an event.
func dbCounts(t testing.TB, eventID int64) (rows, issuedCount int) {
	t.Helper()
	require.NoError(t, pool.QueryRow(context.Background(),
		`SELECT (SELECT count(*) FROM coupons WHERE event_id = $1), issued_count FROM coupon_events WHERE id = $1`,
		eventID).Scan(&rows, &issuedCount))
	return rows, issuedCount
}

// counter reads a counter's value from the env's registry.
func (e *env) counter(t testing.TB, name string) float64 {
	t.Helper()
	mfs, err := e.reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() == name {
			total := 0.0
			for _, m := range mf.GetMetric() {
				total += m.GetCounter().GetValue()
			}
			return total
		}
	}
	return 0
}
