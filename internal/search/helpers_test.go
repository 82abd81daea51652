package search_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/require"

	"github.com/couponpop/couponpop/internal/auth"
	"github.com/couponpop/couponpop/internal/httpapi"
	"github.com/couponpop/couponpop/internal/search"
	"github.com/couponpop/couponpop/internal/search/corpus"
	"github.com/couponpop/couponpop/internal/store"
)

var seedOnce sync.Once

// seedCorpus puts 300 generated stores into the package database once per
// run, so every test has a realistic index to search whatever ran before it.
func seedCorpus(t *testing.T) {
	t.Helper()
	seedOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, err := corpus.Load(ctx, testDB, corpus.Generate(300, 7), time.Now())
		require.NoError(t, err)
	})
}

// owner returns a store owner of the package database.
func owner(t *testing.T) auth.Principal {
	t.Helper()
	var id int64
	err := testDB.QueryRow(context.Background(), `
		INSERT INTO members (email, password_hash, nickname, role)
		VALUES ('search-owner@couponpop.test', 'x', 'owner', 'OWNER')
		ON CONFLICT (email) DO UPDATE SET nickname = excluded.nickname
		RETURNING id`).Scan(&id)
	require.NoError(t, err)
	return auth.Principal{MemberID: id, Role: auth.Owner}
}

// token is a random lower-case word that no other store contains: Nori
// keeps a run of Latin letters as one token, so it matches exactly.
func token() string {
	b := make([]byte, 10)
	for i := range b {
		b[i] = byte('a' + rand.IntN(26))
	}
	return string(b)
}

// createStore adds a store through the store service, as the API would.
func createStore(t *testing.T, name, category, desc string, lat, lng float64) store.Store {
	t.Helper()
	svc := store.NewService(testDB, nil)
	st, err := svc.Create(context.Background(), owner(t), store.Input{
		Name: &name, Category: &category, Description: &desc, Lat: &lat, Lng: &lng,
	})
	require.NoError(t, err)
	return st
}

// addEvent adds an open coupon event to a store and returns its id.
func addEvent(t *testing.T, storeID int64, title string) int64 {
	t.Helper()
	var id int64
	err := testDB.QueryRow(context.Background(), `
		INSERT INTO coupon_events (store_id, title, discount_type, discount_value, total_quantity,
		                           issue_starts_at, issue_ends_at, valid_hours)
		VALUES ($1, $2, 'PERCENT', 20, 100, now() - interval '1 hour', now() + interval '1 day', 24)
		RETURNING id`, storeID, title).Scan(&id)
	require.NoError(t, err)
	return id
}

// bus is a private exchange and queue on the real broker, in the relay's
// message format.
type bus struct {
	exchange, queue string
	ch              *amqp.Channel
}

func newBus(t *testing.T, name string) *bus {
	t.Helper()
	conn, err := amqp.Dial(rabbitURL)
	require.NoError(t, err)
	ch, err := conn.Channel()
	require.NoError(t, err)
	b := &bus{exchange: runPrefix + name + ".events", queue: runPrefix + name + ".sync", ch: ch}
	t.Cleanup(func() {
		_, _ = ch.QueueDelete(b.queue, false, false, false)
		_ = ch.ExchangeDelete(b.exchange, false, false)
		conn.Close()
	})
	return b
}

// publish sends what the outbox relay sends for one outbox row: routing key
// = kind lower-cased with dots, body = the JSON payload, headers kind and
// trace_id.
func (b *bus) publish(t *testing.T, kind string, payload any) {
	t.Helper()
	body, ok := payload.([]byte)
	if !ok {
		var err error
		body, err = json.Marshal(payload)
		require.NoError(t, err)
	}
	err := b.ch.PublishWithContext(context.Background(), b.exchange,
		strings.ToLower(strings.ReplaceAll(kind, "_", ".")), false, false, amqp.Publishing{
			ContentType:  "application/json",
			DeliveryMode: amqp.Persistent,
			Headers:      amqp.Table{"kind": kind, "trace_id": kind + ":test"},
			Body:         body,
		})
	require.NoError(t, err)
}

// runSyncer consumes b in the background until the test ends.
func runSyncer(t *testing.T, ix *search.Indexer, b *bus) {
	t.Helper()
	s := search.NewSyncer(rabbitURL, ix, search.SyncerOptions{Exchange: b.exchange, Queue: b.queue})
	require.NoError(t, s.Declare(context.Background()))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
}

// newIndex builds a fresh index from the package database behind
// runPrefix+name.
func newIndex(t *testing.T, name string) (*search.Indexer, *search.Service) {
	t.Helper()
	seedCorpus(t)
	ix := search.NewIndexer(testDB, testOS, testEmb, search.IndexerOptions{Alias: runPrefix + name})
	_, err := ix.Reindex(context.Background())
	require.NoError(t, err)
	return ix, search.NewService(testOS, testEmb, testDB, search.Options{Alias: ix.Alias()})
}

// find runs a search and returns the item of store id, if any.
func find(t *testing.T, svc *search.Service, r search.Request, id int64) (search.Item, bool) {
	t.Helper()
	res, err := svc.Search(context.Background(), r)
	require.NoError(t, err)
	for _, it := range res.Items {
		if it.Store.ID == id {
			return it, true
		}
	}
	return search.Item{}, false
}

// waitFor polls cond every 20 ms for up to 5 s and returns how long it took
// to become true (failing the test if it never does).
func waitFor(t *testing.T, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < 5*time.Second {
		if cond() {
			return time.Since(start)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s: not within 5 s", what)
	return 0
}

// api is the real gin engine with the search routes.
func api(svc *search.Service) http.Handler {
	reg := prometheus.NewRegistry()
	s := httpapi.New(slog.New(slog.DiscardHandler), reg, reg, nil)
	search.Routes(s.Engine.Group("/api/v1"), s, svc)
	return s.Engine
}

func get(t *testing.T, h http.Handler, url string) (*httptest.ResponseRecorder, map[string]any) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, url, nil))
	var body map[string]any
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body), rec.Body.String())
	return rec, body
}
