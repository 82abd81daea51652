// Package postgres opens the pgx pool, runs the embedded migrations and maps
// PostgreSQL errors to the facts domain code cares about.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/golang-migrate/migrate/v4"
	mpgx "github.com/golang-migrate/migrate/v4/database/pgx/v5"
	"github.com/golang-migrate/migrate/v4/source/iofs"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/couponpop/couponpop/migrations"
)

// Open connects a pool and checks that the database answers.
func Open(ctx context.Context, dsn string, maxConns int32) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", err)
	}
	if maxConns > 0 {
		cfg.MaxConns = maxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open pool: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("ping %s: %w", redact(dsn), err)
	}
	return pool, nil
}

// Migrate applies migrations up to the latest (steps == 0), or moves by
// steps (negative is down). It is safe to run from several processes at once:
// golang-migrate holds an advisory lock.
func Migrate(ctx context.Context, pool *pgxpool.Pool, steps int) error {
	m, closeFn, err := migrator(pool)
	if err != nil {
		return err
	}
	defer closeFn()
	if steps == 0 {
		err = m.Up()
	} else {
		err = m.Steps(steps)
	}
	if err != nil && !errors.Is(err, migrate.ErrNoChange) {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// MigrateDown removes every migration.
func MigrateDown(ctx context.Context, pool *pgxpool.Pool) error {
	m, closeFn, err := migrator(pool)
	if err != nil {
		return err
	}
	defer closeFn()
	if err := m.Down(); err != nil && !errors.Is(err, migrate.ErrNoChange) {
		return fmt.Errorf("migrate down: %w", err)
	}
	return nil
}

// Version reports the current migration version.
func Version(pool *pgxpool.Pool) (uint, bool, error) {
	m, closeFn, err := migrator(pool)
	if err != nil {
		return 0, false, err
	}
	defer closeFn()
	v, dirty, err := m.Version()
	if errors.Is(err, migrate.ErrNilVersion) {
		return 0, false, nil
	}
	return v, dirty, err
}

func migrator(pool *pgxpool.Pool) (*migrate.Migrate, func(), error) {
	src, err := iofs.New(migrations.FS, ".")
	if err != nil {
		return nil, nil, fmt.Errorf("migration source: %w", err)
	}
	db := stdlib.OpenDBFromPool(pool)
	drv, err := mpgx.WithInstance(db, &mpgx.Config{})
	if err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("migration driver: %w", err)
	}
	m, err := migrate.NewWithInstance("iofs", src, "pgx5", drv)
	if err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("migrator: %w", err)
	}
	// m.Close closes the driver, which holds one connection of the pool for
	// its whole life (the advisory lock's); closing only db would leak it,
	// and a small pool would hang on the next Migrate or Version.
	return m, func() { m.Close() }, nil
}

// SQLSTATE codes domain packages turn into domain errors.
const (
	UniqueViolation     = "23505"
	CheckViolation      = "23514"
	ForeignKeyViolation = "23503"
)

// IsViolation reports whether err is a PostgreSQL error with that SQLSTATE
// and, if constraint is not empty, on that constraint.
func IsViolation(err error, code, constraint string) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != code {
		return false
	}
	return constraint == "" || pgErr.ConstraintName == constraint
}

func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return strings.SplitN(dsn, "@", 2)[len(strings.SplitN(dsn, "@", 2))-1]
	}
	u.User = url.User(u.User.Username())
	return u.String()
}
