// Command push measures the push path end to end on this machine:
// outbox rows in PostgreSQL → outbox.Relay → RabbitMQ → push.Worker (Redis
// locks, real firebase SDK) → a local fake FCM server, and counts the
// deliveries per device to find duplicates (there must be none).
//
//	go run ./bench/push -n 50000
//
// Two scenarios run in turn, each on a fresh backlog:
//
//   - issued: n COUPON_ISSUED rows, one per member (a launch where n people
//     claim a coupon): n messages through the broker, n pushes.
//   - fanout: one EVENT_CREATED for a store n members follow: one message
//     fanned out into jobs of 500 members, n pushes.
//
// The clock starts when the relay and the worker start on the committed
// backlog and stops when the fake has accepted n messages; pushes/s is n
// over that time. It uses the services `make services` starts, a database
// of its own and queues of its own.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"time"

	firebase "firebase.google.com/go/v4"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/redis/go-redis/v9"
	"google.golang.org/api/option"

	"github.com/couponpop/couponpop/internal/outbox"
	"github.com/couponpop/couponpop/internal/postgres"
	"github.com/couponpop/couponpop/internal/postgres/pgtest"
	"github.com/couponpop/couponpop/internal/push"
	"github.com/couponpop/couponpop/internal/push/fcmfake"
	"github.com/couponpop/couponpop/internal/redisx"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench/push:", err)
		os.Exit(1)
	}
}

func run() error {
	n := flag.Int("n", 50000, "pushes per scenario")
	scenarios := flag.String("scenarios", "issued,fanout", "comma-separated: issued, fanout")
	batch := flag.Int("batch", 500, "worker batch size")
	procs := flag.Int("processors", 4, "worker batches in flight")
	latency := flag.Duration("fcm-latency", 0, "latency the fake FCM adds to every answer")
	relays := flag.Int("relays", 1, "outbox relays (each runs RelayConfig.Parallel sessions, 2 by default)")
	relayOnly := flag.Bool("relay-only", false, "measure the outbox relay alone: no worker, the clock stops when the outbox is drained")
	debug := flag.Bool("debug", false, "log every batch's stage timings to stderr")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}

	ctx := context.Background()
	amqpURL := env("RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")
	dsn, err := pgtest.Create(ctx, "bench_push")
	if err != nil {
		return err
	}
	pool, err := postgres.Open(ctx, dsn, 32)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := postgres.Migrate(ctx, pool, 0); err != nil {
		return err
	}
	rdb, err := redisx.Open(ctx, env("REDIS_ADDR", "127.0.0.1:6379"), "", 64)
	if err != nil {
		return err
	}
	defer rdb.Close()

	var b [4]byte
	_, _ = rand.Read(b[:])
	runID := hex.EncodeToString(b[:])
	store, event, err := seed(ctx, pool, *n, runID)
	if err != nil {
		return err
	}

	fmt.Printf("push benchmark: n=%d per scenario, relays=%d, batch=%d, processors=%d, fcm latency=%v, GOMAXPROCS=%d, run %s\n\n",
		*n, *relays, *batch, *procs, *latency, runtime.GOMAXPROCS(0), runID)
	fmt.Println("| scenario | pushes | seconds | pushes/s | outbox relayed after (s) | FCM requests | duplicates | lost |")
	fmt.Println("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	for _, sc := range strings.Split(*scenarios, ",") {
		var fill func() error
		switch sc {
		case "issued":
			fill = func() error {
				// One row per member, as issuance writes them.
				_, err := pool.Exec(ctx, `
					INSERT INTO outbox (kind, trace_id, payload)
					SELECT 'COUPON_ISSUED', 'COUPON_ISSUED:' || m.id || ':' || $1,
					       jsonb_build_object('coupon_id', m.id, 'event_id', $2::bigint, 'store_id', $3::bigint, 'member_id', m.id)
					FROM members m WHERE m.email LIKE 'bench-%'`, runID, event, store)
				return err
			}
		case "fanout":
			fill = func() error {
				_, err := pool.Exec(ctx, `
					INSERT INTO outbox (kind, trace_id, payload)
					VALUES ('EVENT_CREATED', 'EVENT_CREATED:' || $2::bigint || ':' || $1,
					        jsonb_build_object('event_id', $2::bigint, 'store_id', $3::bigint))`, runID, event, store)
				return err
			}
		default:
			return fmt.Errorf("unknown scenario %q", sc)
		}
		level := slog.LevelWarn
		if *debug {
			level = slog.LevelDebug
		}
		res, err := measure(ctx, pool, rdb, amqpURL, runID+"-"+sc, *n, *batch, *procs, *relays, *latency, level, *relayOnly, fill)
		if err != nil {
			return fmt.Errorf("%s: %w", sc, err)
		}
		if *relayOnly {
			fmt.Printf("| %s (relay only) | %d rows | %.2f | %.0f rows/s | %.2f | | | |\n", sc, *n, res.relayed.Seconds(),
				float64(*n)/res.relayed.Seconds(), res.relayed.Seconds())
			continue
		}
		fmt.Printf("| %s | %d | %.2f | %.0f | %.2f | %d | %d | %d |\n", sc, res.delivered, res.took.Seconds(),
			float64(res.delivered)/res.took.Seconds(), res.relayed.Seconds(), res.requests, res.duplicates, *n-res.delivered)
	}
	return nil
}

// seed makes n members with one Android device each, a store they all
// follow and an open event of it.
func seed(ctx context.Context, pool *pgxpool.Pool, n int, runID string) (store, event int64, err error) {
	var owner int64
	if err = pool.QueryRow(ctx, `INSERT INTO members (email, password_hash, nickname, role) VALUES ('owner@bench.example', 'x', 'o', 'OWNER') RETURNING id`).Scan(&owner); err != nil {
		return 0, 0, fmt.Errorf("seed owner: %w", err)
	}
	if err = pool.QueryRow(ctx, `INSERT INTO stores (owner_id, name, category, location) VALUES ($1, 'Cafe Bench', 'CAFE', ST_GeogFromText('POINT(126.92 37.55)')) RETURNING id`, owner).Scan(&store); err != nil {
		return 0, 0, fmt.Errorf("seed store: %w", err)
	}
	if err = pool.QueryRow(ctx, `
		INSERT INTO coupon_events (store_id, title, discount_type, discount_value, total_quantity, issue_starts_at, issue_ends_at, valid_hours)
		VALUES ($1, 'Americano', 'PERCENT', 50, 1000000, now() - interval '1 hour', now() + interval '1 day', 24) RETURNING id`, store).Scan(&event); err != nil {
		return 0, 0, fmt.Errorf("seed event: %w", err)
	}
	_, err = pool.Exec(ctx, `
		WITH m AS (
			INSERT INTO members (email, password_hash, nickname, role)
			SELECT 'bench-' || i || '@bench.example', 'x', 'b', 'CUSTOMER' FROM generate_series(1, $1) i
			RETURNING id),
		d AS (
			INSERT INTO devices (member_id, token, platform, device_id)
			SELECT id, 'bench-token-' || $2 || '-' || id, 'ANDROID', 'phone' FROM m)
		INSERT INTO store_subscriptions (member_id, store_id) SELECT id, $3 FROM m`, n, runID, store)
	if err != nil {
		return 0, 0, fmt.Errorf("seed members: %w", err)
	}
	_, err = pool.Exec(ctx, `ANALYZE`)
	return store, event, err
}

type result struct {
	delivered, requests, duplicates int
	took, relayed                   time.Duration
}

// measure fills the outbox, then times relay + worker draining it into a
// fresh fake FCM.
func measure(ctx context.Context, pool *pgxpool.Pool, rdb redis.UniversalClient, amqpURL, name string, n, batch, procs, relays int, latency time.Duration, level slog.Level, relayOnly bool, fill func() error) (result, error) {
	fcm := fcmfake.New(fcmfake.WithProject("bench"))
	fcm.SetLatency(latency)
	srv := httptest.NewServer(fcm)
	defer srv.Close()
	app, err := firebase.NewApp(ctx, &firebase.Config{ProjectID: "bench"}, option.WithEndpoint(srv.URL+"/v1"), option.WithoutAuthentication())
	if err != nil {
		return result{}, err
	}
	client, err := app.Messaging(ctx)
	if err != nil {
		return result{}, err
	}

	topo := push.TestTopology("bench-" + name)
	topo.Delays = []time.Duration{time.Second, 5 * time.Second}
	if err := push.DeclareTopology(amqpURL, topo); err != nil {
		return result{}, err
	}
	defer deleteTopology(amqpURL, topo)
	if err := fill(); err != nil {
		return result{}, fmt.Errorf("fill outbox: %w", err)
	}

	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	runCtx, cancel := context.WithCancel(ctx)
	reg := prometheus.NewRegistry()
	worker := push.NewWorker(pool, rdb, client, push.WorkerConfig{URL: amqpURL, Topology: topo, BatchSize: batch, Processors: procs, Log: log, Registerer: reg})
	var wg sync.WaitGroup
	start := time.Now()
	for range relays {
		relay := outbox.NewRelay(pool, outbox.RelayConfig{URL: amqpURL, Exchange: topo.Exchange, Log: log})
		wg.Go(func() { _ = relay.Run(runCtx) })
	}
	if relayOnly {
		n = 0
	} else {
		wg.Go(func() { _ = worker.Run(runCtx) })
	}

	deadline := start.Add(10 * time.Minute)
	var relayed time.Duration
	for (fcm.Count() < n || relayed == 0) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
		if relayed == 0 {
			var left int
			if err := pool.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE published_at IS NULL`).Scan(&left); err == nil && left == 0 {
				relayed = time.Since(start)
			}
		}
	}
	took := time.Since(start)
	time.Sleep(2 * time.Second) // late duplicates would show up here
	cancel()
	wg.Wait()
	// Outcomes other than "sent" explain a slow run (retries, busy locks).
	if mfs, err := reg.Gather(); err == nil {
		for _, mf := range mfs {
			if mf.GetName() != "push_sent_total" {
				continue
			}
			for _, m := range mf.GetMetric() {
				if v := m.GetCounter().GetValue(); v > 0 && m.GetLabel()[0].GetValue() != "sent" {
					fmt.Fprintf(os.Stderr, "%s: push_sent_total{result=%q} = %.0f\n", name, m.GetLabel()[0].GetValue(), v)
				}
			}
		}
	}
	return result{delivered: fcm.Count(), requests: fcm.Requests(), duplicates: fcm.Duplicates(), took: took, relayed: relayed}, nil
}

func deleteTopology(url string, t push.Topology) {
	conn, err := amqp.Dial(url)
	if err != nil {
		return
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return
	}
	for _, q := range t.Queues() {
		_, _ = ch.QueueDelete(q, false, false, false)
	}
	_ = ch.ExchangeDelete(t.Exchange, false, false)
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
