package push

import (
	"fmt"
	"slices"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/couponpop/couponpop/internal/outbox"
)

// Topology names the RabbitMQ objects of the push path. Declare creates
// them; every name can be changed so tests run side by side on one broker.
//
// Every queue is a quorum queue: replicated and fsynced where a classic
// queue may lose a message it had confirmed when a node dies, and the only
// kind whose dead-lettering is itself at least once (x-dead-letter-strategy
// at-least-once), which the delay queues rely on to hand a message back
// without a gap in which it exists nowhere.
type Topology struct {
	// Exchange is the outbox relay's topic exchange.
	Exchange string
	// Queue is where the worker consumes: domain messages bound from
	// Exchange, and jobs the worker publishes to itself.
	Queue string
	// DeadLetter holds what will not be sent: rejected by FCM, out of
	// attempts, undecodable, or delivered DeliveryLimit times without an
	// answer. Nothing consumes it and it dead-letters nowhere, so nothing
	// loops; an operator replays it (docs/PUSH.md).
	DeadLetter string
	// DelayPrefix + a duration names each delay queue (push.delay.30s).
	DelayPrefix string
	// Delays are the delay queues' TTLs, ascending. A delay queue has no
	// consumer: its messages expire after the TTL and dead-letter back to
	// Queue. One TTL per queue, because RabbitMQ expires only at the head
	// of a queue: mixed per-message TTLs would hold a short delay behind a
	// long one. Longer delays than the largest, and delays between two
	// rungs, take several trips (the job carries its NotBefore).
	Delays []time.Duration
	// DeliveryLimit dead-letters a message RabbitMQ handed out this many
	// times without an ack (a worker crashing on it every time).
	DeliveryLimit int
}

// DefaultTopology is the production topology.
func DefaultTopology() Topology {
	return Topology{
		Exchange:      outbox.Exchange,
		Queue:         "push.send",
		DeadLetter:    "push.dlq",
		DelayPrefix:   "push.delay.",
		Delays:        []time.Duration{time.Second, 5 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute, time.Hour},
		DeliveryLimit: 50,
	}
}

// TestTopology is a topology of its own for a test or a benchmark: every
// name starts with prefix, and the delays are short.
func TestTopology(prefix string) Topology {
	return Topology{
		Exchange:      prefix + ".events",
		Queue:         prefix + ".push.send",
		DeadLetter:    prefix + ".push.dlq",
		DelayPrefix:   prefix + ".push.delay.",
		Delays:        []time.Duration{200 * time.Millisecond, time.Second},
		DeliveryLimit: 50,
	}
}

// RoutingKeys are the outbox kinds that become pushes, as routing keys.
func RoutingKeys() []string {
	return []string{
		outbox.RoutingKey(outbox.EventCreated),
		outbox.RoutingKey(outbox.CouponIssued),
		outbox.RoutingKey(outbox.CouponUsed),
		outbox.RoutingKey(outbox.AreaEntered),
		outbox.RoutingKey(outbox.CouponExpiring),
	}
}

// DelayQueue is the name of the delay queue with TTL d.
func (t Topology) DelayQueue(d time.Duration) string { return t.DelayPrefix + d.String() }

// Queues lists every queue name (for tests that clean up).
func (t Topology) Queues() []string {
	q := []string{t.Queue, t.DeadLetter}
	for _, d := range t.Delays {
		q = append(q, t.DelayQueue(d))
	}
	return q
}

// Declare creates the exchange, the queues and the bindings. It is
// idempotent, so every worker runs it on start; changing a queue's
// arguments (a new TTL) needs a new queue name, since RabbitMQ refuses to
// redeclare a queue with other arguments.
func (t Topology) Declare(ch *amqp.Channel) error {
	if err := outbox.DeclareExchange(ch, t.Exchange); err != nil {
		return err
	}
	if _, err := ch.QueueDeclare(t.DeadLetter, true, false, false, false, amqp.Table{
		amqp.QueueTypeArg: amqp.QueueTypeQuorum,
	}); err != nil {
		return fmt.Errorf("declare %s: %w", t.DeadLetter, err)
	}
	if _, err := ch.QueueDeclare(t.Queue, true, false, false, false, amqp.Table{
		amqp.QueueTypeArg:           amqp.QueueTypeQuorum,
		"x-delivery-limit":          int64(t.DeliveryLimit),
		"x-dead-letter-exchange":    "",
		"x-dead-letter-routing-key": t.DeadLetter,
		"x-dead-letter-strategy":    "at-least-once",
		amqp.QueueOverflowArg:       amqp.QueueOverflowRejectPublish,
	}); err != nil {
		return fmt.Errorf("declare %s: %w", t.Queue, err)
	}
	for _, key := range RoutingKeys() {
		if err := ch.QueueBind(t.Queue, key, t.Exchange, false, nil); err != nil {
			return fmt.Errorf("bind %s to %s: %w", t.Queue, key, err)
		}
	}
	for _, d := range t.Delays {
		name := t.DelayQueue(d)
		if _, err := ch.QueueDeclare(name, true, false, false, false, amqp.Table{
			amqp.QueueTypeArg:           amqp.QueueTypeQuorum,
			amqp.QueueMessageTTLArg:     d.Milliseconds(),
			"x-dead-letter-exchange":    "",
			"x-dead-letter-routing-key": t.Queue,
			"x-dead-letter-strategy":    "at-least-once",
			amqp.QueueOverflowArg:       amqp.QueueOverflowRejectPublish,
		}); err != nil {
			return fmt.Errorf("declare %s: %w", name, err)
		}
	}
	return nil
}

// delayFor picks the delay queue for a job that must wait d: the longest
// rung not above d, so the job never comes back late by more than the
// shortest rung; what remains is waited on the next trip.
func (t Topology) delayFor(d time.Duration) time.Duration {
	delays := slices.Clone(t.Delays)
	slices.Sort(delays)
	pick := delays[0]
	for _, r := range delays {
		if r <= d {
			pick = r
		}
	}
	return pick
}

// DeclareTopology connects, declares t and disconnects. The worker runs it
// before it starts the outbox relay: on a fresh broker, a message the
// relay published before the push queue was bound would be dropped by the
// exchange as unroutable.
func DeclareTopology(url string, t Topology) error {
	conn, err := amqp.DialConfig(url, amqp.Config{Dial: amqp.DefaultDial(5 * time.Second)})
	if err != nil {
		return fmt.Errorf("dial rabbitmq: %w", err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("open channel: %w", err)
	}
	return t.Declare(ch)
}
