package dashboard_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

	"github.com/couponpop/couponpop/internal/dashboard"
)

// TestFoldWhileWriting folds from three "API instances" at once while
// issuance batches, redeems and cancel-uses run concurrently: nothing is
// counted twice or lost, and no writer waits on a rollup row (the test
// would deadlock or time out if one did).
func TestFoldWhileWriting(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	p, _, _ := e.owner(t)
	st := e.store(t, p, "Asia/Seoul")
	now := time.Now()
	ev := insertEvent(t, st.ID, eventSpec{Title: "Rush", Total: 100000, Issued: 100000, Starts: now.Add(-time.Hour), Ends: now.Add(time.Hour)})
	people := customers(t, 100)

	writeCtx, stopWriting := context.WithTimeout(ctx, 60*time.Second)
	defer stopWriting()
	var writers errgroup.Group
	for w := range 4 {
		writers.Go(func() error {
			for b := range 10 {
				batch := make([]coupon, 0, len(people))
				for i, m := range people {
					at := now.Add(-time.Duration(i+w*7) * time.Minute)
					batch = append(batch, coupon{Event: ev, Store: st.ID, Member: m, Seq: w*10 + b + 1, Status: "ISSUED",
						Issued: at, Expires: at.Add(24 * time.Hour)})
				}
				if err := insertCouponsErr(batch); err != nil {
					return err
				}
				// Redeem a few and undo one, like the issue package: the
				// coupon row first, then the event row.
				if _, err := pool.Exec(writeCtx, `
					UPDATE coupons SET status = 'USED', used_at = issued_at + interval '17 minutes', updated_at = now()
					WHERE id IN (SELECT id FROM coupons WHERE event_id = $1 AND seq = $2 AND status = 'ISSUED' LIMIT 5)`,
					ev, w*10+b+1); err != nil {
					return err
				}
				if _, err := pool.Exec(writeCtx, `UPDATE coupon_events SET used_count = used_count + 5 WHERE id = $1`, ev); err != nil {
					return err
				}
				if _, err := pool.Exec(writeCtx, `
					UPDATE coupons SET status = 'ISSUED', used_at = NULL, updated_at = now()
					WHERE id IN (SELECT id FROM coupons WHERE event_id = $1 AND seq = $2 AND status = 'USED' LIMIT 1)`,
					ev, w*10+b+1); err != nil {
					return err
				}
			}
			return nil
		})
	}
	var folders errgroup.Group
	folding, stopFolding := context.WithCancel(ctx)
	for range 3 {
		folders.Go(func() error {
			for folding.Err() == nil {
				if _, err := e.dash.Fold(folding, 50); err != nil && folding.Err() == nil {
					return err
				}
			}
			return nil
		})
	}
	defer func() { // even when a writer failed: no folder may outlive the test
		stopFolding()
		_ = folders.Wait()
	}()
	require.NoError(t, writers.Wait())
	stopFolding()
	require.NoError(t, folders.Wait())
	// A folder cancelled mid-transaction may hold the fold lock until its
	// session notices; FoldAll then skips, as every instance's would, and
	// the next try folds.
	require.Eventually(t, func() bool {
		var pending int
		if _, err := e.dash.FoldAll(ctx); err != nil {
			return false
		}
		err := pool.QueryRow(ctx, `SELECT count(*) FROM dashboard_deltas WHERE store_id = $1`, st.ID).Scan(&pending)
		return err == nil && pending == 0
	}, 10*time.Second, 50*time.Millisecond, "deltas left unfolded")

	w, err := dashboard.NewWindow(now.Add(-3*time.Hour), now.Add(time.Hour), dashboard.Hour, mustLoc(t, "Asia/Seoul"))
	require.NoError(t, err)
	got, err := e.dash.Compute(ctx, st.ID, w, time.Now())
	require.NoError(t, err)
	want, err := e.dash.Raw(ctx, st.ID, w, time.Now())
	require.NoError(t, err)
	require.Equal(t, int64(4*10*len(people)), got.Totals.Issued)
	require.Equal(t, int64(4*10*4), got.Totals.Used)
	require.Equal(t, int64(4*10), got.Totals.Canceled)
	got.Totals.Canceled, got.Series = 0, zeroCanceled(got.Series)
	require.Equal(t, want, got)
}

// TestReadWhileFolding reads the dashboard over and over while folders move
// its deltas into the rollups in small steps. The data does not change, so
// every read must give the same answer as the raw aggregate: a read that
// saw a delta in both places, or in neither, would be off.
func TestReadWhileFolding(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	p, _, _ := e.owner(t)
	st := e.store(t, p, "Europe/London")
	base := rfc(t, "2024-03-29T00:00:00Z") // across London's clock change
	ev := insertEvent(t, st.ID, eventSpec{Title: "Spring", Total: 100000, Starts: base, Ends: base.Add(72 * time.Hour)})
	people := customers(t, 10)
	// 200 small statements: ~600 deltas with members and minutes, so the
	// folders below keep folding through many reads.
	for b := range 200 {
		batch := make([]coupon, 0, len(people))
		for i, m := range people {
			at := base.Add(time.Duration(b*19+i*7) * time.Minute)
			c := coupon{Event: ev, Store: st.ID, Member: m, Seq: b + 1, Status: "ISSUED", Issued: at, Expires: at.Add(6 * time.Hour)}
			if (i+b)%3 == 0 {
				c.Status, c.Used = "USED", ptr(at.Add(time.Duration(i+b)*time.Minute))
			}
			batch = append(batch, c)
		}
		insertCoupons(t, batch)
	}
	w, err := dashboard.NewWindow(base, base.Add(72*time.Hour), dashboard.Hour, mustLoc(t, "Europe/London"))
	require.NoError(t, err)
	now := base.Add(100 * time.Hour)
	want, err := e.dash.Raw(ctx, st.ID, w, now)
	require.NoError(t, err)

	folding, stopFolding := context.WithCancel(ctx)
	var folders errgroup.Group
	for range 2 {
		folders.Go(func() error {
			for folding.Err() == nil {
				if _, err := e.dash.Fold(folding, 1); err != nil && folding.Err() == nil {
					return err
				}
			}
			return nil
		})
	}
	defer func() {
		stopFolding()
		_ = folders.Wait()
	}()
	reads := 0
	for pending := 1; pending > 0 || reads < 20; reads++ {
		got, err := e.dash.Compute(ctx, st.ID, w, now)
		require.NoError(t, err)
		got.Totals.Canceled, got.Series = 0, zeroCanceled(got.Series)
		require.Equal(t, want.Totals, got.Totals, "read %d", reads)
		require.Equal(t, want, got, "read %d", reads)
		require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM dashboard_deltas WHERE store_id = $1`, st.ID).Scan(&pending))
	}
	t.Logf("%d reads while folding", reads)
	stopFolding()
	require.NoError(t, folders.Wait())
}
