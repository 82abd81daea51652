package push_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	firebase "firebase.google.com/go/v4"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
	"google.golang.org/api/option"

	"github.com/couponpop/couponpop/internal/outbox"
	"github.com/couponpop/couponpop/internal/postgres/pgtest"
	"github.com/couponpop/couponpop/internal/push"
	"github.com/couponpop/couponpop/internal/push/fcmfake"
)

var (
	pool     *pgxpool.Pool
	rdb      redis.UniversalClient
	amqpURL  = "amqp://guest:guest@127.0.0.1:5672/"
	redisURL = "127.0.0.1:6379"
)

func TestMain(m *testing.M) {
	if u := os.Getenv("RABBITMQ_URL"); u != "" {
		amqpURL = u
	}
	if a := os.Getenv("REDIS_ADDR"); a != "" {
		redisURL = a
	}
	rdb = redis.NewClient(&redis.Options{Addr: redisURL})
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		fmt.Fprintln(os.Stderr, "push tests need Redis (make services):", err)
		os.Exit(1)
	}
	conn, err := amqp.Dial(amqpURL)
	if err != nil {
		fmt.Fprintln(os.Stderr, "push tests need RabbitMQ (make services):", err)
		os.Exit(1)
	}
	conn.Close()
	pgtest.Main(m, "push", &pool)
}

const project = "couponpop-test"

// runID makes trace ids unique across runs: the Redis done keys outlive
// the per-package database, and a trace id seen by an earlier run would be
// skipped as already sent.
var runID = func() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}()

// env is one test's push path: its own exchange and queues, a relay and a
// worker on them, and a fake FCM the real SDK sends to.
type env struct {
	t     *testing.T
	topo  push.Topology
	fcm   *fcmfake.Server
	cfg   push.WorkerConfig
	clock *clock
	stop  func()
	sends sync.Map // token → *atomic.Int64: sends that reached the fake
}

// tries is how many sends to tok reached the fake's per-token rules,
// accepted or not.
func (e *env) tries(tok string) int {
	if n, ok := e.sends.Load(tok); ok {
		return int(n.(*atomic.Int64).Load())
	}
	return 0
}

// clock is a settable clock for quiet-hours tests; zero means time.Now.
type clock struct{ at atomic.Pointer[time.Time] }

func (c *clock) Now() time.Time {
	if t := c.at.Load(); t != nil {
		return *t
	}
	return time.Now()
}

func (c *clock) Set(t time.Time) { c.at.Store(&t) }

var seq atomic.Int64

// newEnv starts a relay and a worker for t; tweak adjusts the worker's
// configuration before it starts.
func newEnv(t *testing.T, tweak func(*push.WorkerConfig)) *env {
	t.Helper()
	e := &env{t: t, clock: &clock{}}
	e.topo = push.TestTopology(fmt.Sprintf("t%s-%d", runID, seq.Add(1)))
	e.fcm = fcmfake.Start(t, fcmfake.WithProject(project))
	e.fcm.SetHook(func(m *fcmfake.Message) *fcmfake.Failure {
		n, _ := e.sends.LoadOrStore(m.Token, new(atomic.Int64))
		n.(*atomic.Int64).Add(1)
		return nil
	})
	e.cfg = push.WorkerConfig{
		URL:         amqpURL,
		Topology:    e.topo,
		BatchSize:   100,
		Processors:  2,
		BaseBackoff: 50 * time.Millisecond,
		MaxBackoff:  500 * time.Millisecond,
		SendTimeout: 2 * time.Second,
		LockTTL:     3 * time.Second,
		Now:         e.clock.Now,
	}
	if tweak != nil {
		tweak(&e.cfg)
	}
	e.declare()
	t.Cleanup(e.cleanup)
	e.start()
	return e
}

func (e *env) sender() push.Sender {
	e.t.Helper()
	ctx := context.Background()
	app, err := firebase.NewApp(ctx, &firebase.Config{ProjectID: project},
		option.WithEndpoint(e.fcm.Endpoint()), option.WithoutAuthentication())
	require.NoError(e.t, err)
	client, err := app.Messaging(ctx)
	require.NoError(e.t, err)
	return client
}

// start runs a relay and a worker until stop (or the test's end).
func (e *env) start() {
	ctx, cancel := context.WithCancel(context.Background())
	relay := outbox.NewRelay(pool, outbox.RelayConfig{URL: amqpURL, Exchange: e.topo.Exchange, PollInterval: 20 * time.Millisecond})
	w := push.NewWorker(pool, rdb, e.sender(), e.cfg)
	var wg sync.WaitGroup
	wg.Go(func() { _ = relay.Run(ctx) })
	wg.Go(func() { _ = w.Run(ctx) })
	var once sync.Once
	e.stop = func() { once.Do(func() { cancel(); wg.Wait() }) }
	e.t.Cleanup(e.stop)
}

// declare creates the topology so a test can inspect queues at once.
func (e *env) declare() {
	conn, err := amqp.Dial(amqpURL)
	require.NoError(e.t, err)
	defer conn.Close()
	ch, err := conn.Channel()
	require.NoError(e.t, err)
	require.NoError(e.t, e.topo.Declare(ch))
}

func (e *env) cleanup() {
	conn, err := amqp.Dial(amqpURL)
	if err != nil {
		return
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return
	}
	for _, q := range e.topo.Queues() {
		_, _ = ch.QueueDelete(q, false, false, false)
	}
	_ = ch.ExchangeDelete(e.topo.Exchange, false, false)
}

// queueLen is the number of ready messages in q.
func (e *env) queueLen(q string) int {
	e.t.Helper()
	conn, err := amqp.Dial(amqpURL)
	require.NoError(e.t, err)
	defer conn.Close()
	ch, err := conn.Channel()
	require.NoError(e.t, err)
	info, err := ch.QueueDeclarePassive(q, true, false, false, false, nil)
	require.NoError(e.t, err)
	return info.Messages
}

// deadLetters reads (and requeues) what is in the dead-letter queue.
func (e *env) deadLetters() []amqp.Delivery {
	e.t.Helper()
	conn, err := amqp.Dial(amqpURL)
	require.NoError(e.t, err)
	defer conn.Close()
	ch, err := conn.Channel()
	require.NoError(e.t, err)
	var out []amqp.Delivery
	for {
		d, ok, err := ch.Get(e.topo.DeadLetter, false)
		require.NoError(e.t, err)
		if !ok {
			break
		}
		out = append(out, d)
	}
	return out // closing the channel requeues them
}

// member creates a member with devices (tokens) and returns its id.
func member(t *testing.T, tokens ...string) int64 {
	t.Helper()
	ctx := context.Background()
	n := seq.Add(1)
	var id int64
	err := pool.QueryRow(ctx, `
		INSERT INTO members (email, password_hash, nickname, role)
		VALUES ($1, 'x', 'm', 'CUSTOMER') RETURNING id`,
		fmt.Sprintf("m%d-%s@example.com", n, runID)).Scan(&id)
	require.NoError(t, err)
	for i, tok := range tokens {
		_, err := pool.Exec(ctx, `INSERT INTO devices (member_id, token, platform, device_id) VALUES ($1, $2, 'ANDROID', $3)`,
			id, tok, "dev-"+strconv.Itoa(i))
		require.NoError(t, err)
	}
	return id
}

// token is a fresh device token.
func token(t *testing.T) string { return fmt.Sprintf("tok-%s-%d-%s", runID, seq.Add(1), t.Name()) }

// trace is a fresh trace id of kind.
func trace(kind string) string { return fmt.Sprintf("%s:%d:%s", kind, seq.Add(1), runID) }

// emit writes outbox rows as a domain transaction would.
func emit(t *testing.T, msgs ...outbox.Message) {
	t.Helper()
	err := pgx.BeginFunc(context.Background(), pool, func(tx pgx.Tx) error { return outbox.Add(context.Background(), tx, msgs...) })
	require.NoError(t, err)
}

// issued is a COUPON_ISSUED message for member.
func issued(member int64, trace string) outbox.Message {
	return outbox.Message{Kind: outbox.CouponIssued, TraceID: trace, Payload: map[string]any{
		"coupon_id": seq.Add(1), "event_id": 0, "store_id": 0, "member_id": member,
	}}
}

// eventually waits up to d for cond.
func eventually(t *testing.T, d time.Duration, cond func() bool, format string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("timed out after %v: "+format, append([]any{d}, args...)...)
}

// notification is a member's history row for trace.
func notification(t *testing.T, member int64, trace string) (status string, attempts int, lastError *string, deliverAfter *time.Time) {
	t.Helper()
	err := pool.QueryRow(context.Background(), `
		SELECT status, attempts, last_error, deliver_after FROM notifications WHERE member_id = $1 AND trace_id = $2`,
		member, trace).Scan(&status, &attempts, &lastError, &deliverAfter)
	if err == pgx.ErrNoRows {
		return "", 0, nil, nil
	}
	require.NoError(t, err)
	return status, attempts, lastError, deliverAfter
}

// jobOf decodes a dead-lettered job.
func jobOf(t *testing.T, d amqp.Delivery) push.Job {
	t.Helper()
	var j push.Job
	require.NoError(t, json.Unmarshal(d.Body, &j), "dead letter body %s", d.Body)
	return j
}
