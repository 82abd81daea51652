// Command issue is the issuance load generator: it runs the real API
// (gin engine, issue.Service, PostgreSQL, Redis) on a loopback port and
// drives it with N concurrent virtual users, each taking coupons as a
// fresh customer, for every lock strategy side by side in one run; then it
// measures PostgreSQL's own ceiling for one-row transactions with pgbench.
//
//	go run ./bench/issue -vus 1000 -duration 10s
//
// It uses a scratch database (cpbench_issue) and Redis database 9.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-redsync/redsync/v4"
	"github.com/go-redsync/redsync/v4/redis/goredis/v9"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/couponpop/couponpop/internal/api"
	"github.com/couponpop/couponpop/internal/auth"
	"github.com/couponpop/couponpop/internal/issue"
	"github.com/couponpop/couponpop/internal/member"
	"github.com/couponpop/couponpop/internal/postgres/pgtest"
	"github.com/couponpop/couponpop/internal/store"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type strategy struct {
	name string
	opts issue.Options
}

func run() error {
	vus := flag.Int("vus", 1000, "concurrent virtual users")
	dur := flag.Duration("duration", 10*time.Second, "time per strategy")
	only := flag.String("only", "", "comma-separated strategy names to run (default all)")
	rate := flag.Int("rate", 0, "also run each strategy open-loop at this many requests/s (k6 constant-arrival-rate); 0 skips")
	pgbenchClients := flag.Int("pgbench-clients", 64, "pgbench clients for the PostgreSQL ceiling")
	flag.Parse()
	ctx := context.Background()

	pool, dsn, err := pgtest.Open("bench_issue", 64)
	if err != nil {
		return err
	}
	defer pool.Close()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", DB: 9, PoolSize: 512})
	if err := rdb.FlushDB(ctx).Err(); err != nil {
		return err
	}
	rs := redsync.New(goredis.NewPool(rdb))
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))

	strategies := []strategy{
		{"gate+batch lock (chosen)", issue.Options{}},
		{"gate+lock per request", issue.Options{MaxBatch: 1}},
		{"no gate, batch lock", issue.Options{NoGate: true}},
		{"no gate, lock per request (seeds)", issue.Options{MaxBatch: 1, NoGate: true}},
	}
	if *only != "" {
		var keep []strategy
		for _, s := range strategies {
			for _, o := range strings.Split(*only, ",") {
				if strings.HasPrefix(s.name, o) {
					keep = append(keep, s)
				}
			}
		}
		strategies = keep
	}

	// Customers: one fresh member per request, as in a real flash sale.
	fmt.Fprintf(os.Stderr, "creating customers...\n")
	need := 400_000
	if _, err := pool.Exec(ctx, `
		INSERT INTO members (email, password_hash, nickname, role)
		SELECT 'c' || i || '@bench.dev', 'x', 'c' || i, 'CUSTOMER' FROM generate_series(1, $1) i`, need); err != nil {
		return err
	}
	var firstID int64
	if err := pool.QueryRow(ctx, `SELECT min(id) FROM members WHERE role = 'CUSTOMER'`).Scan(&firstID); err != nil {
		return err
	}
	// As in cmd/api: the deny-list answers from memory once it follows Redis.
	deny := auth.NewRedisDenyList(rdb)
	go deny.Run(ctx)
	tokens := auth.NewTokens("bench-secret", "", time.Hour, deny)
	toks := make([]string, need)
	for i := range toks {
		toks[i], _, _ = tokens.Issue(firstID+int64(i), auth.Customer)
	}
	var next atomic.Int64

	fmt.Printf("Issuance benchmark: %d virtual users, %s per strategy, GOMAXPROCS=%d, fresh customer per request\n\n", *vus, *dur, 2)
	fmt.Printf("| strategy | issued | issues/s | p50 ms | p99 ms | errors |\n|---|---:|---:|---:|---:|---:|\n")
	for _, st := range strategies {
		res, err := runStrategy(ctx, pool, rdb, rs, tokens, log, st, toks, &next, *vus, *dur, 0)
		if err != nil {
			return fmt.Errorf("%s: %w", st.name, err)
		}
		fmt.Printf("| %s | %d | %.0f | %.1f | %.1f | %d |\n", st.name, res.ok, res.rate, res.p50, res.p99, res.errs)
	}
	if *rate > 0 {
		fmt.Printf("\nOpen loop at %d requests/s (up to %d in flight; latency from the scheduled start, so queueing counts):\n\n", *rate, *vus)
		fmt.Printf("| strategy | issued | issues/s | p50 ms | p99 ms | dropped | errors |\n|---|---:|---:|---:|---:|---:|---:|\n")
		for _, st := range strategies {
			res, err := runStrategy(ctx, pool, rdb, rs, tokens, log, st, toks, &next, *vus, *dur, *rate)
			if err != nil {
				return fmt.Errorf("%s: %w", st.name, err)
			}
			fmt.Printf("| %s | %d | %.0f | %.1f | %.1f | %d | %d |\n", st.name, res.ok, res.rate, res.p50, res.p99, res.dropped, res.errs)
		}
	}

	// The sell-out storm: stock 100, everyone keeps tapping. Refusals never
	// reach PostgreSQL.
	res, err := soldOutStorm(ctx, pool, rdb, rs, tokens, log, toks, &next, *vus, *dur/2)
	if err != nil {
		return err
	}
	fmt.Printf("\nSell-out storm (stock 100, %d VUs, %s): %d issued, %.0f answers/s, p50 %.1f ms, p99 %.1f ms, other errors %d\n",
		*vus, *dur/2, res.ok, res.rate, res.p50, res.p99, res.errs)

	tps, err := pgbenchCeiling(dsn, *pgbenchClients)
	if err != nil {
		return err
	}
	fmt.Printf("\nPostgreSQL ceiling, same machine, same day: pgbench one-row INSERT per transaction, %d clients, 10 s: %s tps\n", *pgbenchClients, tps)
	return nil
}

type result struct {
	ok, errs int64
	dropped  int64
	rate     float64
	p50, p99 float64
}

func serve(pool *pgxpool.Pool, rdb *redis.Client, rs *redsync.Redsync, tokens *auth.Tokens, log *slog.Logger, opts issue.Options) (*issue.Service, *store.Service, string, func(), error) {
	stores := store.NewService(pool, func(context.Context, string, error) {})
	reg := prometheus.NewRegistry()
	svc := issue.NewService(pool, rdb, rs, stores, log, reg, opts)
	s := api.New(api.Deps{Log: log, Registry: reg, Tokens: tokens, Members: member.NewService(pool, tokens, time.Hour), Stores: stores, Issue: svc})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, "", nil, err
	}
	srv := &http.Server{Handler: s.Engine}
	go srv.Serve(ln)
	return svc, stores, "http://" + ln.Addr().String(), func() { srv.Close(); svc.Close() }, nil
}

func newEvent(ctx context.Context, pool *pgxpool.Pool, svc *issue.Service, stores *store.Service, qty int) (int64, error) {
	var owner int64
	if err := pool.QueryRow(ctx, `INSERT INTO members (email, password_hash, nickname, role)
		VALUES ('o' || clock_timestamp() || '@bench.dev', 'x', 'o', 'OWNER') RETURNING id`).Scan(&owner); err != nil {
		return 0, err
	}
	p := auth.Principal{MemberID: owner, Role: auth.Owner}
	name, cat, lat, lng := "벤치 카페", "CAFE", 37.5563, 126.9236
	st, err := stores.Create(ctx, p, store.Input{Name: &name, Category: &cat, Lat: &lat, Lng: &lng})
	if err != nil {
		return 0, err
	}
	now := time.Now()
	title, typ, val, hrs := "flash", "AMOUNT", 1000, 24
	end := now.Add(time.Hour)
	ev, err := svc.CreateEvent(ctx, p, st.ID, issue.EventInput{Title: &title, DiscountType: &typ, DiscountValue: &val,
		TotalQuantity: &qty, IssueStartsAt: &now, IssueEndsAt: &end, ValidHours: &hrs})
	return ev.ID, err
}

func runStrategy(ctx context.Context, pool *pgxpool.Pool, rdb *redis.Client, rs *redsync.Redsync, tokens *auth.Tokens,
	log *slog.Logger, st strategy, toks []string, next *atomic.Int64, vus int, dur time.Duration, rate int) (result, error) {
	svc, stores, base, stop, err := serve(pool, rdb, rs, tokens, log, st.opts)
	if err != nil {
		return result{}, err
	}
	defer stop()
	ev, err := newEvent(ctx, pool, svc, stores, issue.MaxQuantity)
	if err != nil {
		return result{}, err
	}
	var res result
	if rate > 0 {
		res = loadAtRate(base, ev, toks, next, vus, rate, dur)
	} else {
		res = load(base, ev, toks, next, vus, dur, true)
	}
	// Check the truth after the run: rows == issued_count == 201 answers.
	var rows, issued int64
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM coupons WHERE event_id = $1), issued_count FROM coupon_events WHERE id = $1`, ev).Scan(&rows, &issued); err != nil {
		return result{}, err
	}
	if rows != res.ok || issued != res.ok {
		return result{}, fmt.Errorf("mismatch: %d answers 201, %d rows, issued_count %d", res.ok, rows, issued)
	}
	return res, nil
}

func soldOutStorm(ctx context.Context, pool *pgxpool.Pool, rdb *redis.Client, rs *redsync.Redsync, tokens *auth.Tokens,
	log *slog.Logger, toks []string, next *atomic.Int64, vus int, dur time.Duration) (result, error) {
	svc, stores, base, stop, err := serve(pool, rdb, rs, tokens, log, issue.Options{})
	if err != nil {
		return result{}, err
	}
	defer stop()
	ev, err := newEvent(ctx, pool, svc, stores, 100)
	if err != nil {
		return result{}, err
	}
	return load(base, ev, toks, next, vus, dur, false), nil
}

// loadAtRate starts requests on a fixed schedule, rate per second, on at
// most vus workers; a request that finds no free worker is dropped and
// counted (k6's dropped_iterations). Latency runs from the scheduled start.
func loadAtRate(base string, eventID int64, toks []string, next *atomic.Int64, vus, rate int, dur time.Duration) result {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: vus, MaxIdleConns: vus, IdleConnTimeout: time.Minute}, Timeout: 30 * time.Second}
	url := fmt.Sprintf("%s/api/v1/coupon-events/%d/issue", base, eventID)
	body := []byte(`{"lat":37.5563,"lng":126.9236}`)
	jobs := make(chan time.Time, vus)
	var ok, errs, dropped atomic.Int64
	lat := make([][]time.Duration, vus)
	var wg sync.WaitGroup
	for v := range vus {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for at := range jobs {
				i := next.Add(1)
				if int(i) >= len(toks) {
					errs.Add(1)
					continue
				}
				req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+toks[i])
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					errs.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lat[v] = append(lat[v], time.Since(at))
				if resp.StatusCode == http.StatusCreated {
					ok.Add(1)
				} else {
					errs.Add(1)
				}
			}
		}()
	}
	start := time.Now()
	total := int(float64(rate) * dur.Seconds())
	for n := 0; n < total; {
		due := int(float64(rate) * time.Since(start).Seconds())
		for ; n < due && n < total; n++ {
			at := start.Add(time.Duration(float64(n) / float64(rate) * float64(time.Second)))
			select {
			case jobs <- at:
			default:
				dropped.Add(1)
			}
		}
		time.Sleep(200 * time.Microsecond)
	}
	close(jobs)
	wg.Wait()
	elapsed := time.Since(start)
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	slices.Sort(all)
	return result{ok: ok.Load(), errs: errs.Load(), dropped: dropped.Load(), rate: float64(ok.Load()) / elapsed.Seconds(),
		p50: percentile(all, 0.50), p99: percentile(all, 0.99)}
}

func percentile(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return float64(sorted[int(float64(len(sorted)-1)*p)].Microseconds()) / 1000
}

// load runs vus loops for dur; each request is a fresh customer. With
// countOnlyCreated, rate counts 201s; otherwise every 201 or 409 answer.
func load(base string, eventID int64, toks []string, next *atomic.Int64, vus int, dur time.Duration, countOnlyCreated bool) result {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: vus, MaxIdleConns: vus, IdleConnTimeout: time.Minute}, Timeout: 30 * time.Second}
	url := fmt.Sprintf("%s/api/v1/coupon-events/%d/issue", base, eventID)
	body := []byte(`{"lat":37.5563,"lng":126.9236}`)
	var ok, answered, errs atomic.Int64
	lat := make([][]time.Duration, vus)
	deadline := time.Now().Add(dur)
	start := time.Now()
	var wg sync.WaitGroup
	for v := range vus {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				i := next.Add(1)
				if int(i) >= len(toks) {
					return
				}
				req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+toks[i])
				req.Header.Set("Content-Type", "application/json")
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					errs.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lat[v] = append(lat[v], time.Since(t0))
				switch resp.StatusCode {
				case http.StatusCreated:
					ok.Add(1)
					answered.Add(1)
				case http.StatusConflict:
					answered.Add(1)
				default:
					errs.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	slices.Sort(all)
	n := ok.Load()
	if !countOnlyCreated {
		n = answered.Load()
	}
	return result{ok: ok.Load(), errs: errs.Load(), rate: float64(n) / elapsed.Seconds(), p50: percentile(all, 0.50), p99: percentile(all, 0.99)}
}

// pgbenchCeiling runs pgbench with a one-row INSERT per transaction, the
// cost the per-request designs pay per coupon.
func pgbenchCeiling(dsn string, clients int) (string, error) {
	pgbench, err := exec.LookPath("pgbench")
	if err != nil {
		m, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pgbench")
		if len(m) == 0 {
			return "", fmt.Errorf("pgbench not found")
		}
		pgbench = m[len(m)-1]
	}
	dir, err := os.MkdirTemp("", "pgbench")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	script := filepath.Join(dir, "insert.sql")
	if err := os.WriteFile(script, []byte("INSERT INTO bench_insert (member_id, code) VALUES (random() * 1000000, md5(random()::text));\n"), 0o644); err != nil {
		return "", err
	}
	setup := exec.Command("psql", dsn, "-q", "-c", "DROP TABLE IF EXISTS bench_insert", "-c",
		"CREATE TABLE bench_insert (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, member_id bigint, code text, at timestamptz DEFAULT now())")
	if out, err := setup.CombinedOutput(); err != nil {
		return "", fmt.Errorf("pgbench setup: %v: %s", err, out)
	}
	out, err := exec.Command(pgbench, "-n", "-c", fmt.Sprint(clients), "-j", "2", "-T", "10", "-f", script, dsn).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("pgbench: %v: %s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "tps = ") {
			return strings.Fields(line)[2], nil
		}
	}
	return "", fmt.Errorf("pgbench printed no tps: %s", out)
}
