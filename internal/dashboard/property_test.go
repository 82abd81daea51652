package dashboard_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/couponpop/couponpop/internal/dashboard"
)

// TestRollupEqualsRaw is the property the rollups live by: for any window,
// zone and bucket, the dashboard read from rollups equals a direct
// aggregate over the coupons (Raw), whatever has been folded so far.
//
// The history is random but shaped like production: coupons inserted in
// issuance-sized multi-row batches, then redeemed, undone and expired by
// the issue package's own statements, with folds in between, across both
// 2024 DST changes of New York and London. Windows are random, some
// unaligned and some containing "now" (where the current slot is only
// partly expired). Canceled is left out: coupons keep no record of undone
// uses, so Raw cannot know them (TestCanceledAndUsedFollowRedeemAndUndo
// covers it).
func TestRollupEqualsRaw(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	p, _, _ := e.owner(t)
	st := e.store(t, p, "Asia/Seoul")
	rng := rand.New(rand.NewPCG(6, 2024))

	start := rfc(t, "2024-02-20T00:00:00Z")
	end := rfc(t, "2024-04-10T00:00:00Z")
	now := rfc(t, "2024-04-01T12:07:30Z") // the dashboard's "now": inside the data
	span := end.Sub(start)
	randTime := func(from time.Time, d time.Duration) time.Time {
		return from.Add(time.Duration(rng.Int64N(int64(d)/int64(time.Second))) * time.Second)
	}

	events := []int64{
		insertEvent(t, st.ID, eventSpec{Title: "Morning", Total: 100000, Starts: start, Ends: end}),
		insertEvent(t, st.ID, eventSpec{Title: "Lunch", Total: 100000, Starts: start, Ends: end}),
		insertEvent(t, st.ID, eventSpec{Title: "Late", Total: 100000, Starts: start.Add(20 * 24 * time.Hour), Ends: end}),
	}
	people := customers(t, 150)
	seqs := map[[2]int64]int{} // (event, member) -> coupons so far

	// Issue 4,000 coupons in 16 batches, folding after some of them. Only
	// coupons issued before now exist; uses happen before now; EXPIRED
	// only once expires_at has passed (what the expiry batch does).
	for b := range 16 {
		var batch []coupon
		for range 250 {
			ev := events[rng.IntN(len(events))]
			m := people[rng.IntN(len(people))]
			seqs[[2]int64{ev, m}]++
			issued := randTime(start, now.Sub(start))
			c := coupon{Event: ev, Store: st.ID, Member: m, Seq: seqs[[2]int64{ev, m}], Status: "ISSUED",
				Issued: issued, Expires: randTime(issued.Add(time.Hour), 5*24*time.Hour)}
			switch r := rng.Float64(); {
			case r < 0.45:
				if u := randTime(issued, 3*24*time.Hour); u.Before(now) {
					c.Status, c.Used = "USED", &u
				}
			case r < 0.65:
				if !c.Expires.After(now) {
					c.Status = "EXPIRED"
				}
			}
			batch = append(batch, c)
		}
		insertCoupons(t, batch)
		if b%5 == 2 {
			_, err := e.dash.Fold(ctx, 7) // partial folds: some deltas stay behind
			require.NoError(t, err)
		}
	}

	// Redeem some ISSUED coupons at their own random moment (before now),
	// undo some uses, and run an expiry batch as of now.
	exec := func(sql string, args ...any) {
		t.Helper()
		_, err := pool.Exec(ctx, sql, args...)
		require.NoError(t, err)
	}
	for range 5 {
		exec(`
			UPDATE coupons SET status = 'USED', updated_at = now(),
			       used_at = issued_at + (random() * least(expires_at - issued_at, $3::timestamptz - issued_at))
			WHERE id IN (SELECT id FROM coupons WHERE store_id = $1 AND status = 'ISSUED' AND expires_at > issued_at
			             ORDER BY md5(id::text || $2) LIMIT 40)`, st.ID, fmt.Sprint(rng.Int()), now)
		exec(`
			UPDATE coupons SET status = 'ISSUED', used_at = NULL, updated_at = now()
			WHERE id IN (SELECT id FROM coupons WHERE store_id = $1 AND status = 'USED'
			             ORDER BY md5(id::text || $2) LIMIT 15)`, st.ID, fmt.Sprint(rng.Int()))
		_, err := e.dash.Fold(ctx, 5)
		require.NoError(t, err)
	}
	exec(`UPDATE coupons SET status = 'EXPIRED', updated_at = now()
	      WHERE store_id = $1 AND status = 'ISSUED' AND expires_at <= $2 AND id % 2 = 0`, st.ID, now)

	zones := []string{"Asia/Seoul", "America/New_York", "Europe/London", "UTC"}
	buckets := []dashboard.Bucket{dashboard.Hour, dashboard.Day, dashboard.Week}
	compare := func(stage string, cases int) {
		for i := range cases {
			loc := mustLoc(t, zones[rng.IntN(len(zones))])
			b := buckets[rng.IntN(len(buckets))]
			maxDays := map[dashboard.Bucket]int{dashboard.Hour: 6, dashboard.Day: 45, dashboard.Week: 60}[b]
			from := randTime(start.Add(-3*24*time.Hour), span)
			to := from.Add(time.Duration(1+rng.Int64N(int64(maxDays)*24*60)) * time.Minute)
			if i%5 == 0 { // make sure "now" is inside often enough
				from, to = now.Add(-time.Duration(rng.IntN(72))*time.Hour), now.Add(time.Duration(1+rng.IntN(72))*time.Hour)
			}
			w, err := dashboard.NewWindow(from, to, b, loc)
			require.NoError(t, err)
			name := fmt.Sprintf("%s %s %s [%s, %s)", stage, loc, b, w.From().Format(time.RFC3339), w.To().Format(time.RFC3339))

			got, err := e.dash.Compute(ctx, st.ID, w, now)
			require.NoError(t, err, name)
			want, err := e.dash.Raw(ctx, st.ID, w, now)
			require.NoError(t, err, name)
			got.Totals.Canceled, got.Series = 0, zeroCanceled(got.Series)
			require.Equal(t, want, got, name)
		}
	}
	compare("partly folded", 60)
	_, err := e.dash.FoldAll(ctx)
	require.NoError(t, err)
	compare("folded", 40)
	require.NoError(t, e.dash.Rebuild(ctx, st.ID))
	_, err = e.dash.FoldAll(ctx)
	require.NoError(t, err)
	compare("rebuilt", 20)
}
