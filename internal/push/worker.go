package push

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/redis/go-redis/v9"
)

// WorkerConfig tunes a Worker. Zero values take the defaults.
type WorkerConfig struct {
	// URL is the RabbitMQ AMQP URL.
	URL string
	// Topology defaults to DefaultTopology().
	Topology Topology
	// BatchSize is how many deliveries one batch handles (default 500):
	// their devices are loaded in one query, locked in one Redis pipeline
	// and sent in one SendEach call.
	BatchSize int
	// Processors is how many batches are handled at once (default 4), so
	// one batch's FCM round trips overlap another's database work. Each
	// consumes on its own channel with a prefetch of two batches.
	Processors int
	// Linger is how long a batch waits to fill up (default 5 ms).
	Linger time.Duration
	// MaxAttempts is how many times a device's push is tried against FCM
	// before it is dead-lettered (default 10).
	MaxAttempts int
	// BaseBackoff and MaxBackoff bound the exponential retry delay
	// (defaults 1 s and 10 min); a Retry-After longer than the backoff is
	// honoured up to MaxBackoff.
	BaseBackoff, MaxBackoff time.Duration
	// SendTimeout bounds one SendEach call (default 30 s), including the
	// SDK's own retries of 503s.
	SendTimeout time.Duration
	// LockTTL is how long a device's send is held as "processing" in Redis
	// (default 90 s). It must outlast SendTimeout: if it expired while a
	// send was still running, a redelivered copy could send again.
	LockTTL time.Duration
	// DoneTTL is how long a sent push is remembered (default 7 days).
	DoneTTL time.Duration
	// DrainTimeout bounds the wait for in-flight batches on shutdown
	// (default 20 s).
	DrainTimeout time.Duration
	// Now is the clock (default time.Now); tests move it to end quiet hours.
	Now func() time.Time
	Log *slog.Logger
	// Registerer receives the push metrics; nil registers nothing.
	Registerer prometheus.Registerer
}

func (c *WorkerConfig) defaults() {
	if c.Topology.Queue == "" {
		c.Topology = DefaultTopology()
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if c.BatchSize <= 0 {
		c.BatchSize = 500
	}
	if c.Processors <= 0 {
		c.Processors = 4
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 10
	}
	def(&c.Linger, 5*time.Millisecond)
	def(&c.BaseBackoff, time.Second)
	def(&c.MaxBackoff, 10*time.Minute)
	def(&c.SendTimeout, 30*time.Second)
	def(&c.LockTTL, 90*time.Second)
	def(&c.DoneTTL, 7*24*time.Hour)
	def(&c.DrainTimeout, 20*time.Second)
	// A lock that could expire under a live send would let a redelivered
	// copy send too: keep every send well inside the lock.
	c.SendTimeout = min(c.SendTimeout, c.LockTTL*2/3)
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
}

// Worker consumes the push queue and sends through a Sender.
type Worker struct {
	db     *pgxpool.Pool
	rdb    redis.UniversalClient
	sender Sender
	cfg    WorkerConfig
	log    *slog.Logger
	m      *metrics
	id     string // this process, in lock values
}

// NewWorker returns a worker; Run starts it.
func NewWorker(db *pgxpool.Pool, rdb redis.UniversalClient, sender Sender, cfg WorkerConfig) *Worker {
	cfg.defaults()
	var b [6]byte
	_, _ = rand.Read(b[:])
	return &Worker{
		db: db, rdb: rdb, sender: sender, cfg: cfg,
		log: cfg.Log.With("component", "push-worker"),
		m:   newMetrics(cfg.Registerer),
		id:  hex.EncodeToString(b[:]),
	}
}

// Run consumes until ctx ends, then stops taking messages, finishes the
// batches in hand (up to DrainTimeout) and returns nil. It declares the
// topology on every connect and reconnects whenever RabbitMQ goes away;
// messages it had not acknowledged are redelivered by the broker, and the
// per-device locks make sure that sends nothing twice.
func (w *Worker) Run(ctx context.Context) error {
	backoff := 100 * time.Millisecond
	for {
		err := w.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		w.log.Warn("push session ended; reconnecting", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

func (w *Worker) session(ctx context.Context) error {
	conn, err := amqp.DialConfig(w.cfg.URL, amqp.Config{Dial: amqp.DefaultDial(5 * time.Second), Properties: amqp.Table{"connection_name": "push-worker"}})
	if err != nil {
		return fmt.Errorf("dial rabbitmq: %w", err)
	}
	defer conn.Close()
	tch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("open channel: %w", err)
	}
	if err := w.cfg.Topology.Declare(tch); err != nil {
		return err
	}
	tch.Close()

	pch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("open publish channel: %w", err)
	}
	if err := pch.Confirm(false); err != nil {
		return fmt.Errorf("confirm mode: %w", err)
	}
	pub := &publisher{ch: pch, topo: w.cfg.Topology}

	// Each processor consumes on a channel of its own and handles one batch
	// at a time, so when a batch is done every delivery on its channel up
	// to the batch's last tag is settled, and one multiple-ack settles them
	// all: one frame per batch instead of one per message. The prefetch of
	// two batches keeps the next batch arriving while this one is handled.
	//
	// Batches are handled with a context that shutdown does not cancel: a
	// batch half sent when SIGTERM arrives finishes and is acknowledged,
	// rather than being redelivered to another worker to wait out its locks.
	work := context.WithoutCancel(ctx)
	errs := make(chan error, w.cfg.Processors)
	var wg sync.WaitGroup
	for i := range w.cfg.Processors {
		ch, err := conn.Channel()
		if err != nil {
			return fmt.Errorf("open consume channel: %w", err)
		}
		if err := ch.Qos(2*w.cfg.BatchSize, 0, false); err != nil {
			return fmt.Errorf("qos: %w", err)
		}
		tag := fmt.Sprintf("push-%s-%d", w.id, i)
		deliveries, err := ch.Consume(w.cfg.Topology.Queue, tag, false, false, false, false, nil)
		if err != nil {
			return fmt.Errorf("consume %s: %w", w.cfg.Topology.Queue, err)
		}
		wg.Go(func() { errs <- w.consume(ctx, work, ch, tag, deliveries, pub) })
	}
	w.log.Info("consuming", "queue", w.cfg.Topology.Queue, "batch", w.cfg.BatchSize, "processors", w.cfg.Processors)

	// The first processor to stop (shutdown, or the connection broke) ends
	// the session; the others stop on the same cause. A drain that takes
	// too long is cut short by closing the connection: what was not
	// acknowledged is redelivered.
	first := <-errs
	if ctx.Err() == nil {
		// One channel broke (the connection, or a channel-level error):
		// close the connection so the other processors stop too and the
		// session starts afresh.
		conn.Close()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(w.cfg.DrainTimeout):
		w.log.Warn("drain timed out; unacknowledged messages will be redelivered")
	}
	return first
}

// consume handles batches from one channel until its deliveries end:
// after ctx ends (it cancels the consumer and handles what had arrived),
// or when the channel or connection closes.
func (w *Worker) consume(ctx, work context.Context, ch *amqp.Channel, tag string, deliveries <-chan amqp.Delivery, pub *publisher) error {
	stopping := ctx.Done()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		var batch []amqp.Delivery
		open := true
	fill:
		for len(batch) < w.cfg.BatchSize {
			select {
			case <-stopping:
				stopping = nil
				// The broker stops sending and closes the delivery
				// channel; what is already in it is handled first.
				if err := ch.Cancel(tag, false); err != nil {
					open = false
					break fill
				}
			case d, ok := <-deliveries:
				if !ok {
					open = false
					break fill
				}
				if len(batch) == 0 {
					timer.Reset(w.cfg.Linger)
				}
				batch = append(batch, d)
			case <-timer.C:
				if len(batch) > 0 {
					break fill
				}
			}
		}
		timer.Stop()
		if len(batch) > 0 {
			w.handleSafe(work, ch, pub, batch)
		}
		if !open {
			if ctx.Err() != nil {
				return nil
			}
			return errors.New("delivery channel closed")
		}
	}
}

// handleSafe handles a batch, and isolates a message that panics the
// handler: the batch is handled again one message at a time, and the
// message that still panics on its own is rejected to the dead-letter
// queue instead of crashing the worker on every redelivery. Devices the
// first try reached are locked as done, so the second try skips them.
func (w *Worker) handleSafe(ctx context.Context, cch *amqp.Channel, pub *publisher, batch []amqp.Delivery) {
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		if len(batch) > 1 {
			w.log.Error("push batch panicked; retrying one by one", "panic", r, "size", len(batch))
			for _, d := range batch {
				w.handleSafe(ctx, cch, pub, []amqp.Delivery{d})
			}
			return
		}
		w.log.Error("push message panicked; dead-lettering it", "panic", r, "message_id", batch[0].MessageId)
		w.m.result("poison", 1)
		_ = cch.Reject(batch[0].DeliveryTag, false)
	}()
	w.handle(ctx, cch, pub, batch)
}

// publisher publishes jobs with publisher confirms.
type publisher struct {
	ch   *amqp.Channel
	topo Topology
}

// outgoing is a job to publish to a queue.
type outgoing struct {
	queue string
	job   Job
}

// publish sends every job and waits for all their confirms.
func (p *publisher) publish(ctx context.Context, out []outgoing) error {
	confirms := make([]*amqp.DeferredConfirmation, len(out))
	for i, o := range out {
		body, err := jsonMarshal(o.job)
		if err != nil {
			return err
		}
		confirms[i], err = p.ch.PublishWithDeferredConfirmWithContext(ctx, "", o.queue, false, false, amqp.Publishing{
			ContentType:  "application/json",
			DeliveryMode: amqp.Persistent,
			Type:         jobType,
			Headers:      amqp.Table{"trace_id": o.job.TraceID, "kind": o.job.Kind, "attempt": int32(o.job.Attempt)},
			Body:         body,
		})
		if err != nil {
			return fmt.Errorf("publish to %s: %w", o.queue, err)
		}
	}
	for i, c := range confirms {
		ok, err := c.WaitContext(ctx)
		if err != nil {
			return fmt.Errorf("confirm: %w", err)
		}
		if !ok {
			return fmt.Errorf("broker refused a job for %s", out[i].queue)
		}
	}
	return nil
}
