package corpus

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Load writes stores (and their events, windows relative to now) into
// PostgreSQL as fixtures and returns the store ids, ids[i] for stores[i].
// It writes the store package's tables directly, as a seed would: fixtures
// for tests and benchmarks, never production code.
func Load(ctx context.Context, db *pgxpool.Pool, stores []Store, now time.Time) ([]int64, error) {
	var owner int64
	err := db.QueryRow(ctx, `
		INSERT INTO members (email, password_hash, nickname, role)
		VALUES ('corpus-owner@couponpop.test', 'x', 'corpus', 'OWNER')
		ON CONFLICT (email) DO UPDATE SET nickname = excluded.nickname
		RETURNING id`).Scan(&owner)
	if err != nil {
		return nil, fmt.Errorf("corpus owner: %w", err)
	}
	ids := make([]int64, 0, len(stores))
	const batch = 5000
	for start := 0; start < len(stores); start += batch {
		part := stores[start:min(start+batch, len(stores))]
		got, err := loadBatch(ctx, db, owner, part, now)
		if err != nil {
			return nil, err
		}
		ids = append(ids, got...)
	}
	// Fresh statistics before anyone queries: right after a bulk load the
	// planner still believes the tables empty and picks plans (a sequential
	// scan of coupon_events per store) that take minutes at 100,000 stores.
	if _, err := db.Exec(ctx, `ANALYZE stores, coupon_events`); err != nil {
		return nil, fmt.Errorf("analyze: %w", err)
	}
	return ids, nil
}

func loadBatch(ctx context.Context, db *pgxpool.Pool, owner int64, stores []Store, now time.Time) ([]int64, error) {
	var ids []int64
	err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		// Ids are drawn from the sequence first so that ids[i] is stores[i]
		// for sure: INSERT … RETURNING promises no order.
		rows, _ := tx.Query(ctx, `SELECT nextval(pg_get_serial_sequence('stores', 'id')) FROM generate_series(1, $1)`, len(stores))
		var err error
		if ids, err = pgx.CollectRows(rows, pgx.RowTo[int64]); err != nil {
			return fmt.Errorf("store ids: %w", err)
		}
		n := len(stores)
		names, cats, descs, addrs := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		lats, lngs := make([]float64, n), make([]float64, n)
		var evStore []int64
		var evTitle, evType []string
		var evValue, evTotal []int
		var evStart, evEnd []time.Time
		for i, s := range stores {
			names[i], cats[i], descs[i], addrs[i], lats[i], lngs[i] = s.Name, s.Category, s.Description, s.Address, s.Lat, s.Lng
			for _, e := range s.Events {
				evStore = append(evStore, ids[i])
				evTitle, evType = append(evTitle, e.Title), append(evType, e.DiscountType)
				evValue, evTotal = append(evValue, e.DiscountValue), append(evTotal, e.Total)
				evStart = append(evStart, now.Add(e.StartIn))
				evEnd = append(evEnd, now.Add(e.StartIn+e.Length))
			}
		}
		if _, err := tx.Exec(ctx, `
			INSERT INTO stores (id, owner_id, name, category, description, address, location)
			OVERRIDING SYSTEM VALUE
			SELECT id, $2, n, c, d, a, ST_SetSRID(ST_MakePoint(lng, lat), 4326)::geography
			FROM unnest($1::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::float8[], $8::float8[])
			     AS t(id, n, c, d, a, lat, lng)`,
			ids, owner, names, cats, descs, addrs, lats, lngs); err != nil {
			return fmt.Errorf("insert %d stores: %w", n, err)
		}
		if len(evStore) == 0 {
			return nil
		}
		if _, err := tx.Exec(ctx, `
			INSERT INTO coupon_events (store_id, title, discount_type, discount_value, total_quantity,
			                           issue_starts_at, issue_ends_at, valid_hours)
			SELECT s, t, ty, v, q, st, en, 24
			FROM unnest($1::bigint[], $2::text[], $3::text[], $4::int[], $5::int[], $6::timestamptz[], $7::timestamptz[])
			     AS e(s, t, ty, v, q, st, en)`,
			evStore, evTitle, evType, evValue, evTotal, evStart, evEnd); err != nil {
			return fmt.Errorf("insert %d events: %w", len(evStore), err)
		}
		return nil
	})
	return ids, err
}
