package postgres_test

import (
	"context"
	"errors"
	"io/fs"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/couponpop/couponpop/internal/postgres"
	"github.com/couponpop/couponpop/internal/postgres/pgtest"
	"github.com/couponpop/couponpop/migrations"
)

// foundationTables are the tables the first migrations create; later
// migrations add more, which the schema comparison below covers without
// naming them.
var foundationTables = []string{"members", "refresh_tokens", "stores", "coupon_events", "coupons", "outbox"}

// schema lists every relation (table, index, sequence, view) in public
// with its kind, except what extensions (PostGIS) and golang-migrate own.
// The down migrations leave the postgis extension in place on purpose: it
// is shared with whatever else lives in the database.
func schema(t *testing.T, ctx context.Context, pool *pgxpool.Pool) []string {
	t.Helper()
	rows, _ := pool.Query(ctx, `
		SELECT c.relkind::text || ' ' || c.relname
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'public'
		  AND c.relkind IN ('r', 'i', 'S', 'v', 'm', 'p')
		  AND c.relname NOT IN ('schema_migrations', 'schema_migrations_pkey')
		  AND NOT EXISTS (SELECT 1 FROM pg_depend d
		                  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
		  AND c.relname <> 'spatial_ref_sys_pkey'
		ORDER BY 1`)
	rels, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	return rels
}

func TestMigrateUpDownUp(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dsn, err := pgtest.Create(ctx, "postgres_migrate")
	require.NoError(t, err, "PostgreSQL must be running (make services)")
	pool, err := postgres.Open(ctx, dsn, 4)
	require.NoError(t, err)
	defer pool.Close()

	v, _, err := postgres.Version(pool)
	require.NoError(t, err)
	require.Zero(t, v, "a fresh database has no version")

	require.NoError(t, postgres.Migrate(ctx, pool, 0))
	first := schema(t, ctx, pool)
	for _, table := range foundationTables {
		assert.Contains(t, first, "r "+table)
	}
	v, dirty, err := postgres.Version(pool)
	require.NoError(t, err)
	assert.False(t, dirty)
	assert.Equal(t, latestVersion(t), v)

	// Up again is a no-op, not an error: every deploy runs it.
	require.NoError(t, postgres.Migrate(ctx, pool, 0))

	require.NoError(t, postgres.MigrateDown(ctx, pool))
	assert.Empty(t, schema(t, ctx, pool), "down must remove everything up created")
	v, _, err = postgres.Version(pool)
	require.NoError(t, err)
	assert.Zero(t, v)

	require.NoError(t, postgres.Migrate(ctx, pool, 0))
	assert.Equal(t, first, schema(t, ctx, pool), "up after down must give the same schema")

	// The schema works after the round trip: a member row goes in.
	_, err = pool.Exec(ctx, `INSERT INTO members (email, password_hash, nickname, role) VALUES ('a@b.co', 'x', 'a', 'CUSTOMER')`)
	require.NoError(t, err)
}

func TestMigrateSteps(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dsn, err := pgtest.Create(ctx, "postgres_steps")
	require.NoError(t, err)
	pool, err := postgres.Open(ctx, dsn, 4)
	require.NoError(t, err)
	defer pool.Close()

	// One step at a time up, then one at a time down: each migration is
	// reversible on its own, as `migrate down 1` in a rollback needs.
	n := len(upFiles(t))
	for i := 0; i < n; i++ {
		require.NoError(t, postgres.Migrate(ctx, pool, 1), "step up %d", i+1)
	}
	full := schema(t, ctx, pool)
	for i := 0; i < n; i++ {
		require.NoError(t, postgres.Migrate(ctx, pool, -1), "step down %d", i+1)
	}
	assert.Empty(t, schema(t, ctx, pool))
	require.NoError(t, postgres.Migrate(ctx, pool, 0))
	assert.Equal(t, full, schema(t, ctx, pool))
}

var migrationName = regexp.MustCompile(`^(\d{6})_[a-z0-9_]+\.(up|down)\.sql$`)

func upFiles(t *testing.T) []string {
	t.Helper()
	ups, err := fs.Glob(migrations.FS, "*.up.sql")
	require.NoError(t, err)
	require.NotEmpty(t, ups)
	return ups
}

func latestVersion(t *testing.T) uint {
	ups := upFiles(t)
	var v uint
	for _, c := range strings.TrimLeft(ups[len(ups)-1][:6], "0") {
		v = v*10 + uint(c-'0')
	}
	return v
}

func TestMigrationFilesArePairs(t *testing.T) {
	all, err := fs.Glob(migrations.FS, "*.sql")
	require.NoError(t, err)
	seen := map[string]int{}
	for _, f := range all {
		m := migrationName.FindStringSubmatch(f)
		if !assert.NotNil(t, m, "%s: want NNNNNN_name.up.sql or .down.sql", f) {
			continue
		}
		seen[strings.TrimSuffix(strings.TrimSuffix(f, ".up.sql"), ".down.sql")]++
	}
	for base, n := range seen {
		assert.Equal(t, 2, n, "%s needs both an up and a down file", base)
	}
}

func TestIsViolation(t *testing.T) {
	unique := &pgconn.PgError{Code: postgres.UniqueViolation, ConstraintName: "members_email_key"}
	tests := []struct {
		name       string
		err        error
		code, cons string
		want       bool
	}{
		{"exact", unique, postgres.UniqueViolation, "members_email_key", true},
		{"wrapped", errors.Join(errors.New("insert"), unique), postgres.UniqueViolation, "members_email_key", true},
		{"any constraint", unique, postgres.UniqueViolation, "", true},
		{"other constraint", unique, postgres.UniqueViolation, "coupons_code_key", false},
		{"other code", unique, postgres.CheckViolation, "", false},
		{"not a pg error", errors.New("boom"), postgres.UniqueViolation, "", false},
		{"nil", nil, postgres.UniqueViolation, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, postgres.IsViolation(tt.err, tt.code, tt.cons))
		})
	}
}

func TestOpenFailsLoudly(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Nothing listens on port 1; the error must say where it tried and
	// must not print the password.
	_, err := postgres.Open(ctx, "postgres://app:pw-secret@127.0.0.1:1/x?connect_timeout=2", 1)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "127.0.0.1:1")
	assert.NotContains(t, err.Error(), "pw-secret")
}
