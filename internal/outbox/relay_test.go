package outbox_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/couponpop/couponpop/internal/outbox"
	"github.com/couponpop/couponpop/internal/postgres/pgtest"
)

var (
	pool    *pgxpool.Pool
	amqpURL = "amqp://guest:guest@127.0.0.1:5672/"
)

func TestMain(m *testing.M) {
	if u := os.Getenv("RABBITMQ_URL"); u != "" {
		amqpURL = u
	}
	conn, err := amqp.Dial(amqpURL)
	if err != nil {
		fmt.Fprintln(os.Stderr, "outbox tests need RabbitMQ (make services):", err)
		os.Exit(1)
	}
	conn.Close()
	pgtest.Main(m, "outbox", &pool)
}

func TestRoutingKey(t *testing.T) {
	tests := []struct{ kind, want string }{
		{outbox.CouponIssued, "coupon.issued"},
		{outbox.EventCreated, "event.created"},
		{outbox.AreaEntered, "area.entered"},
		{outbox.StoreDeleted, "store.deleted"},
		{"X", "x"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, outbox.RoutingKey(tt.kind), "RoutingKey(%s)", tt.kind)
	}
}

// listen binds a fresh queue to a fresh exchange for every routing key and
// returns the exchange name and the deliveries.
func listen(t *testing.T) (string, <-chan amqp.Delivery) {
	t.Helper()
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := "test-outbox-" + hex.EncodeToString(b[:])
	conn, err := amqp.Dial(amqpURL)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	ch, err := conn.Channel()
	require.NoError(t, err)
	require.NoError(t, outbox.DeclareExchange(ch, name))
	_, err = ch.QueueDeclare(name, false, true, false, false, nil)
	require.NoError(t, err)
	require.NoError(t, ch.QueueBind(name, "#", name, false, nil))
	t.Cleanup(func() {
		c, err := amqp.Dial(amqpURL)
		if err != nil {
			return
		}
		defer c.Close()
		if ch, err := c.Channel(); err == nil {
			_ = ch.ExchangeDelete(name, false, false)
		}
	})
	d, err := ch.Consume(name, "", true, false, false, false, nil)
	require.NoError(t, err)
	return name, d
}

func runRelays(t *testing.T, n int, cfg outbox.RelayConfig) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range n {
		r := outbox.NewRelay(pool, cfg)
		wg.Go(func() { _ = r.Run(ctx) })
	}
	t.Cleanup(func() { cancel(); wg.Wait() })
}

func write(t *testing.T, msgs ...outbox.Message) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return outbox.Add(ctx, tx, msgs...) }))
}

// TestRelaysPublishEachRowOnce: three relays side by side publish every
// row exactly once, as the message a consumer expects, and mark it.
func TestRelaysPublishEachRowOnce(t *testing.T) {
	exchange, deliveries := listen(t)
	runRelays(t, 3, outbox.RelayConfig{URL: amqpURL, Exchange: exchange, BatchSize: 100, PollInterval: 10 * time.Millisecond})

	const txs, perTx = 30, 100
	for i := range txs {
		msgs := make([]outbox.Message, perTx)
		for j := range msgs {
			id := int64(i*perTx + j)
			msgs[j] = outbox.Message{Kind: outbox.CouponIssued, TraceID: outbox.TraceID(outbox.CouponIssued, id), Payload: map[string]any{"coupon_id": id}}
		}
		write(t, msgs...)
	}

	seen := map[string]int{}
	timeout := time.After(30 * time.Second)
	for len(seen) < txs*perTx {
		select {
		case d := <-deliveries:
			seen[d.MessageId]++
			if len(seen) == 1 {
				assert.Equal(t, "coupon.issued", d.RoutingKey)
				assert.Equal(t, outbox.CouponIssued, d.Type)
				assert.Equal(t, outbox.CouponIssued, d.Headers[outbox.HeaderKind])
				assert.Regexp(t, `^COUPON_ISSUED:\d+$`, d.Headers[outbox.HeaderTraceID])
				assert.Equal(t, uint8(amqp.Persistent), d.DeliveryMode)
				assert.JSONEq(t, `{"coupon_id": `+d.Headers[outbox.HeaderTraceID].(string)[len("COUPON_ISSUED:"):]+`}`, string(d.Body))
			}
		case <-timeout:
			t.Fatalf("received %d of %d messages", len(seen), txs*perTx)
		}
	}
	// Anything published twice would arrive right behind.
	time.Sleep(300 * time.Millisecond)
	for len(deliveries) > 0 {
		d := <-deliveries
		seen[d.MessageId]++
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("message %s published %d times", id, n)
		}
	}
	var unpublished int
	require.NoError(t, pool.QueryRow(context.Background(), `SELECT count(*) FROM outbox WHERE published_at IS NULL`).Scan(&unpublished))
	assert.Zero(t, unpublished, "rows left unpublished")
}

// TestRelayLatency: a committed row reaches a consumer well within the
// 2 s the search sync allows.
func TestRelayLatency(t *testing.T) {
	exchange, deliveries := listen(t)
	runRelays(t, 1, outbox.RelayConfig{URL: amqpURL, Exchange: exchange})
	time.Sleep(300 * time.Millisecond) // connected and idle
	for i := range 5 {
		start := time.Now()
		write(t, outbox.Message{Kind: outbox.StoreChanged, TraceID: "STORE_CHANGED:" + strconv.Itoa(i), Payload: map[string]int{"store_id": i}})
		select {
		case d := <-deliveries:
			assert.Equal(t, "store.changed", d.RoutingKey)
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("row %d took %v to reach the consumer, want < 2s", i, took)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("row %d never arrived", i)
		}
	}
}

// TestRelayPurgesPublishedRows: rows older than the retention go away once
// published, never before.
func TestRelayPurgesPublishedRows(t *testing.T) {
	exchange, deliveries := listen(t)
	write(t, outbox.Message{Kind: outbox.StoreChanged, TraceID: "STORE_CHANGED:purge", Payload: map[string]int{"store_id": 1}})
	runRelays(t, 1, outbox.RelayConfig{URL: amqpURL, Exchange: exchange, Retention: time.Nanosecond, Parallel: 1})
	select {
	case <-deliveries:
	case <-time.After(5 * time.Second):
		t.Fatal("row never arrived")
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		var n int
		require.NoError(t, pool.QueryRow(context.Background(), `SELECT count(*) FROM outbox WHERE trace_id = 'STORE_CHANGED:purge'`).Scan(&n))
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("published row not purged")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
