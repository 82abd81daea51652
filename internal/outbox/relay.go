package outbox

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	amqp "github.com/rabbitmq/amqp091-go"
)

// Exchange is the durable topic exchange every outbox message is published
// to. Consumers bind their own queues to it by routing key.
const Exchange = "couponpop.events"

// RoutingKey is the routing key of a kind: lower case with dots
// (COUPON_ISSUED → coupon.issued), so a consumer can bind coupon.* .
func RoutingKey(kind string) string {
	return strings.ReplaceAll(strings.ToLower(kind), "_", ".")
}

// Headers every published message carries besides its body (the payload).
// The AMQP message id is the outbox row id; the type is the kind.
const (
	HeaderTraceID = "trace_id"
	HeaderKind    = "kind"
)

// RelayConfig tunes a Relay. Zero values take the defaults.
type RelayConfig struct {
	// URL is the RabbitMQ AMQP URL.
	URL string
	// Exchange defaults to Exchange; tests use their own.
	Exchange string
	// BatchSize is how many rows one transaction publishes (default 500).
	BatchSize int
	// PollInterval is the wait after a poll that found less than a full
	// batch (default 100 ms).
	PollInterval time.Duration
	// Parallel is how many sessions this relay runs side by side (default
	// 2), each on its own connection and transaction: while one waits for
	// the broker's confirms, another is in PostgreSQL.
	Parallel int
	// Retention is how long published rows are kept before the relay
	// deletes them (default 24 h; negative keeps them forever).
	Retention time.Duration
	Log       *slog.Logger
	// Registerer receives outbox_lag_seconds and outbox_published_total;
	// nil registers nothing.
	Registerer prometheus.Registerer
}

// Relay publishes unpublished outbox rows to RabbitMQ and marks them
// published.
//
// # Why it is safe with several relays and through crashes
//
// Each round is one PostgreSQL transaction: it locks a batch of unpublished
// rows with FOR UPDATE SKIP LOCKED (so relays running side by side take
// disjoint batches and never wait on each other), publishes them as
// persistent messages, waits for the broker's publisher confirms, and only
// then marks the confirmed rows published and commits. A crash or a broker
// failure before the commit leaves the rows unpublished, and the next round
// publishes them again: delivery to the exchange is at least once, never
// lost. Consumers dedupe on the trace id (pushes) or apply idempotently
// (search), so a republished row is harmless.
//
// # Why it polls instead of LISTEN/NOTIFY
//
// NOTIFY takes a database-wide lock at commit, which would serialize every
// issuance transaction (they all write outbox rows) behind it. A poll of the
// partial index on unpublished rows costs one index probe when there is
// nothing to do, so polling every 100 ms keeps end-to-end latency far under
// the 2 s the search sync allows, and a full batch is followed by the next
// round at once, so a backlog drains at full speed.
type Relay struct {
	db  *pgxpool.Pool
	cfg RelayConfig
	log *slog.Logger

	lag       prometheus.Gauge
	published *prometheus.CounterVec
}

// NewRelay returns a relay; Run starts it.
func NewRelay(db *pgxpool.Pool, cfg RelayConfig) *Relay {
	if cfg.Exchange == "" {
		cfg.Exchange = Exchange
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 500
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 100 * time.Millisecond
	}
	if cfg.Parallel <= 0 {
		cfg.Parallel = 2
	}
	if cfg.Retention == 0 {
		cfg.Retention = 24 * time.Hour
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	r := &Relay{
		db:  db,
		cfg: cfg,
		log: cfg.Log.With("component", "outbox-relay"),
		lag: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "outbox_lag_seconds",
			Help: "Age of the oldest outbox row this relay found unpublished in its last round (0 when none).",
		}),
		published: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "outbox_published_total",
			Help: "Outbox rows published to RabbitMQ and confirmed, by kind.",
		}, []string{"kind"}),
	}
	if cfg.Registerer != nil {
		cfg.Registerer.MustRegister(r.lag, r.published)
	}
	return r
}

// Run relays until ctx ends. It reconnects to RabbitMQ whenever the
// connection breaks (a broker restart) and retries PostgreSQL errors, so it
// returns only ctx's error.
func (r *Relay) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for i := range r.cfg.Parallel {
		wg.Go(func() { r.loop(ctx, i == 0) })
	}
	wg.Wait()
	return ctx.Err()
}

// loop runs sessions until ctx ends; the first loop also purges.
func (r *Relay) loop(ctx context.Context, purger bool) {
	backoff := 100 * time.Millisecond
	for {
		err := r.session(ctx, purger)
		if ctx.Err() != nil {
			return
		}
		r.log.Warn("relay session ended; reconnecting", "err", err, "in", backoff)
		if !sleepCtx(ctx, backoff) {
			return
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

// session runs rounds on one AMQP connection until it breaks.
func (r *Relay) session(ctx context.Context, purger bool) error {
	conn, err := amqp.DialConfig(r.cfg.URL, amqp.Config{Dial: amqp.DefaultDial(5 * time.Second), Properties: amqp.Table{"connection_name": "outbox-relay"}})
	if err != nil {
		return fmt.Errorf("dial rabbitmq: %w", err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("open channel: %w", err)
	}
	if err := DeclareExchange(ch, r.cfg.Exchange); err != nil {
		return err
	}
	if err := ch.Confirm(false); err != nil {
		return fmt.Errorf("confirm mode: %w", err)
	}
	closed := ch.NotifyClose(make(chan *amqp.Error, 1))
	r.log.Info("relaying", "exchange", r.cfg.Exchange)

	lastPurge := time.Time{}
	for {
		n, err := r.round(ctx, ch)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			var amqpErr *amqp.Error
			if errors.As(err, &amqpErr) || errors.Is(err, amqp.ErrClosed) || ch.IsClosed() {
				return err
			}
			// PostgreSQL trouble: keep the connection, try again shortly.
			r.log.Warn("relay round failed", "err", err)
			n = 0
		}
		if purger && r.cfg.Retention > 0 && time.Since(lastPurge) > time.Minute {
			lastPurge = time.Now()
			if err := r.purge(ctx); err != nil && ctx.Err() == nil {
				r.log.Warn("purge published outbox rows", "err", err)
			}
		}
		if ch.IsClosed() {
			return errors.New("channel closed")
		}
		if n == r.cfg.BatchSize {
			continue // a backlog: go on at once
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case e := <-closed:
			return fmt.Errorf("channel closed: %v", e)
		case <-time.After(r.cfg.PollInterval):
		}
	}
}

type row struct {
	ID        int64
	Kind      string
	TraceID   string
	Payload   []byte
	CreatedAt time.Time
}

// round publishes one batch and reports how many rows it published.
func (r *Relay) round(ctx context.Context, ch *amqp.Channel) (int, error) {
	var published int
	err := pgx.BeginFunc(ctx, r.db, func(tx pgx.Tx) error {
		// Claim and mark a batch in one statement: the partial index
		// outbox_unpublished_idx holds exactly the rows this wants, in id
		// order; SKIP LOCKED steps over the batch another relay holds
		// instead of queueing behind it; and the row is written once
		// (the update) rather than locked and then updated. The mark only
		// counts if the transaction commits, which it does after the
		// broker's confirms. ARRAY(...) makes the claim an InitPlan that
		// runs once; a plain IN could rescan it and claim more than $1.
		rows, _ := tx.Query(ctx, `
			UPDATE outbox SET published_at = now()
			WHERE id = ANY(ARRAY(
				SELECT id FROM outbox
				WHERE published_at IS NULL
				ORDER BY id
				LIMIT $1
				FOR UPDATE SKIP LOCKED))
			RETURNING id, kind, trace_id, payload, created_at`, r.cfg.BatchSize)
		batch, err := pgx.CollectRows(rows, pgx.RowToStructByPos[row])
		if err != nil {
			return fmt.Errorf("claim unpublished: %w", err)
		}
		if len(batch) == 0 {
			r.lag.Set(0)
			return nil
		}
		slices.SortFunc(batch, func(a, b row) int { return cmp.Compare(a.ID, b.ID) })
		r.lag.Set(time.Since(batch[0].CreatedAt).Seconds())

		confirms := make([]*amqp.DeferredConfirmation, len(batch))
		for i, m := range batch {
			confirms[i], err = ch.PublishWithDeferredConfirmWithContext(ctx, r.cfg.Exchange, RoutingKey(m.Kind), false, false, amqp.Publishing{
				ContentType:  "application/json",
				DeliveryMode: amqp.Persistent,
				MessageId:    strconv.FormatInt(m.ID, 10),
				Type:         m.Kind,
				Timestamp:    m.CreatedAt,
				Headers:      amqp.Table{HeaderTraceID: m.TraceID, HeaderKind: m.Kind},
				Body:         m.Payload,
			})
			if err != nil {
				return fmt.Errorf("publish outbox %d: %w", m.ID, err)
			}
		}
		var nacked []int64
		for i, c := range confirms {
			ok, err := c.WaitContext(ctx)
			if err != nil {
				return fmt.Errorf("confirm outbox %d: %w", batch[i].ID, err)
			}
			if !ok { // a nack leaves the row for the next round
				nacked = append(nacked, batch[i].ID)
			}
		}
		if len(nacked) > 0 {
			if _, err := tx.Exec(ctx, `UPDATE outbox SET published_at = NULL WHERE id = ANY($1)`, nacked); err != nil {
				return fmt.Errorf("unmark nacked: %w", err)
			}
		}
		published = len(batch) - len(nacked)
		counts := map[string]int{}
		for i, c := range confirms {
			if c.Acked() {
				counts[batch[i].Kind]++
			}
		}
		for k, n := range counts {
			r.published.WithLabelValues(k).Add(float64(n))
		}
		if len(nacked) > 0 {
			// Commit what was confirmed; the rest stays for the next round
			// (a nack, or a channel that closed under the wait, which the
			// session notices and reconnects).
			r.log.Warn("broker did not confirm every message", "confirmed", published, "batch", len(batch))
		}
		return nil
	})
	if err != nil && published > 0 {
		published = 0 // the transaction rolled back: nothing was marked
	}
	return published, err
}

// purge deletes rows published longer ago than Retention, a bounded chunk
// at a time. Old rows come first in id order, so the primary-key scan
// stops after the chunk without reading the rest of the table.
func (r *Relay) purge(ctx context.Context) error {
	_, err := r.db.Exec(ctx, `
		DELETE FROM outbox WHERE id = ANY(ARRAY(
			SELECT id FROM outbox
			WHERE published_at IS NOT NULL AND published_at < now() - make_interval(secs => $1)
			ORDER BY id LIMIT 5000))`, r.cfg.Retention.Seconds())
	return err
}

// DeclareExchange declares the durable topic exchange (idempotent).
func DeclareExchange(ch *amqp.Channel, name string) error {
	if err := ch.ExchangeDeclare(name, amqp.ExchangeTopic, true, false, false, false, nil); err != nil {
		return fmt.Errorf("declare exchange %s: %w", name, err)
	}
	return nil
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
