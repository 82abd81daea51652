package search

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	amqp "github.com/rabbitmq/amqp091-go"
)

// The outbox relay publishes every outbox row to Exchange, a durable topic
// exchange, with the kind as routing key (STORE_CHANGED → store.changed) and
// the JSON payload as body. The indexer reads its own durable queue bound to
// the store and event keys: messages wait there while the indexer is down
// or redeploying, and no other consumer competes for them.
const (
	Exchange  = "couponpop.events"
	SyncQueue = "search.sync"
)

// SyncBindings are the routing keys the search index cares about. Coupon
// issuance is not among them: it happens thousands of times a second at a
// launch, and the API reads live counts from PostgreSQL anyway.
var SyncBindings = []string{"store.*", "event.*"}

// Syncer applies outbox messages to the index.
type Syncer struct {
	url      string
	ix       *Indexer
	db       dbQuerier
	log      *slog.Logger
	exchange string
	queue    string
	// MaxBatch and MaxWait shape batches: after the first message the
	// syncer waits up to MaxWait for more, so a burst (a merchant editing
	// twenty events) becomes one SQL query, one embeddings call and one
	// bulk request, while a lone change is applied at once.
	MaxBatch int
	MaxWait  time.Duration
}

// dbQuerier is what the syncer needs from the pool.
type dbQuerier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// SyncerOptions configure a Syncer; zero values take defaults. Tests use
// their own exchange and queue so they never take messages meant for a
// running indexer.
type SyncerOptions struct {
	Exchange string // Exchange
	Queue    string // SyncQueue
	Log      *slog.Logger
}

// NewSyncer returns a syncer consuming from the broker at url.
func NewSyncer(url string, ix *Indexer, o SyncerOptions) *Syncer {
	if o.Exchange == "" {
		o.Exchange = Exchange
	}
	if o.Queue == "" {
		o.Queue = SyncQueue
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &Syncer{url: url, ix: ix, db: ix.db, log: o.Log, exchange: o.Exchange, queue: o.Queue,
		MaxBatch: 256, MaxWait: 20 * time.Millisecond}
}

// Declare declares the exchange, the queue and its bindings (idempotent:
// the relay declares the same exchange). The indexer calls it before its
// first full reindex, so nothing published during the build is lost.
func (s *Syncer) Declare(ctx context.Context) error {
	conn, err := amqp.Dial(s.url)
	if err != nil {
		return fmt.Errorf("dial rabbitmq: %w", err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("rabbitmq channel: %w", err)
	}
	return s.declare(ch)
}

func (s *Syncer) declare(ch *amqp.Channel) error {
	if err := ch.ExchangeDeclare(s.exchange, amqp.ExchangeTopic, true, false, false, false, nil); err != nil {
		return fmt.Errorf("declare exchange %s: %w", s.exchange, err)
	}
	if _, err := ch.QueueDeclare(s.queue, true, false, false, false, nil); err != nil {
		return fmt.Errorf("declare queue %s: %w", s.queue, err)
	}
	for _, key := range SyncBindings {
		if err := ch.QueueBind(s.queue, key, s.exchange, false, nil); err != nil {
			return fmt.Errorf("bind %s to %s: %w", s.queue, key, err)
		}
	}
	return nil
}

// Run consumes until ctx ends, reconnecting with backoff when the broker
// goes away. It returns nil on cancellation.
func (s *Syncer) Run(ctx context.Context) error {
	backoff := 500 * time.Millisecond
	for {
		started := time.Now()
		err := s.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if time.Since(started) > time.Minute {
			backoff = 500 * time.Millisecond // it had been working
		}
		s.log.WarnContext(ctx, "search sync disconnected; reconnecting", "err", err, "in", backoff)
		if !sleep(ctx, backoff) {
			return nil
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}

func (s *Syncer) session(ctx context.Context) error {
	conn, err := amqp.Dial(s.url)
	if err != nil {
		return fmt.Errorf("dial rabbitmq: %w", err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("rabbitmq channel: %w", err)
	}
	if err := s.declare(ch); err != nil {
		return err
	}
	// Two batches in flight: the next fills while one is applied. Acks are
	// cumulative (multiple=true on the last delivery of a batch), which is
	// only right because each batch is acked or nacked whole, in order.
	if err := ch.Qos(2*s.MaxBatch, 0, false); err != nil {
		return fmt.Errorf("qos: %w", err)
	}
	deliveries, err := ch.Consume(s.queue, "", false, false, false, false, nil)
	if err != nil {
		return fmt.Errorf("consume %s: %w", s.queue, err)
	}
	s.log.InfoContext(ctx, "search sync consuming", "queue", s.queue, "exchange", s.exchange)
	failures := 0
	for {
		batch, ok := s.next(ctx, deliveries)
		if !ok {
			if ctx.Err() != nil {
				return nil // unacked messages go back to the queue on close
			}
			return errors.New("delivery channel closed")
		}
		last := batch[len(batch)-1]
		if err := s.apply(ctx, batch); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			// OpenSearch or PostgreSQL is down: the messages are fine, so
			// they go back to the queue, after a pause that grows, instead
			// of spinning on redeliveries.
			failures++
			wait := min(time.Duration(failures)*time.Second, 30*time.Second)
			s.log.WarnContext(ctx, "search sync failed; requeueing", "messages", len(batch), "err", err, "retry_in", wait)
			if !sleep(ctx, wait) {
				return nil
			}
			if err := last.Nack(true, true); err != nil {
				return fmt.Errorf("nack: %w", err)
			}
			continue
		}
		failures = 0
		if err := last.Ack(true); err != nil {
			return fmt.Errorf("ack: %w", err)
		}
	}
}

// next waits for one delivery, then gathers more for up to MaxWait.
func (s *Syncer) next(ctx context.Context, deliveries <-chan amqp.Delivery) ([]amqp.Delivery, bool) {
	var batch []amqp.Delivery
	select {
	case <-ctx.Done():
		return nil, false
	case d, ok := <-deliveries:
		if !ok {
			return nil, false
		}
		batch = append(batch, d)
	}
	timer := time.NewTimer(s.MaxWait)
	defer timer.Stop()
	for len(batch) < s.MaxBatch {
		select {
		case d, ok := <-deliveries:
			if !ok {
				return batch, true
			}
			batch = append(batch, d)
		case <-timer.C:
			return batch, true
		}
	}
	return batch, true
}

// payload is what the sync reads from any store.* or event.* message.
type payload struct {
	StoreID int64 `json:"store_id"`
	EventID int64 `json:"event_id"`
}

// apply re-syncs every store the batch mentions. Messages only say *which*
// store changed; the state comes from PostgreSQL, so duplicates, reordering
// and replays are all harmless.
func (s *Syncer) apply(ctx context.Context, batch []amqp.Delivery) error {
	start := time.Now()
	seen := map[int64]bool{}
	var stores, orphanEvents []int64
	for _, d := range batch {
		var p payload
		if err := json.Unmarshal(d.Body, &p); err != nil || (p.StoreID <= 0 && p.EventID <= 0) {
			// A poison message is acknowledged with its batch and logged:
			// redelivering it would never make it readable.
			s.log.ErrorContext(ctx, "search sync: unreadable message dropped",
				"routing_key", d.RoutingKey, "body", truncate(string(d.Body), 200), "err", err)
			continue
		}
		switch {
		case p.StoreID > 0 && !seen[p.StoreID]:
			seen[p.StoreID] = true
			stores = append(stores, p.StoreID)
		case p.StoreID <= 0:
			// An event message that names only the event (older
			// producers): its store is looked up below, in one query.
			orphanEvents = append(orphanEvents, p.EventID)
		}
	}
	if len(orphanEvents) > 0 {
		ids, err := s.storesOfEvents(ctx, orphanEvents)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if !seen[id] {
				seen[id] = true
				stores = append(stores, id)
			}
		}
	}
	for i := 0; i < len(stores); i += s.ix.PageSize {
		if err := s.ix.Sync(ctx, stores[i:min(i+s.ix.PageSize, len(stores))]); err != nil {
			return err
		}
	}
	s.log.DebugContext(ctx, "search sync applied", "messages", len(batch), "stores", len(stores), "took", time.Since(start))
	return nil
}

func (s *Syncer) storesOfEvents(ctx context.Context, events []int64) ([]int64, error) {
	rows, _ := s.db.Query(ctx, `SELECT DISTINCT store_id FROM coupon_events WHERE id = ANY($1)`, events)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("stores of events: %w", err)
	}
	return ids, nil
}

// RepairLoop re-embeds, every interval, stores indexed without a vector
// while the model was down. It returns when ctx ends.
func (ix *Indexer) RepairLoop(ctx context.Context, every time.Duration) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			n, err := ix.RepairEmbeddings(ctx, 500)
			switch {
			case err != nil && ctx.Err() == nil:
				ix.log.WarnContext(ctx, "repairing embeddings", "err", err)
			case n > 0:
				ix.log.InfoContext(ctx, "repaired embeddings", "stores", n)
			}
		}
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
