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
	"strconv"
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
// It does not migrate. Under `go test` the name carries the process id, so
// two runs of the suite at once (two developers, or CI beside a developer)
// never drop each other's databases; databases of processes that are gone
// are dropped first.
func Create(ctx context.Context, name string) (string, error) {
	base := "cptest_" + safeName.ReplaceAllString(strings.ToLower(name), "_")
	name = base
	admin, err := pgx.Connect(ctx, BaseURL())
	if err != nil {
		return "", fmt.Errorf("connect to PostgreSQL at %s (run `make services`): %w", BaseURL(), err)
	}
	defer admin.Close(ctx)
	if testing.Testing() {
		name = fmt.Sprintf("%s_p%d", base, os.Getpid())
		if err := dropOrphans(ctx, admin, base); err != nil {
			return "", err
		}
	}
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

// dropOrphans drops base_p<pid> databases whose process no longer exists.
func dropOrphans(ctx context.Context, admin *pgx.Conn, base string) error {
	rows, _ := admin.Query(ctx, `SELECT datname FROM pg_database WHERE datname LIKE $1 || '\_p%'`, base)
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("list old test databases: %w", err)
	}
	for _, n := range names {
		pid, err := strconv.Atoi(strings.TrimPrefix(n, base+"_p"))
		if err != nil || processAlive(pid) {
			continue
		}
		if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+n+" WITH (FORCE)"); err != nil {
			return fmt.Errorf("drop %s: %w", n, err)
		}
	}
	return nil
}

func processAlive(pid int) bool {
	_, err := os.Stat("/proc/" + strconv.Itoa(pid))
	return err == nil
}
