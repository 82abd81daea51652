package member_test

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
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/couponpop/couponpop/internal/auth"
	"github.com/couponpop/couponpop/internal/httpapi"
	"github.com/couponpop/couponpop/internal/member"
	"github.com/couponpop/couponpop/internal/postgres/pgtest"
)

// The package's services: a database of its own and Redis DB 3 (member
// tests' number; store tests use 4, api tests 5).
var (
	pool *pgxpool.Pool
	rdb  *redis.Client
)

func TestMain(m *testing.M) {
	rdb = redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", DB: 3})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	err := rdb.FlushDB(ctx).Err()
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "member tests need Redis on 127.0.0.1:6379 (make services):", err)
		os.Exit(1)
	}
	pgtest.Main(m, "member", &pool)
}

const testPassword = "password123"

// testHash is testPassword hashed at bcrypt's minimum cost, for members
// inserted with SQL: signup's real cost (~60 ms a hash) is paid only by the
// few tests that go through signup.
var testHash = func() string {
	h, err := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
	if err != nil {
		panic(err)
	}
	return string(h)
}()

// env is the member HTTP API as api.New mounts it, on real PostgreSQL and
// Redis, plus one route that needs the OWNER role.
type env struct {
	h       http.Handler
	tokens  *auth.Tokens
	svc     *member.Service
	logouts atomic.Int64
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{}
	e.tokens = auth.NewTokens("member-test-secret", "", 15*time.Minute, auth.NewRedisDenyList(rdb))
	e.svc = member.NewService(pool, e.tokens, time.Hour)
	e.svc.OnLogout = func(context.Context, int64) error { e.logouts.Add(1); return nil }

	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	reg := prometheus.NewRegistry()
	s := httpapi.New(log, reg, reg, nil)
	v1 := s.Engine.Group("/api/v1", e.tokens.Authenticate(func(c *gin.Context, err error) {
		httpapi.WriteError(c, log, err)
	}))
	member.Routes(v1, s, e.svc)
	v1.GET("/test/owners-only", s.H(func(c *gin.Context) error {
		p, err := auth.Require(c, auth.Owner)
		if err != nil {
			return err
		}
		c.JSON(http.StatusOK, gin.H{"role": p.Role})
		return nil
	}))
	e.h = s.Engine
	return e
}

// response is a recorded answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal(r.body, v), "body: %s", r.body)
}

// code is the problem's code, or "" for a non-problem answer.
func (r response) code() string {
	var p httpapi.Problem
	if r.header.Get("Content-Type") != "application/problem+json" || json.Unmarshal(r.body, &p) != nil {
		return ""
	}
	return p.Code
}

func (r response) String() string { return fmt.Sprintf("%d %s", r.status, r.body) }

// do sends a request; token may be empty.
func (e *env) do(t *testing.T, method, path, token, body string) response {
	t.Helper()
	auth := ""
	if token != "" {
		auth = "Bearer " + token
	}
	return e.send(t, method, path, auth, body)
}

// doHeader sends a body-less request with a raw Authorization header.
func (e *env) doHeader(t *testing.T, method, path, authorization string) response {
	t.Helper()
	return e.send(t, method, path, authorization, "")
}

func (e *env) send(t *testing.T, method, path, authorization, body string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, req)
	return response{status: w.Code, header: w.Header(), body: w.Body.Bytes()}
}

// insertMember adds a member with testPassword directly in SQL.
func insertMember(t *testing.T, email string, role auth.Role) int64 {
	t.Helper()
	var id int64
	err := pool.QueryRow(context.Background(), `
		INSERT INTO members (email, password_hash, nickname, role) VALUES ($1, $2, 'tester', $3) RETURNING id`,
		email, testHash, role).Scan(&id)
	require.NoError(t, err)
	return id
}

// uniqueEmail is an address no other test uses.
func uniqueEmail(t *testing.T, tag string) string {
	name := strings.ToLower(strings.NewReplacer("/", ".", "_", "-", " ", "-").Replace(t.Name()))
	return fmt.Sprintf("%s.%s@example.com", tag, name)
}

func (e *env) login(t *testing.T, email string) member.Tokens {
	t.Helper()
	r := e.do(t, http.MethodPost, "/api/v1/auth/login", "", fmt.Sprintf(`{"email":%q,"password":%q}`, email, testPassword))
	require.Equal(t, http.StatusOK, r.status, "login: %s", r)
	var tok member.Tokens
	r.json(t, &tok)
	return tok
}

func (e *env) refresh(t *testing.T, refreshToken string) response {
	t.Helper()
	return e.do(t, http.MethodPost, "/api/v1/auth/refresh", "", fmt.Sprintf(`{"refresh_token":%q}`, refreshToken))
}

func countMembers(t *testing.T) int {
	t.Helper()
	var n int
	require.NoError(t, pool.QueryRow(context.Background(), `SELECT count(*) FROM members`).Scan(&n))
	return n
}
