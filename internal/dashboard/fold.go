package dashboard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/RoaringBitmap/roaring/v2/roaring64"
	"github.com/jackc/pgx/v5"
)

// foldLock is the advisory lock key that makes one folder at a time do the
// work when every API instance runs one ("dashboard" in ASCII).
const foldLock = 0x64617368626f6172

// FoldBatch is how many delta rows one fold transaction moves. A delta is
// one statement's change to one slot, so this is thousands of issuance
// batches: a fold is a short transaction even after a long outage.
const FoldBatch = 5000

type cellKey struct {
	store int64
	grain string // SLOT or DAY
	start time.Time
}

type slotKey struct {
	store int64
	slot  time.Time
}

// Fold moves up to limit deltas into the rollups and reports how many it
// moved (0 when another folder holds the lock or nothing was pending).
//
// It is the only writer of dashboard_slots and dashboard_cells, so it can
// read-modify-write the member bitmaps without row-lock contention; the
// triggers only ever append to dashboard_deltas, which a fold deletes from
// in the same transaction that adds to the rollups.
func (s *Service) Fold(ctx context.Context, limit int) (int, error) {
	var moved int
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		var locked bool
		if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock($1)`, int64(foldLock)).Scan(&locked); err != nil {
			return fmt.Errorf("fold lock: %w", err)
		}
		if !locked {
			return nil
		}
		// Oldest first: an undone use (cancel-use) always commits after the
		// use it undoes, so its delta has a larger id and never folds alone.
		rows, _ := tx.Query(ctx, `
			DELETE FROM dashboard_deltas
			WHERE id IN (SELECT id FROM dashboard_deltas ORDER BY id LIMIT $1)
			RETURNING store_id, slot, issued, used, canceled, expiring, members, use_minutes, unuse_minutes`, limit)
		counts := map[slotKey]*slotCounts{}
		cells := map[cellKey]*cell{}
		var store int64
		var slot time.Time
		var issued, used, canceled, expiring int64
		var ids []int64
		var use, unuse []int32
		n, err := pgx.ForEachRow(rows, []any{&store, &slot, &issued, &used, &canceled, &expiring, &ids, &use, &unuse}, func() error {
			sk := slotKey{store, slot}
			c := counts[sk]
			if c == nil {
				c = &slotCounts{slot: slot}
				counts[sk] = c
			}
			c.issued += issued
			c.used += used
			c.canceled += canceled
			c.expiring += expiring
			if len(ids) == 0 && len(use) == 0 && len(unuse) == 0 {
				return nil
			}
			for _, k := range []cellKey{{store, "SLOT", slot}, {store, "DAY", slot.Truncate(24 * time.Hour)}} {
				ce := cells[k]
				if ce == nil {
					ce = newCell()
					cells[k] = ce
				}
				for _, id := range ids {
					ce.addMember(id)
				}
				for _, m := range use {
					ce.hist[m]++
				}
				for _, m := range unuse {
					ce.hist[m]--
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("take deltas: %w", err)
		}
		moved = int(n.RowsAffected())
		if moved == 0 {
			return nil
		}
		if err := addSlots(ctx, tx, counts); err != nil {
			return err
		}
		return mergeCells(ctx, tx, cells)
	})
	if err != nil {
		return 0, fmt.Errorf("fold dashboard deltas: %w", err)
	}
	return moved, nil
}

// addSlots adds the folded counts to dashboard_slots in one statement.
func addSlots(ctx context.Context, tx pgx.Tx, counts map[slotKey]*slotCounts) error {
	var stores []int64
	var slots []time.Time
	var issued, used, canceled, expiring []int64
	for k, c := range counts {
		stores = append(stores, k.store)
		slots = append(slots, k.slot)
		issued = append(issued, c.issued)
		used = append(used, c.used)
		canceled = append(canceled, c.canceled)
		expiring = append(expiring, c.expiring)
	}
	_, err := tx.Exec(ctx, `
		INSERT INTO dashboard_slots (store_id, slot, issued, used, canceled, expiring)
		SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::int[], $4::int[], $5::int[], $6::int[])
		ON CONFLICT (store_id, slot) DO UPDATE SET
			issued   = dashboard_slots.issued + excluded.issued,
			used     = dashboard_slots.used + excluded.used,
			canceled = dashboard_slots.canceled + excluded.canceled,
			expiring = dashboard_slots.expiring + excluded.expiring`,
		stores, slots, issued, used, canceled, expiring)
	if err != nil {
		return fmt.Errorf("add slots: %w", err)
	}
	return nil
}

// mergeCells merges the folded members and minutes into the stored cells:
// read the cells touched, merge in Go, write them back.
func mergeCells(ctx context.Context, tx pgx.Tx, cells map[cellKey]*cell) error {
	if len(cells) == 0 {
		return nil
	}
	var stores []int64
	var grains []string
	var starts []time.Time
	for k := range cells {
		stores = append(stores, k.store)
		grains = append(grains, k.grain)
		starts = append(starts, k.start)
	}
	rows, _ := tx.Query(ctx, `
		SELECT c.store_id, c.grain, c.start, c.members_once, c.members_twice, c.minutes, c.minute_counts
		FROM dashboard_cells c
		JOIN unnest($1::bigint[], $2::text[], $3::timestamptz[]) AS k (store_id, grain, start)
		  ON c.store_id = k.store_id AND c.grain = k.grain AND c.start = k.start`, stores, grains, starts)
	var k cellKey
	var once, twice []byte
	var minutes, counts []int32
	_, err := pgx.ForEachRow(rows, []any{&k.store, &k.grain, &k.start, &once, &twice, &minutes, &counts}, func() error {
		ce := cells[k]
		if ce == nil {
			return fmt.Errorf("cell %v came back unasked", k)
		}
		o, err := decodeBitmap(once)
		if err != nil {
			return err
		}
		t, err := decodeBitmap(twice)
		if err != nil {
			return err
		}
		// stored ∪ new: a member in both is now in the cell twice.
		t.Or(ce.twice)
		t.Or(roaring64.And(o, ce.once))
		o.Or(ce.once)
		ce.once, ce.twice = o, t
		ce.hist.addArrays(minutes, counts)
		return nil
	})
	if err != nil {
		return fmt.Errorf("read cells: %w", err)
	}

	batch := &pgx.Batch{}
	for k, ce := range cells {
		o, err := encodeBitmap(ce.once)
		if err != nil {
			return err
		}
		t, err := encodeBitmap(ce.twice)
		if err != nil {
			return err
		}
		m, c := ce.hist.arrays()
		batch.Queue(`
			INSERT INTO dashboard_cells (store_id, grain, start, members_once, members_twice, minutes, minute_counts)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (store_id, grain, start) DO UPDATE SET
				members_once = excluded.members_once, members_twice = excluded.members_twice,
				minutes = excluded.minutes, minute_counts = excluded.minute_counts`,
			k.store, k.grain, k.start, o, t, m, c)
	}
	if err := tx.SendBatch(ctx, batch).Close(); err != nil {
		return fmt.Errorf("write cells: %w", err)
	}
	return nil
}

// FoldAll folds until no deltas are pending (or another folder has the
// lock). Tests and the benchmark call it; RunFolder calls it on a timer.
func (s *Service) FoldAll(ctx context.Context) (int, error) {
	total := 0
	for {
		n, err := s.Fold(ctx, FoldBatch)
		total += n
		if err != nil || n < FoldBatch {
			return total, err
		}
	}
}

// RunFolder folds every interval until ctx ends. Every API instance may run
// one: the advisory lock lets one work and the others skip. Reads are exact
// without it (they add unfolded deltas); folding keeps them fast.
func (s *Service) RunFolder(ctx context.Context, every time.Duration, log *slog.Logger) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if _, err := s.FoldAll(ctx); err != nil && !errors.Is(err, context.Canceled) {
			log.WarnContext(ctx, "dashboard fold", "err", err)
		}
	}
}

// Rebuild recomputes one store's rollups from its coupons: after coupons
// were deleted or changed by hand, or to check the rollups. The canceled
// counts are kept, since coupons keep no record of undone uses.
//
// It holds the fold lock on its own connection, then works in one
// REPEATABLE READ snapshot: coupons committed before the snapshot are
// recounted and their deltas dropped; those committed after it keep their
// deltas. Either way each coupon is counted once.
func (s *Service) Rebuild(ctx context.Context, storeID int64) error {
	conn, err := s.db.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("rebuild store %d: %w", storeID, err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, int64(foldLock)); err != nil {
		return fmt.Errorf("rebuild store %d: lock: %w", storeID, err)
	}
	defer func() {
		// A fresh context: the lock must go even when ctx is done.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, err := conn.Exec(ctx, `SELECT pg_advisory_unlock($1)`, int64(foldLock)); err != nil {
			conn.Conn().Close(ctx) // closing the session releases the lock
		}
	}()
	err = pgx.BeginTxFunc(ctx, conn, pgx.TxOptions{IsoLevel: pgx.RepeatableRead}, func(tx pgx.Tx) error {
		for _, q := range []string{
			// One statement, one snapshot: the canceled counts are read
			// before the rows holding them go.
			`WITH kept AS (
			     SELECT slot, sum(canceled)::int AS canceled FROM (
			         SELECT slot, canceled FROM dashboard_slots WHERE store_id = $1
			         UNION ALL
			         SELECT slot, canceled FROM dashboard_deltas WHERE store_id = $1) x
			     GROUP BY slot HAVING sum(canceled) <> 0),
			 d1 AS (DELETE FROM dashboard_deltas WHERE store_id = $1),
			 d2 AS (DELETE FROM dashboard_slots WHERE store_id = $1),
			 d3 AS (DELETE FROM dashboard_cells WHERE store_id = $1)
			 INSERT INTO dashboard_deltas (store_id, slot, canceled) SELECT $1, slot, canceled FROM kept`,
			`INSERT INTO dashboard_deltas (store_id, slot, issued, used, expiring, members, use_minutes)
			 SELECT store_id, dashboard_slot(issued_at), count(*), 0, 0, array_agg(member_id), NULL::integer[]
			 FROM coupons WHERE store_id = $1 GROUP BY 1, 2
			 UNION ALL
			 SELECT store_id, dashboard_slot(expires_at), 0, 0, count(*), NULL, NULL
			 FROM coupons WHERE store_id = $1 AND status IN ('ISSUED', 'EXPIRED') GROUP BY 1, 2
			 UNION ALL
			 SELECT store_id, dashboard_slot(used_at), 0, count(*), 0, NULL, array_agg(dashboard_minutes(issued_at, used_at))
			 FROM coupons WHERE store_id = $1 AND status = 'USED' AND used_at IS NOT NULL GROUP BY 1, 2`,
		} {
			if _, err := tx.Exec(ctx, q, storeID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("rebuild store %d: %w", storeID, err)
	}
	return nil
}
