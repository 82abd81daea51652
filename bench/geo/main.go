// Command geo is the nearby load generator: it loads 100,000 stores spread
// over Seoul (generated in SQL), serves GET /api/v1/coupons/nearby twice
// on loopback — once with the Redis GEO hot path, once PostGIS only — and
// drives each with N concurrent virtual users, side by side in one run,
// with PostGIS queried two ways (KNN, as the fallback does, and the
// textbook sort of the whole circle). It first checks that every path
// gives the same answers, byte for byte.
//
//	go run ./bench/geo -vus 100 -duration 10s
//
// It uses a scratch database (cptest_bench_geo) and Redis database 12.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/go-redsync/redsync/v4"
	"github.com/go-redsync/redsync/v4/redis/goredis/v9"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/couponpop/couponpop/internal/auth"
	"github.com/couponpop/couponpop/internal/geo"
	"github.com/couponpop/couponpop/internal/httpapi"
	"github.com/couponpop/couponpop/internal/issue"
	"github.com/couponpop/couponpop/internal/postgres/pgtest"
	"github.com/couponpop/couponpop/internal/store"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// Seoul, and the hot spots where stores and people crowd.
var (
	seoulMinLat, seoulMaxLat = 37.45, 37.69
	seoulMinLng, seoulMaxLng = 126.80, 127.18
	hotSpots                 = [][2]float64{{37.5563, 126.9236}, {37.4979, 127.0276}, {37.5133, 127.1001}, {37.5636, 126.9869}, {37.5446, 127.0559}}
)

func run() error {
	stores := flag.Int("stores", 100_000, "stores to generate")
	vus := flag.Int("vus", 100, "concurrent virtual users")
	dur := flag.Duration("duration", 10*time.Second, "time per path")
	radius := flag.Int("radius", 0, "radius_m of every request (0: the API default, 1000)")
	limit := flag.Int("limit", 0, "limit of every request (0: the API default, 20)")
	checks := flag.Int("check", 500, "random questions both paths must answer identically before the load")
	reuse := flag.Bool("reuse", false, "keep the stores of a previous run (same -stores)")
	redisAddr := flag.String("redis", "127.0.0.1:6379", "Redis address (database 12 is flushed)")
	probe := flag.Int("probe", 0, "only measure: this many sequential nearby calls on the service (no HTTP), Redis CPU per call")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the Redis path's run to this file")
	flag.Parse()
	ctx := context.Background()

	var pool *pgxpool.Pool
	var err error
	if *reuse {
		pool, err = pgxpool.New(ctx, dsnOf("bench_geo"))
	} else {
		pool, _, err = pgtest.Open("bench_geo", 64)
	}
	if err != nil {
		return err
	}
	defer pool.Close()
	rdb := redis.NewClient(&redis.Options{Addr: *redisAddr, DB: 12, PoolSize: 256})
	defer rdb.Close()
	if err := rdb.FlushDB(ctx).Err(); err != nil {
		return err
	}
	if !*reuse {
		t0 := time.Now()
		if err := generate(ctx, pool, *stores); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "generated %d stores in %s\n", *stores, time.Since(t0).Round(time.Millisecond))
	}
	var nStores, nLive, nEvents int
	if err := pool.QueryRow(ctx, `
		SELECT (SELECT count(*) FROM stores),
		       (SELECT count(DISTINCT store_id) FROM coupon_events WHERE status = 'ACTIVE' AND issue_starts_at <= now() AND issue_ends_at > now() AND issued_count < total_quantity),
		       (SELECT count(*) FROM coupon_events)`).Scan(&nStores, &nLive, &nEvents); err != nil {
		return err
	}

	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	rs := redsync.New(goredis.NewPool(rdb))
	storeSvc := store.NewService(pool, func(context.Context, string, error) {})
	issuing := issue.NewService(pool, rdb, rs, storeSvc, log, prometheus.NewRegistry(), issue.Options{})
	hot := geo.NewService(pool, rdb, rs, issuing, log, prometheus.NewRegistry(), geo.Options{})
	truth := geo.NewService(pool, rdb, rs, issuing, log, prometheus.NewRegistry(), geo.Options{NoRedis: true})
	textbook := geo.NewService(pool, rdb, rs, issuing, log, prometheus.NewRegistry(), geo.Options{NoRedis: true, NoKNN: true})
	t0 := time.Now()
	if err := hot.Rebuild(ctx); err != nil {
		return err
	}
	rebuild := time.Since(t0)
	indexed, _ := rdb.ZCard(ctx, "geo:{stores}:all").Result()
	mem, _ := rdb.MemoryUsage(ctx, "geo:{stores}:sum").Result()

	// The questions: where people are, as the stores are.
	r := rand.New(rand.NewPCG(7, 7))
	points := make([]geo.Point, 20_000)
	for i := range points {
		points[i] = somewhere(r)
	}
	query := func(p geo.Point) string {
		q := fmt.Sprintf("/api/v1/coupons/nearby?lat=%.6f&lng=%.6f", p.Lat, p.Lng)
		if *radius > 0 {
			q += fmt.Sprintf("&radius_m=%d", *radius)
		}
		if *limit > 0 {
			q += fmt.Sprintf("&limit=%d", *limit)
		}
		return q
	}

	if *probe > 0 {
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
		for _, svc := range []struct {
			name string
			s    *geo.Service
		}{{"redis", hot}, {"redis, warm hints", hot}} {
			rdb.ConfigResetStat(ctx)
			r0, g0, t0 := redisCPU(ctx, rdb), processCPU(), time.Now()
			for i := range *probe {
				q, _ := geo.NewQuery(points[i%len(points)], float64(*radius), "", *limit)
				if _, err := svc.s.Nearby(ctx, q); err != nil {
					return err
				}
			}
			n := float64(*probe)
			fmt.Printf("%-20s Redis CPU %.1f µs/call, Go CPU %.1f µs/call, wall %.1f µs/call\n", svc.name,
				float64((redisCPU(ctx, rdb)-r0).Microseconds())/n, float64((processCPU()-g0).Microseconds())/n, float64(time.Since(t0).Microseconds())/n)
			stats, _ := rdb.Info(ctx, "commandstats").Result()
			for _, line := range strings.Split(stats, "\n") {
				if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok && strings.HasPrefix(k, "cmdstat_") {
					var calls, usec int
					fmt.Sscanf(v, "calls=%d,usec=%d", &calls, &usec)
					fmt.Printf("    %-22s %6.2f calls/answer %8.1f µs/answer\n", strings.TrimPrefix(k, "cmdstat_"), float64(calls)/n, float64(usec)/n)
				}
			}
		}
		return nil
	}

	hotURL, stopHot, err := serve(hot, log)
	if err != nil {
		return err
	}
	defer stopHot()
	truthURL, stopTruth, err := serve(truth, log)
	if err != nil {
		return err
	}
	defer stopTruth()
	textURL, stopText, err := serve(textbook, log)
	if err != nil {
		return err
	}
	defer stopText()

	// Same answers first, byte for byte.
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *vus, MaxIdleConns: *vus, IdleConnTimeout: time.Minute}, Timeout: 30 * time.Second}
	mismatches, items := 0, 0
	for i := range *checks {
		q := query(points[i])
		a, err := get(client, hotURL+q)
		if err != nil {
			return err
		}
		b, err := get(client, truthURL+q)
		if err != nil {
			return err
		}
		c, err := get(client, textURL+q)
		if err != nil {
			return err
		}
		if !bytes.Equal(a, b) || !bytes.Equal(a, c) {
			if mismatches == 0 {
				fmt.Fprintf(os.Stderr, "first difference, %s:\nredis   %s\npostgis %s\n", q, a, b)
			}
			mismatches++
		}
		items += bytes.Count(a, []byte(`"distance_m"`))
	}

	fmt.Printf("Nearby benchmark: %d stores over Seoul (%d with an issuable event, %d events; %d in the Redis index, summaries %.1f MiB), "+
		"index rebuilt from PostgreSQL in %s; %d virtual users, %s per path, GOMAXPROCS=%d\n\n",
		nStores, nLive, nEvents, indexed-1, float64(mem)/(1<<20), rebuild.Round(time.Millisecond), *vus, *dur, runtimeProcs())
	fmt.Printf("Consistency: %d random questions, %d answers differ between the paths (%.1f stores per answer)\n\n",
		*checks, mismatches, float64(items)/float64(*checks))
	if mismatches > 0 {
		return fmt.Errorf("%d of %d answers differ between the Redis and PostGIS paths", mismatches, *checks)
	}

	fmt.Printf("| path | requests | requests/s | p50 ms | p90 ms | p99 ms | errors | CPU µs/request: PostgreSQL | Redis | Go (server + load generator) |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	var rates []float64
	paths := []struct{ name, url string }{
		{"Redis GEO hot path", hotURL},
		{"PostGIS, KNN (the fallback: ST_DWithin, ORDER BY location <-> point)", truthURL},
		{"PostGIS, textbook (ST_DWithin, ORDER BY ST_Distance)", textURL},
	}
	for _, p := range paths {
		load(client, p.url, points, query, *vus, 2*time.Second) // warm up connections and caches
		profiling := *cpuprofile != "" && p.url == hotURL
		if profiling {
			f, err := os.Create(*cpuprofile)
			if err != nil {
				return err
			}
			defer f.Close()
			if err := pprof.StartCPUProfile(f); err != nil {
				return err
			}
		}
		pg0, redis0, go0 := pgCPU(ctx, pool), redisCPU(ctx, rdb), processCPU()
		res := load(client, p.url, points, query, *vus, *dur)
		perReq := func(d time.Duration) float64 { return d.Seconds() * 1e6 / float64(res.ok) }
		pgUS, redisUS, goUS := perReq(pgCPU(ctx, pool)-pg0), perReq(redisCPU(ctx, rdb)-redis0), perReq(processCPU()-go0)
		if profiling {
			pprof.StopCPUProfile()
		}
		rates = append(rates, res.rate)
		fmt.Printf("| %s | %d | %.0f | %.2f | %.2f | %.2f | %d | %.0f | %.0f | %.0f |\n", p.name, res.ok, res.rate, res.p50, res.p90, res.p99, res.errs, pgUS, redisUS, goUS)
	}
	fmt.Printf("\nRedis path / PostGIS KNN: %.1f× the requests per second; Redis path / PostGIS textbook: %.1f×\n", rates[0]/rates[1], rates[0]/rates[2])
	// The floor: the same server, client and machine answering GET /healthz
	// (no I/O at all), measured right after.
	floor := load(client, hotURL, points, func(geo.Point) string { return "/healthz" }, *vus, *dur/2)
	fmt.Printf("HTTP floor on this machine at the same moment (GET /healthz, same server and client): %.0f requests/s, p99 %.2f ms\n", floor.rate, floor.p99)
	return nil
}

func runtimeProcs() int { return runtime.GOMAXPROCS(0) }

// redisCPU is the CPU time the Redis server has used (INFO cpu): unlike
// latency, it does not grow when the machine is busy with other work.
func redisCPU(ctx context.Context, rdb *redis.Client) time.Duration {
	info, err := rdb.Info(ctx, "cpu").Result()
	if err != nil {
		return 0
	}
	var total float64
	for _, line := range strings.Split(info, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok && (k == "used_cpu_sys" || k == "used_cpu_user") {
			f, _ := strconv.ParseFloat(v, 64)
			total += f
		}
	}
	return time.Duration(total * float64(time.Second))
}

// pgCPU is the CPU time used so far by the PostgreSQL backends serving
// this benchmark's database (from /proc; the pool keeps its connections,
// so differences over a run count that run's queries).
func pgCPU(ctx context.Context, pool *pgxpool.Pool) time.Duration {
	rows, err := pool.Query(ctx, `SELECT pid FROM pg_stat_activity WHERE datname = current_database()`)
	if err != nil {
		return 0
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return 0
	}
	var ticks int64
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue // another user's server, or gone
		}
		// Fields after the command (which may hold spaces) start after ")".
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(f) > 12 {
			u, _ := strconv.ParseInt(f[11], 10, 64)
			s, _ := strconv.ParseInt(f[12], 10, 64)
			ticks += u + s
		}
	}
	return time.Duration(ticks) * time.Second / 100 // USER_HZ
}

// processCPU is this process's CPU time (user + system).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// dsnOf is the URL of pgtest's database name, without recreating it.
func dsnOf(name string) string {
	u, _ := url.Parse(pgtest.BaseURL())
	u.Path = "/cptest_" + name
	return u.String()
}

// somewhere draws a point: 40 % around a hot spot (σ ≈ 500 m), the rest
// anywhere over Seoul.
func somewhere(r *rand.Rand) geo.Point {
	if r.IntN(10) < 4 {
		h := hotSpots[r.IntN(len(hotSpots))]
		return geo.Point{Lat: h[0] + r.NormFloat64()*0.0045, Lng: h[1] + r.NormFloat64()*0.0057}
	}
	return geo.Point{Lat: seoulMinLat + r.Float64()*(seoulMaxLat-seoulMinLat), Lng: seoulMinLng + r.Float64()*(seoulMaxLng-seoulMinLng)}
}

// generate inserts n stores in SQL with the same distribution as the
// questions, and their events: 80 % open with stock, 10 % suspended, 5 %
// sold out, 5 % not open yet; a fifth of the stores have a second event.
func generate(ctx context.Context, pool *pgxpool.Pool, n int) error {
	var owner int64
	if err := pool.QueryRow(ctx, `INSERT INTO members (email, password_hash, nickname, role)
		VALUES ('owner@bench.dev', 'x', 'owner', 'OWNER') RETURNING id`).Scan(&owner); err != nil {
		return err
	}
	// One connection, so that setseed makes the data the same every run.
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT setseed(0.42)`); err != nil {
		return err
	}
	_, err = conn.Exec(ctx, `
		INSERT INTO stores (owner_id, name, category, address, location)
		SELECT $1, '가게 ' || i,
		       (ARRAY['CAFE','FOOD','BAKERY','BAR','CONVENIENCE','BEAUTY','FASHION','ENTERTAINMENT','ETC'])[1 + i % 9],
		       '서울특별시 ' || i || '번지',
		       ST_SetSRID(ST_MakePoint(lng, lat), 4326)::geography
		FROM (
			SELECT i,
			       CASE WHEN hot THEN (ARRAY[126.9236, 127.0276, 127.1001, 126.9869, 127.0559])[1 + i % 5]
			                          + 0.0057 * sqrt(-2 * ln(u1)) * sin(2 * pi() * u2)
			            ELSE 126.80 + 0.38 * u3 END AS lng,
			       CASE WHEN hot THEN (ARRAY[37.5563, 37.4979, 37.5133, 37.5636, 37.5446])[1 + i % 5]
			                          + 0.0045 * sqrt(-2 * ln(u1)) * cos(2 * pi() * u2)
			            ELSE 37.45 + 0.24 * u4 END AS lat
			FROM (
				SELECT i, random() < 0.4 AS hot, 1 - random() AS u1, random() AS u2, random() AS u3, random() AS u4
				FROM generate_series(1, $2::int) i
			) r
		) p`, owner, n)
	if err != nil {
		return fmt.Errorf("generate stores: %w", err)
	}
	_, err = conn.Exec(ctx, `
		INSERT INTO coupon_events (store_id, title, discount_type, discount_value, total_quantity, issued_count,
		                           issue_starts_at, issue_ends_at, valid_hours, status)
		SELECT id, '쿠폰 ' || id || '-' || k,
		       CASE WHEN id % 2 = 0 THEN 'AMOUNT' ELSE 'PERCENT' END,
		       CASE WHEN id % 2 = 0 THEN 1000 ELSE 10 END,
		       100,
		       CASE WHEN r < 0.05 THEN 100 ELSE (r * 50)::int END,
		       CASE WHEN r > 0.95 THEN now() + interval '3 hours' ELSE now() - interval '1 hour' END,
		       now() + interval '12 hours', 24,
		       CASE WHEN r >= 0.05 AND r < 0.15 THEN 'SUSPENDED' ELSE 'ACTIVE' END
		FROM (SELECT s.id, k, random() AS r
		      FROM (SELECT id, CASE WHEN random() < 0.2 THEN 2 ELSE 1 END AS n FROM stores) s,
		           LATERAL generate_series(1, s.n) k) e;
		ANALYZE stores, coupon_events`)
	if err != nil {
		return fmt.Errorf("generate events: %w", err)
	}
	return nil
}

// serve mounts the geo routes as api.New does (platform middleware,
// optional authentication) on a loopback port.
func serve(svc *geo.Service, log *slog.Logger) (string, func(), error) {
	reg := prometheus.NewRegistry()
	s := httpapi.New(log, reg, reg, nil)
	tokens := auth.NewTokens("bench-secret", "", time.Hour, nil)
	v1 := s.Engine.Group("/api/v1", tokens.Authenticate(func(c *gin.Context, err error) { httpapi.WriteError(c, log, err) }))
	geo.Routes(v1, s, svc)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: s.Engine}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String(), func() { srv.Close() }, nil
}

func get(c *http.Client, url string) ([]byte, error) {
	resp, err := c.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return b, nil
}

type result struct {
	ok, errs      int64
	rate          float64
	p50, p90, p99 float64
}

// load runs vus closed-loop users for d, each asking about the next point.
func load(c *http.Client, base string, points []geo.Point, query func(geo.Point) string, vus int, d time.Duration) result {
	var ok, errs atomic.Int64
	var next atomic.Int64
	lat := make([][]time.Duration, vus)
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for v := range vus {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				p := points[int(next.Add(1))%len(points)]
				t0 := time.Now()
				resp, err := c.Get(base + query(p))
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if err == nil && resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				if err != nil {
					errs.Add(1)
					continue
				}
				lat[v] = append(lat[v], time.Since(t0))
				ok.Add(1)
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
	pct := func(p float64) float64 {
		if len(all) == 0 {
			return 0
		}
		return float64(all[int(p*float64(len(all)-1))]) / float64(time.Millisecond)
	}
	return result{ok: ok.Load(), errs: errs.Load(), rate: float64(ok.Load()) / elapsed.Seconds(), p50: pct(0.50), p90: pct(0.90), p99: pct(0.99)}
}
