package search_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/couponpop/couponpop/internal/outbox"
	"github.com/couponpop/couponpop/internal/search"
	"github.com/couponpop/couponpop/internal/store"
)

// syncDeadline is the product promise: a committed change is searchable
// within 2 s.
const syncDeadline = 2 * time.Second

// TestSyncLatency drives the indexer from the message bus exactly as the
// outbox relay will (private exchange and queue, the relay's format) and
// measures, for create, update, event, delete, the time from the publish
// that follows the commit to the change being visible in search.
func TestSyncLatency(t *testing.T) {
	ix, svc := newIndex(t, "sync")
	b := newBus(t, "sync")
	runSyncer(t, ix, b)
	stores := store.NewService(testDB, nil)
	ctx := context.Background()
	p := owner(t)

	tok := token()
	st := createStore(t, "싱크 라멘 "+tok, "FOOD", "돈코츠 라멘 전문점", 37.55, 126.92)
	search1 := func(q string) (search.Item, bool) {
		return find(t, svc, search.Request{Text: q, Mode: search.BM25, Limit: 5}, st.ID)
	}

	t.Run("create", func(t *testing.T) {
		b.publish(t, "STORE_CHANGED", map[string]any{"store_id": st.ID})
		d := waitFor(t, "new store searchable", func() bool { _, ok := search1(tok); return ok })
		t.Logf("create visible after %s", d)
		assert.Less(t, d, syncDeadline)
	})

	t.Run("update", func(t *testing.T) {
		tok2 := token()
		name := "싱크 라멘 " + tok2
		_, err := stores.Update(ctx, p, st.ID, store.Input{Name: &name})
		require.NoError(t, err)
		b.publish(t, "STORE_CHANGED", map[string]any{"store_id": st.ID})
		d := waitFor(t, "renamed store searchable by its new name", func() bool { _, ok := search1(tok2); return ok })
		t.Logf("update visible after %s", d)
		assert.Less(t, d, syncDeadline)
		_, old := search1(tok)
		assert.False(t, old, "the old name still finds the store")
	})

	t.Run("event created", func(t *testing.T) {
		evTok := token()
		evID := addEvent(t, st.ID, "라멘 "+evTok+" 20% 할인")
		b.publish(t, "EVENT_CREATED", map[string]any{"event_id": evID, "store_id": st.ID, "issue_starts_at": time.Now()})
		var item search.Item
		d := waitFor(t, "event searchable", func() bool {
			var ok bool
			item, ok = search1(evTok)
			return ok
		})
		t.Logf("event visible after %s", d)
		assert.Less(t, d, syncDeadline)
		require.Len(t, item.Events, 1)
		assert.Equal(t, evID, item.Events[0].ID)
		assert.Equal(t, 100, item.Events[0].Remaining)
	})

	t.Run("event changed without store_id", func(t *testing.T) {
		// A payload that names only the event: the syncer finds its store.
		evTok := token()
		var evID int64
		require.NoError(t, testDB.QueryRow(ctx, `
			UPDATE coupon_events SET title = $2, updated_at = now() WHERE store_id = $1 RETURNING id`,
			st.ID, "라멘 "+evTok).Scan(&evID))
		b.publish(t, "EVENT_CHANGED", map[string]any{"event_id": evID, "status": "ACTIVE"})
		d := waitFor(t, "renamed event searchable", func() bool { _, ok := search1(evTok); return ok })
		assert.Less(t, d, syncDeadline)
	})

	t.Run("poison message does not block", func(t *testing.T) {
		b.publish(t, "STORE_CHANGED", []byte("not json"))
		b.publish(t, "STORE_CHANGED", map[string]any{"nothing": "useful"})
		tok3 := token()
		other := createStore(t, "싱크 베이커리 "+tok3, "BAKERY", "", 37.56, 126.93)
		b.publish(t, "STORE_CHANGED", map[string]any{"store_id": other.ID})
		waitFor(t, "store after poison messages", func() bool {
			_, ok := find(t, svc, search.Request{Text: tok3, Mode: search.BM25}, other.ID)
			return ok
		})
	})

	t.Run("delete", func(t *testing.T) {
		require.NoError(t, stores.Delete(ctx, p, st.ID))
		b.publish(t, "STORE_DELETED", map[string]any{"store_id": st.ID})
		d := waitFor(t, "deleted store gone", func() bool {
			_, ok := search1("싱크 라멘")
			return !ok
		})
		t.Logf("delete visible after %s", d)
		assert.Less(t, d, syncDeadline)
	})
}

// TestSyncSurvivesOpenSearchOutage: while OpenSearch cannot be reached the
// syncer requeues (nothing is lost) and applies the change once it can.
func TestSyncSurvivesOpenSearchOutage(t *testing.T) {
	ix, svc := newIndex(t, "outage")
	// An indexer whose OpenSearch is a closed port, on the same queue.
	dead, err := search.NewClient("http://127.0.0.1:1")
	require.NoError(t, err)
	deadIx := search.NewIndexer(testDB, dead, testEmb, search.IndexerOptions{Alias: ix.Alias()})
	b := newBus(t, "outage")
	s := search.NewSyncer(rabbitURL, deadIx, search.SyncerOptions{Exchange: b.exchange, Queue: b.queue})
	require.NoError(t, s.Declare(context.Background()))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()

	tok := token()
	st := createStore(t, "장애 카페 "+tok, "CAFE", "", 37.55, 126.92)
	b.publish(t, "STORE_CHANGED", map[string]any{"store_id": st.ID})
	time.Sleep(300 * time.Millisecond) // delivered, failed, waiting to requeue
	cancel()
	require.NoError(t, <-done)

	// OpenSearch is "back": a healthy syncer on the same queue gets the
	// message that the failed one gave back.
	runSyncer(t, ix, b)
	waitFor(t, "change applied after the outage", func() bool {
		_, ok := find(t, svc, search.Request{Text: tok, Mode: search.BM25}, st.ID)
		return ok
	})
}

// TestSyncThroughRelay drives the whole path once with the real outbox
// relay: a transaction writes a store change and its outbox row, the relay
// publishes it, the syncer applies it. Commit to searchable within 2 s.
func TestSyncThroughRelay(t *testing.T) {
	ix, svc := newIndex(t, "relay")
	b := newBus(t, "relay")
	runSyncer(t, ix, b)
	ctx, cancel := context.WithCancel(context.Background())
	relay := outbox.NewRelay(testDB, outbox.RelayConfig{URL: rabbitURL, Exchange: b.exchange})
	relayDone := make(chan error, 1)
	go func() { relayDone <- relay.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-relayDone
	})

	st := createStore(t, "릴레이 카페", "CAFE", "", 37.55, 126.92)
	commit := func(name string, msgs func(eventID int64) []outbox.Message) time.Time {
		t.Helper()
		err := pgx.BeginFunc(ctx, testDB, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `UPDATE stores SET name = $2, updated_at = now() WHERE id = $1`, st.ID, name); err != nil {
				return err
			}
			var evID int64
			if err := tx.QueryRow(ctx, `
				INSERT INTO coupon_events (store_id, title, discount_type, discount_value, total_quantity,
				                           issue_starts_at, issue_ends_at, valid_hours)
				VALUES ($1, $2, 'AMOUNT', 1000, 50, now(), now() + interval '1 day', 24) RETURNING id`,
				st.ID, name+" 쿠폰").Scan(&evID); err != nil {
				return err
			}
			return outbox.Add(ctx, tx, msgs(evID)...)
		})
		require.NoError(t, err)
		return time.Now()
	}

	tok := token()
	committed := commit("릴레이 카페 "+tok, func(evID int64) []outbox.Message {
		return []outbox.Message{
			{Kind: outbox.StoreChanged, TraceID: outbox.TraceID(outbox.StoreChanged, st.ID), Payload: map[string]any{"store_id": st.ID}},
			{Kind: outbox.EventCreated, TraceID: outbox.TraceID(outbox.EventCreated, evID), Payload: map[string]any{"event_id": evID, "store_id": st.ID}},
			// Not bound by search.sync: must not matter.
			{Kind: outbox.CouponIssued, TraceID: "COUPON_ISSUED:test", Payload: map[string]any{"coupon_id": 1, "store_id": st.ID}},
		}
	})
	var item search.Item
	waitFor(t, "change through the relay", func() bool {
		var ok bool
		item, ok = find(t, svc, search.Request{Text: tok, Mode: search.BM25}, st.ID)
		return ok
	})
	d := time.Since(committed)
	t.Logf("commit → relay → RabbitMQ → indexer → searchable: %s", d)
	assert.Less(t, d, syncDeadline)
	assert.Len(t, item.Events, 1)
}

// TestSyncWithoutModel: with the model down a change is still indexed, at
// once and without a vector (keyword search finds it), and the repair pass
// adds the vector when the model is back.
func TestSyncWithoutModel(t *testing.T) {
	ix, svc := newIndex(t, "nomodel")
	down := search.NewOpenAI("http://127.0.0.1:1", "e5", nil)
	blind := search.NewIndexer(testDB, testOS, down, search.IndexerOptions{Alias: ix.Alias()})
	tok := token()
	st := createStore(t, "모델 없는 카페 "+tok, "CAFE", "", 37.55, 126.92)
	require.NoError(t, blind.Sync(context.Background(), []int64{st.ID}))

	hasVector := func() bool {
		var res struct {
			Source map[string]any `json:"_source"`
		}
		osGet(t, "/"+ix.Alias()+"/_doc/"+strconv.FormatInt(st.ID, 10), nil, &res)
		return res.Source["has_embedding"] == true
	}
	waitFor(t, "store searchable without a vector", func() bool {
		_, ok := find(t, svc, search.Request{Text: tok, Mode: search.BM25}, st.ID)
		return ok
	})
	assert.False(t, hasVector())

	waitFor(t, "repair finds the store", func() bool {
		n, err := ix.RepairEmbeddings(context.Background(), 100)
		require.NoError(t, err)
		return n > 0
	})
	waitFor(t, "vector added", hasVector)
}

// TestReconcile: changes that never produced a message (a writer without
// an outbox row, a purged queue) are found by the reconcile pass; a store
// already up to date costs no re-sync.
func TestReconcile(t *testing.T) {
	ix, svc := newIndex(t, "reconcile")
	ctx := context.Background()
	var since time.Time
	require.NoError(t, testDB.QueryRow(ctx, `SELECT now()`).Scan(&since))
	tok := token()
	st := createStore(t, "조용한 서점 "+tok, "ETC", "", 37.55, 126.92)
	gone := createStore(t, "곧 닫는 가게 "+tok, "ETC", "", 37.55, 126.92)
	require.NoError(t, ix.Sync(ctx, []int64{gone.ID}))
	require.NoError(t, store.NewService(testDB, nil).Delete(ctx, owner(t), gone.ID))

	n, err := ix.Reconcile(ctx, since)
	require.NoError(t, err)
	assert.Equal(t, 2, n, "the unsynced store and the deleted one")
	waitFor(t, "reconciled store searchable", func() bool {
		_, ok := find(t, svc, search.Request{Text: tok, Mode: search.BM25}, st.ID)
		return ok
	})
	n, err = ix.Reconcile(ctx, since)
	require.NoError(t, err)
	assert.Zero(t, n, "nothing left to do")
}
