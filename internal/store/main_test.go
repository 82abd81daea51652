package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/couponpop/couponpop/internal/auth"
	"github.com/couponpop/couponpop/internal/httpapi"
	"github.com/couponpop/couponpop/internal/postgres/pgtest"
	"github.com/couponpop/couponpop/internal/store"
)

// The package's services: a database of its own and Redis DB 4 (the
// logout deny-list the auth middleware reads).
var (
	pool *pgxpool.Pool
	rdb  *redis.Client
)

func TestMain(m *testing.M) {
	rdb = redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", DB: 4})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	err := rdb.FlushDB(ctx).Err()
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "store tests need Redis on 127.0.0.1:6379 (make services):", err)
		os.Exit(1)
	}
	pgtest.Main(m, "store", &pool)
}

// recorder is a store.Listener that remembers what it heard, and fails
// when told to (listener failures must not fail the request).
type recorder struct {
	mu      sync.Mutex
	changed []int64
	deleted []int64
	fail    bool
}

func (r *recorder) StoreChanged(_ context.Context, s store.Store) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.changed = append(r.changed, s.ID)
	if r.fail {
		return errors.New("index down")
	}
	return nil
}

func (r *recorder) StoreDeleted(_ context.Context, id int64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.deleted = append(r.deleted, id)
	if r.fail {
		return errors.New("index down")
	}
	return nil
}

// env is the store HTTP API as api.New mounts it, on the real database.
type env struct {
	h        http.Handler
	svc      *store.Service
	tokens   *auth.Tokens
	listener *recorder
	mu       sync.Mutex
	errs     []string // what onErr received
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{listener: &recorder{}}
	e.tokens = auth.NewTokens("store-test-secret", "", 15*time.Minute, auth.NewRedisDenyList(rdb))
	e.svc = store.NewService(pool, func(_ context.Context, what string, err error) {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.errs = append(e.errs, what+": "+err.Error())
	}, e.listener)

	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	reg := prometheus.NewRegistry()
	s := httpapi.New(log, reg, reg, nil)
	v1 := s.Engine.Group("/api/v1", e.tokens.Authenticate(func(c *gin.Context, err error) {
		httpapi.WriteError(c, log, err)
	}))
	store.Routes(v1, s, e.svc)
	e.h = s.Engine
	return e
}

// caller is someone calling the API: a member with a token, or anonymous.
type caller struct {
	id    int64
	role  auth.Role
	token string
}

func (c caller) principal() auth.Principal { return auth.Principal{MemberID: c.id, Role: c.role} }

var memberSeq struct {
	sync.Mutex
	n int
}

// newCaller inserts a member with role directly in SQL (no bcrypt) and
// signs an access token for it.
func (e *env) newCaller(t *testing.T, role auth.Role) caller {
	t.Helper()
	memberSeq.Lock()
	memberSeq.n++
	n := memberSeq.n
	memberSeq.Unlock()
	var id int64
	err := pool.QueryRow(context.Background(), `
		INSERT INTO members (email, password_hash, nickname, role) VALUES ($1, 'x', 'tester', $2) RETURNING id`,
		fmt.Sprintf("m%d.%d@example.com", n, time.Now().UnixNano()), role).Scan(&id)
	require.NoError(t, err)
	tok, _, err := e.tokens.Issue(id, role)
	require.NoError(t, err)
	return caller{id: id, role: role, token: tok}
}

var anonymous = caller{}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) String() string { return fmt.Sprintf("%d %s", r.status, r.body) }

func (r response) json(t *testing.T, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal(r.body, v), "body: %s", r.body)
}

func (r response) code() string {
	var p httpapi.Problem
	if r.header.Get("Content-Type") != "application/problem+json" || json.Unmarshal(r.body, &p) != nil {
		return ""
	}
	return p.Code
}

func (e *env) do(t *testing.T, who caller, method, path, body string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if who.token != "" {
		req.Header.Set("Authorization", "Bearer "+who.token)
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, req)
	return response{status: w.Code, header: w.Header(), body: w.Body.Bytes()}
}

// validBody is a complete create body at Hongdae.
const validBody = `{"name":"홍대 커피","category":"CAFE","description":"라떼 맛집","address":"서울 마포구 양화로 1","lat":37.5563,"lng":126.9236}`

// createStore makes a store for owner through the service.
func (e *env) createStore(t *testing.T, owner caller) store.Store {
	t.Helper()
	name, cat := "가게", "FOOD"
	lat, lng := 37.4979, 127.0276
	st, err := e.svc.Create(context.Background(), owner.principal(), store.Input{Name: &name, Category: &cat, Lat: &lat, Lng: &lng})
	require.NoError(t, err)
	return st
}

func countStores(t *testing.T) int {
	t.Helper()
	var n int
	require.NoError(t, pool.QueryRow(context.Background(), `SELECT count(*) FROM stores`).Scan(&n))
	return n
}
