// Package pgtest gives each test package a database of its own on the
// PostgreSQL that `make test` started, migrated to the latest schema.
//
// A missing PostgreSQL is a failure, not a skip: the suite must run against
// the real thing.
package pgtest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/couponpop/couponpop/internal/postgres"
)

// DefaultURL is the loopback database scripts/services.sh creates.
const DefaultURL = "postgres://couponpop:couponpop@127.0.0.1:5432/couponpop?sslmode=disable"

// BaseURL is DATABASE_URL or the default.
func BaseURL() string {
	if u := os.Getenv("DATABASE_URL"); u != "" {
		return u
	}
	return DefaultURL
}

var safeName = regexp.MustCompile(`[^a-z0-9_]`)

// Create (re)creates database name on the test server and returns its URL.
// It does not migrate.
func Create(ctx context.Context, name string) (string, error) {
	name = "cptest_" + safeName.ReplaceAllString(strings.ToLower(name), "_")
	admin, err := pgx.Connect(ctx, BaseURL())
	if err != nil {
		return "", fmt.Errorf("connect to PostgreSQL at %s (run `make services`): %w", BaseURL(), err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
		return "", fmt.Errorf("drop %s: %w", name, err)
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", fmt.Errorf("create %s: %w", name, err)
	}
	u, err := url.Parse(BaseURL())
	if err != nil {
		return "", err
	}
	u.Path = "/" + name
	return u.String(), nil
}

// Open creates a fresh, migrated database for one test package and returns
// a pool to it. Call it from TestMain; it panics-free returns an error.
func Open(name string, maxConns int32) (*pgxpool.Pool, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dsn, err := Create(ctx, name)
	if err != nil {
		return nil, "", err
	}
	pool, err := postgres.Open(ctx, dsn, maxConns)
	if err != nil {
		return nil, "", err
	}
	if err := postgres.Migrate(ctx, pool, 0); err != nil {
		pool.Close()
		return nil, "", err
	}
	return pool, dsn, nil
}

// Main runs a test package's tests against a fresh database; it is the body
// of a TestMain: `func TestMain(m *testing.M) { pgtest.Main(m, "issue", &pool) }`.
func Main(m *testing.M, name string, pool **pgxpool.Pool) {
	p, _, err := Open(name, 50)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pgtest:", err)
		os.Exit(1)
	}
	*pool = p
	code := m.Run()
	p.Close()
	os.Exit(code)
}
