package search_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/couponpop/couponpop/internal/search"
	"github.com/couponpop/couponpop/internal/store"
)

// TestResultEvents: results show exactly the events a customer can get now,
// with live stock from PostgreSQL, and such stores rank above twins without
// one; a store deleted a moment ago is gone even before the sync runs.
func TestResultEvents(t *testing.T) {
	ctx := context.Background()
	tok := token()
	// The twin first: equal scores tie-break on the lower id, so without
	// the boost the twin would come first.
	twin := createStore(t, "쿠폰 카페 "+tok, "CAFE", "디저트 카페", 37.55, 126.92)
	withEvent := createStore(t, "쿠폰 카페 "+tok, "CAFE", "디저트 카페", 37.55, 126.92)
	gone := createStore(t, "쿠폰 카페 "+tok, "CAFE", "디저트 카페", 37.55, 126.92)
	event := func(title, status string, starts, ends time.Duration, total, issued int) int64 {
		var id int64
		require.NoError(t, testDB.QueryRow(ctx, `
			INSERT INTO coupon_events (store_id, title, discount_type, discount_value, total_quantity, issued_count,
			                           issue_starts_at, issue_ends_at, valid_hours, status)
			VALUES ($1, $2, 'AMOUNT', 1000, $3, $4, now() + $5::interval, now() + $6::interval, 24, $7)
			RETURNING id`, withEvent.ID, title, total, issued, starts.String(), ends.String(), status).Scan(&id))
		return id
	}
	open := event("아메리카노 할인", "ACTIVE", -time.Hour, time.Hour, 100, 40)
	event("라떼 할인", "ACTIVE", time.Hour, 2*time.Hour, 100, 0)
	event("케이크 할인", "ACTIVE", -time.Hour, time.Hour, 100, 100)
	event("쿠키 할인", "SUSPENDED", -time.Hour, time.Hour, 100, 0)
	ix, svc := newIndex(t, "events")
	// Windows close with nobody writing: end one after indexing.
	closing := event("마카롱 할인", "ACTIVE", -time.Hour, time.Hour, 100, 0)
	require.NoError(t, ix.Sync(ctx, []int64{withEvent.ID}))
	_, err := testDB.Exec(ctx, `UPDATE coupon_events SET issue_ends_at = now() WHERE id = $1`, closing)
	require.NoError(t, err)
	// Deleted in PostgreSQL, not yet synced.
	require.NoError(t, store.NewService(testDB, nil).Delete(ctx, owner(t), gone.ID))

	waitFor(t, "the synced store", func() bool {
		_, ok := find(t, svc, search.Request{Text: tok, Mode: search.BM25}, withEvent.ID)
		return ok
	})
	for _, mode := range []search.Mode{search.BM25, search.KNN, search.Hybrid} {
		res, err := svc.Search(ctx, search.Request{Text: "쿠폰 카페 " + tok, Mode: mode, Limit: 50})
		require.NoError(t, err)
		rank := map[int64]int{}
		for i, it := range res.Items {
			rank[it.Store.ID] = i + 1
			if it.Store.ID == withEvent.ID {
				require.Len(t, it.Events, 1, "%s: only the open event", mode)
				assert.Equal(t, open, it.Events[0].ID)
				assert.Equal(t, 60, it.Events[0].Remaining, "live stock")
			}
			if it.Store.ID == twin.ID {
				assert.Empty(t, it.Events)
				assert.NotNil(t, it.Events, "events is [] not null")
			}
		}
		if mode == search.BM25 {
			// Same text, same keyword score (the event titles do not match
			// the query): only the boost tells them apart. (Their vectors
			// differ, as the titles are embedded, so kNN may go either way.)
			require.NotZero(t, rank[withEvent.ID])
			require.NotZero(t, rank[twin.ID])
			assert.Less(t, rank[withEvent.ID], rank[twin.ID], "the store with a coupon ranks up")
		}
		assert.Zero(t, rank[gone.ID], "%s: a deleted store is not shown", mode)
	}
}
