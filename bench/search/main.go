// Command search benchmarks GET /api/v1/search over 100,000 stores: p50,
// p95 and requests/s of bm25, knn and hybrid side by side, with 50
// concurrent users, in one run.
//
//	go run ./bench/search -out docs/bench/search.md
//
// The corpus is corpus.Generate(100000, 1) in a scratch database
// (cptest_bench_search) indexed behind the alias couponpop-bench-search-int8
// (-float32: couponpop-bench-search-float32);
// both are kept between runs and rebuilt only when missing, incomplete or
// asked for (-rebuild), because building them takes minutes.
//
// Document vectors: the first -real stores (default 2,000, the relevance
// corpus) get real e5 passage vectors, cached on disk like the relevance
// test's; the others get a real vector of one of those, chosen by a hash of
// the text, plus Gaussian noise (cosine ≈ 0.95 to it), renormalized.
// Embedding 100,000 passages for real takes 45 minutes to hours on this
// 2-core machine; the synthesized vectors keep the clustered geometry of
// real embeddings, which is what HNSW search time depends on. kNN *results*
// over the synthesized documents mean nothing; relevance is measured by
// TestRelevance on real vectors. Run with -real 100000 to embed everything.
//
// Query vectors are always real, through the same LRU the API uses: the
// query mix is Zipf-distributed over a few hundred distinct queries, as
// real users repeat the popular ones. The "hybrid, no cache" row embeds
// every query to show what the cache saves.
package main

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/opensearch-project/opensearch-go/v2"
	"github.com/opensearch-project/opensearch-go/v2/opensearchapi"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/couponpop/couponpop/internal/httpapi"
	"github.com/couponpop/couponpop/internal/postgres"
	"github.com/couponpop/couponpop/internal/postgres/pgtest"
	"github.com/couponpop/couponpop/internal/search"
	"github.com/couponpop/couponpop/internal/search/corpus"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type config struct {
	docs, users, real, rounds int
	duration, warmup, think   time.Duration
	rebuild, float32          bool
	out, queries              string
}

// alias is the benchmark index's alias (its own per vector encoding).
func (c config) alias() string {
	if c.float32 {
		return "couponpop-bench-search-float32"
	}
	return "couponpop-bench-search-int8"
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	var c config
	fs := flag.NewFlagSet("search", flag.ContinueOnError)
	fs.IntVar(&c.docs, "docs", 100_000, "stores in the corpus")
	fs.IntVar(&c.users, "users", 50, "concurrent users, each sending its next search when the last one answers")
	fs.IntVar(&c.real, "real", 2000, "stores with real (not synthesized) document vectors")
	fs.IntVar(&c.rounds, "rounds", 3, "rounds; each runs every mode once, interleaved so load from elsewhere hits all modes alike")
	fs.DurationVar(&c.duration, "duration", 10*time.Second, "measured time per mode per round")
	fs.DurationVar(&c.warmup, "warmup", 5*time.Second, "unmeasured time per mode before the first round")
	fs.DurationVar(&c.think, "think", 500*time.Millisecond, "mean think time (exponential) of the second, realistic phase")
	fs.BoolVar(&c.float32, "float32", false, "unquantized float32 vectors in the graph instead of int8 (its own index)")
	fs.BoolVar(&c.rebuild, "rebuild", false, "rebuild the database and the index even if they look complete")
	fs.StringVar(&c.out, "out", "", "write the markdown report here too")
	fs.StringVar(&c.queries, "queries", "testdata/search/queries.json", "labelled queries (part of the query mix)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	getenv := func(k, def string) string {
		if v := os.Getenv(k); v != "" {
			return v
		}
		return def
	}
	var report strings.Builder
	w := io.MultiWriter(stdout, &report)

	osc, err := search.NewClient(getenv("OPENSEARCH_URL", "http://127.0.0.1:9200"))
	if err != nil {
		return err
	}
	model := search.NewOpenAI(getenv("EMBEDDINGS_URL", "http://127.0.0.1:8089"), "multilingual-e5-small", nil)
	path, err := corpus.DefaultVectorCachePath(model)
	if err != nil {
		return err
	}
	vc, err := corpus.OpenVectorCache(path, model)
	if err != nil {
		return err
	}
	defer vc.Close()

	db, built, err := prepare(ctx, c, osc, vc, stdout)
	if err != nil {
		return err
	}
	defer db.Close()

	qs, err := queryMix(c.queries)
	if err != nil {
		return err
	}

	// The query side, as in the API: a counting model behind the LRU.
	calls := &countingEmbedder{next: vc}
	cached := search.NewCached(calls, 10_000)
	type mode struct {
		name string
		mode search.Mode
		svc  *search.Service
	}
	opts := search.Options{Alias: c.alias()}
	modes := []mode{
		{"bm25", search.BM25, search.NewService(osc, cached, db, opts)},
		{"knn", search.KNN, search.NewService(osc, cached, db, opts)},
		{"hybrid", search.Hybrid, search.NewService(osc, cached, db, opts)},
		{"hybrid, no cache", search.Hybrid, search.NewService(osc, &nocache{model}, db, opts)},
	}

	fmt.Fprintf(w, "## Search: bm25 vs knn vs hybrid at %d concurrent users\n\n", c.users)
	fmt.Fprintf(w, "`go run ./bench/search%s` — %d stores (%d with real e5 vectors, the rest synthesized: see bench/search/main.go), "+
		"%d distinct queries in a Zipf mix (s=1.1), limit 20, 30 %% of requests with a 3 km radius; "+
		"%d interleaved rounds of %s per mode after %s warm-up per mode; "+
		"through the real gin handler over loopback HTTP, in one process with the load generator; "+
		"OpenSearch, PostgreSQL and the e5 server on the same %d-core machine; %s.\n\n",
		flagsShown(args), c.docs, min(c.real, c.docs), len(qs), c.rounds, c.duration, c.warmup, runtime.NumCPU(), time.Now().Format("2006-01-02"))
	if built != "" {
		fmt.Fprintf(w, "%s\n\n", built)
	}

	meter := &cpuMeter{osc: osc, db: db}
	servers := make([]*httptest.Server, len(modes))
	for i, m := range modes {
		servers[i] = httptest.NewServer(handler(m.svc))
		defer servers[i].Close()
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: c.users * 2, MaxIdleConns: c.users * 2}}

	// Warm up every mode (JIT, caches, LRU), unmeasured.
	for i, m := range modes {
		fmt.Fprintf(stdout, "warming up %s…\n", m.name)
		_ = load(ctx, client, servers[i].URL, m.mode, qs, c.users, c.warmup, 0)
	}
	for _, phase := range []struct {
		title string
		think time.Duration
	}{
		{fmt.Sprintf("### Saturation: %d users, no think time\n\nEvery user sends its next search as soon as the last one answers: the box runs flat out, so requests/s is the capacity of each mode and the latencies are mostly queueing (Little's law: %d users ÷ throughput).\n\n", c.users, c.users), 0},
		{fmt.Sprintf("### Realistic: %d users thinking %s on average between searches\n\nExponential think time (mean %s) after each answer: the load people put on a search box. Latency here is what a user waits.\n\n", c.users, c.think, c.think), c.think},
	} {
		fmt.Fprint(w, phase.title)
		before := calls.n.Load()
		results := make([]stats, len(modes))
		for r := range c.rounds {
			for i, m := range modes {
				fmt.Fprintf(stdout, "%s round %d: %s…\n", cmp.Or(phase.think.String(), "0s"), r+1, m.name)
				before := meter.read(ctx)
				st := load(ctx, client, servers[i].URL, m.mode, qs, c.users, c.duration, phase.think)
				st.cpu = meter.read(ctx).minus(before)
				results[i].add(st)
			}
		}
		modelCalls := calls.n.Load() - before
		fmt.Fprintf(w, "| mode | requests | req/s | p50 ms | p95 ms | p99 ms | errors | degraded | req/s vs bm25 | CPU ms/req OpenSearch + PostgreSQL + Go = total | capacity vs bm25 (CPU) |\n|---|---|---|---|---|---|---|---|---|---|---|\n")
		base := results[0].rps()
		baseCPU := results[0].cpu.total() / float64(max(len(results[0].lat), 1))
		for i, m := range modes {
			st := results[i]
			n := float64(max(len(st.lat), 1))
			fmt.Fprintf(w, "| %s | %d | %.0f | %.1f | %.1f | %.1f | %d | %d | %.2f× | %.2f + %.2f + %.2f = %.2f | %.2f× |\n",
				m.name, len(st.lat), st.rps(), st.pct(50), st.pct(95), st.pct(99), st.errors, st.degraded, st.rps()/base,
				st.cpu.os/n, st.cpu.pg/n, st.cpu.self/n, st.cpu.total()/n, baseCPU/(st.cpu.total()/n))
		}
		cachedReqs := len(results[1].lat) + len(results[2].lat)
		fmt.Fprintf(w, "\nQuery-embedding LRU in the knn and hybrid runs: %d model calls for %d requests (hit rate %.1f %%).\n\n",
			modelCalls, cachedReqs, 100*(1-float64(modelCalls)/float64(max(cachedReqs, 1))))
	}
	if c.out != "" {
		if err := os.WriteFile(c.out, []byte(report.String()), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func flagsShown(args []string) string {
	if len(args) == 0 {
		return ""
	}
	return " " + strings.Join(args, " ")
}

// prepare returns the database, building it and the index when they are
// not both complete. The second value describes a build, if one happened.
func prepare(ctx context.Context, c config, osc *opensearch.Client, vc *corpus.VectorCache, stdout io.Writer) (*pgxpool.Pool, string, error) {
	dsn, err := benchURL("bench_search")
	if err != nil {
		return nil, "", err
	}
	var db *pgxpool.Pool
	var built []string
	if !c.rebuild {
		if db, err = postgres.Open(ctx, dsn, 16); err == nil {
			var n int
			if err := db.QueryRow(ctx, `SELECT count(*) FROM stores WHERE deleted_at IS NULL`).Scan(&n); err != nil || n != c.docs {
				db.Close()
				db = nil
			}
		}
	}
	if db == nil {
		start := time.Now()
		if dsn, err = pgtest.Create(ctx, "bench_search"); err != nil {
			return nil, "", err
		}
		if db, err = postgres.Open(ctx, dsn, 16); err != nil {
			return nil, "", err
		}
		if err := postgres.Migrate(ctx, db, 0); err != nil {
			db.Close()
			return nil, "", err
		}
		fmt.Fprintf(stdout, "loading %d stores into PostgreSQL…\n", c.docs)
		if _, err := corpus.Load(ctx, db, corpus.Generate(c.docs, corpus.RelevanceSeed), time.Now()); err != nil {
			db.Close()
			return nil, "", err
		}
		built = append(built, fmt.Sprintf("%d stores loaded into PostgreSQL in %s", c.docs, time.Since(start).Round(time.Second)))
	}
	if len(built) == 0 && !c.rebuild && indexCount(ctx, osc, c.alias()) == c.docs {
		fmt.Fprintf(stdout, "reusing %d stores in cptest_bench_search and %s\n", c.docs, c.alias())
		return db, "", nil
	}
	fmt.Fprintf(stdout, "indexing into %s (%d real vectors, the rest synthesized)…\n", c.alias(), c.real)
	ix := search.NewIndexer(db, osc, &synth{real: vc, want: c.real}, search.IndexerOptions{Alias: c.alias(), Float32: c.float32})
	ix.PageSize = 500
	st, err := ix.Reindex(ctx)
	if err != nil {
		db.Close()
		return nil, "", err
	}
	built = append(built, fmt.Sprintf("full reindex (PostgreSQL → vectors → bulk → HNSW → force merge → alias swap) in %s, of which the merge to one segment %s",
		st.Took.Round(time.Second), st.Merge.Round(time.Second)))
	return db, "Built this run: " + strings.Join(built, "; ") + ".", nil
}

// benchURL is the scratch database's URL (pgtest's naming) without
// recreating it.
func benchURL(name string) (string, error) {
	u, err := url.Parse(pgtest.BaseURL())
	if err != nil {
		return "", err
	}
	u.Path = "/cptest_" + name
	return u.String(), nil
}

func indexCount(ctx context.Context, osc *opensearch.Client, alias string) int {
	resp, err := opensearchapi.CountRequest{Index: []string{alias}}.Do(ctx, osc)
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	var c struct {
		Count int `json:"count"`
	}
	if resp.IsError() || json.NewDecoder(resp.Body).Decode(&c) != nil {
		return -1
	}
	return c.Count
}

// synth gives the first `want` passages their real vectors (from the disk
// cache or the model) and every later passage a noisy copy of one of them.
type synth struct {
	real *corpus.VectorCache
	want int
	mu   sync.Mutex
	pool [][]float32
}

func (s *synth) Name() string { return s.real.Name() }

func (s *synth) Embed(ctx context.Context, typ search.InputType, texts []string) ([][]float32, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([][]float32, len(texts))
	var realIdx []int
	for i := range texts {
		if len(s.pool)+len(realIdx) < s.want {
			realIdx = append(realIdx, i)
		}
	}
	if len(realIdx) > 0 {
		rt := make([]string, len(realIdx))
		for j, i := range realIdx {
			rt[j] = texts[i]
		}
		vs, err := s.real.Embed(ctx, typ, rt)
		if err != nil {
			return nil, err
		}
		for j, i := range realIdx {
			out[i] = vs[j]
			s.pool = append(s.pool, vs[j])
		}
	}
	for i, t := range texts {
		if out[i] != nil {
			continue
		}
		h := sha256.Sum256([]byte(t))
		r := rand.New(rand.NewPCG(binary.LittleEndian.Uint64(h[:8]), binary.LittleEndian.Uint64(h[8:16])))
		parent := s.pool[r.IntN(len(s.pool))]
		// Noise of norm ≈ 0.33 against a unit vector: cosine ≈ 0.95.
		const sigma = 0.33 / 19.6 // 19.6 = sqrt(384)
		v := make([]float32, len(parent))
		var n float64
		for d := range v {
			v[d] = parent[d] + float32(r.NormFloat64()*sigma)
			n += float64(v[d]) * float64(v[d])
		}
		inv := float32(1 / math.Sqrt(n))
		for d := range v {
			v[d] *= inv
		}
		out[i] = v
	}
	return out, nil
}

// countingEmbedder counts model calls behind the LRU.
type countingEmbedder struct {
	next search.Embedder
	n    atomic.Int64
}

func (c *countingEmbedder) Name() string { return c.next.Name() }
func (c *countingEmbedder) Embed(ctx context.Context, typ search.InputType, texts []string) ([][]float32, error) {
	c.n.Add(1)
	return c.next.Embed(ctx, typ, texts)
}

// nocache is the model with nothing in front (the disk cache does not hold
// query vectors of the bench's generated queries... but may; bypass it).
type nocache struct{ m *search.OpenAI }

func (n *nocache) Name() string { return n.m.Name() }
func (n *nocache) Embed(ctx context.Context, typ search.InputType, texts []string) ([][]float32, error) {
	return n.m.Embed(ctx, typ, texts)
}

func handler(svc *search.Service) http.Handler {
	reg := prometheus.NewRegistry()
	s := httpapi.New(slog.New(slog.DiscardHandler), reg, reg, nil)
	search.Routes(s.Engine.Group("/api/v1"), s, svc)
	return s.Engine
}

// query is one entry of the mix.
type query struct {
	text   string
	weight float64
}

// queryMix is the labelled queries plus neighbourhood × kind and quality ×
// kind combinations, weighted by Zipf's law (s = 1.1) in a fixed shuffled
// order, so a few queries are very common and most are rare.
func queryMix(path string) ([]query, error) {
	qs, err := corpus.LoadQueries(path)
	if err != nil {
		return nil, err
	}
	var texts []string
	for _, q := range qs {
		texts = append(texts, q.Text)
	}
	areas := []string{"홍대", "강남", "성수", "이태원", "명동", "신촌", "잠실", "여의도", "종로", "건대", "을지로", "연남동", "압구정", "망원", "판교"}
	things := []string{"카페", "맛집", "라멘", "삼겹살", "빵집", "술집", "치킨", "파스타", "브런치", "미용실", "노래방", "국밥", "떡볶이", "와인바", "이자카야"}
	quals := []string{"조용한", "가성비", "데이트", "혼밥", "분위기 좋은", "24시간", "주차 가능한", "아이와 함께", "루프탑", "반려견 동반"}
	for _, a := range areas {
		for _, th := range things {
			texts = append(texts, a+" "+th)
		}
	}
	for _, q := range quals {
		for _, th := range things[:8] {
			texts = append(texts, q+" "+th)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	r.Shuffle(len(texts), func(i, j int) { texts[i], texts[j] = texts[j], texts[i] })
	out := make([]query, len(texts))
	for i, t := range texts {
		out[i] = query{t, 1 / math.Pow(float64(i+1), 1.1)}
	}
	return out, nil
}

// sample draws a query index by weight.
func sample(r *rand.Rand, qs []query, cum []float64) int {
	x := r.Float64() * cum[len(cum)-1]
	i, _ := slices.BinarySearch(cum, x)
	return min(i, len(qs)-1)
}

type stats struct {
	lat              []time.Duration
	errors, degraded int
	elapsed          time.Duration
	firstErr         string
	cpu              cpuTimes // spent during the run, all requests
}

func (s *stats) add(o stats) {
	s.lat = append(s.lat, o.lat...)
	s.errors += o.errors
	s.degraded += o.degraded
	s.elapsed += o.elapsed
	s.cpu = s.cpu.plus(o.cpu)
	s.firstErr = cmp.Or(s.firstErr, o.firstErr)
}

func (s *stats) rps() float64 { return float64(len(s.lat)) / s.elapsed.Seconds() }

func (s *stats) pct(p float64) float64 {
	if len(s.lat) == 0 {
		return 0
	}
	sorted := slices.Clone(s.lat)
	slices.Sort(sorted)
	i := min(len(sorted)-1, int(math.Ceil(p/100*float64(len(sorted))))-1)
	return float64(sorted[max(i, 0)].Microseconds()) / 1000
}

// load runs closed-loop users against base for d; each waits an
// exponentially distributed think time of mean think after every answer.
func load(ctx context.Context, client *http.Client, base string, mode search.Mode, qs []query, users int, d, think time.Duration) stats {
	cum := make([]float64, len(qs))
	total := 0.0
	for i, q := range qs {
		total += q.weight
		cum[i] = total
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	per := make([]stats, users)
	var wg sync.WaitGroup
	start := time.Now()
	for u := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(u), uint64(time.Now().UnixNano())))
			st := &per[u]
			for ctx.Err() == nil {
				q := qs[sample(r, qs, cum)]
				v := url.Values{"q": {q.text}, "mode": {string(mode)}, "limit": {"20"}}
				if r.IntN(10) < 3 { // a map user somewhere in Seoul
					v.Set("lat", fmt.Sprintf("%.5f", 37.50+r.Float64()*0.08))
					v.Set("lng", fmt.Sprintf("%.5f", 126.90+r.Float64()*0.20))
					v.Set("radius_m", "3000")
				}
				t0 := time.Now()
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/search?"+v.Encode(), nil)
				resp, err := client.Do(req)
				if err != nil {
					if ctx.Err() == nil {
						st.errors++
						st.firstErr = cmp.Or(st.firstErr, err.Error())
					}
					continue
				}
				var body struct {
					Degraded bool `json:"degraded"`
				}
				derr := json.NewDecoder(resp.Body).Decode(&body)
				resp.Body.Close()
				switch {
				case ctx.Err() != nil && errors.Is(derr, context.DeadlineExceeded):
					continue // cut off by the end of the run: not a sample
				case resp.StatusCode != http.StatusOK || derr != nil:
					st.errors++
					st.firstErr = cmp.Or(st.firstErr, fmt.Sprintf("%d %v", resp.StatusCode, derr))
					continue
				case body.Degraded:
					st.degraded++
				}
				st.lat = append(st.lat, time.Since(t0))
				if think > 0 {
					select {
					case <-ctx.Done():
					case <-time.After(time.Duration(r.ExpFloat64() * float64(think))):
					}
				}
			}
		}()
	}
	wg.Wait()
	var out stats
	for _, s := range per {
		out.add(s)
	}
	out.elapsed = time.Since(start)
	if out.firstErr != "" {
		fmt.Fprintf(os.Stderr, "  first error (%s): %s\n", mode, out.firstErr)
	}
	return out
}

// cpuTimes are CPU milliseconds spent by OpenSearch (the whole node), the
// PostgreSQL backends of the bench's pool, and this process (API handler,
// client, load generator).
type cpuTimes struct {
	os, pg, self float64
	pgByPID      map[int]float64 // per backend, so a reconnect cannot go negative
}

func (a cpuTimes) plus(b cpuTimes) cpuTimes {
	return cpuTimes{os: a.os + b.os, pg: a.pg + b.pg, self: a.self + b.self}
}

// minus is a − b; PostgreSQL backends are compared pid by pid (a backend
// that appeared since b counts whole, one that went away is lost).
func (a cpuTimes) minus(b cpuTimes) cpuTimes {
	pg := 0.0
	for pid, cpu := range a.pgByPID {
		pg += cpu - b.pgByPID[pid]
	}
	return cpuTimes{os: a.os - b.os, pg: pg, self: a.self - b.self}
}
func (a cpuTimes) total() float64 { return a.os + a.pg + a.self }

// cpuMeter reads CPU counters. The machine is shared with other work, so
// wall-clock throughput moves with whatever else runs; CPU per request of
// the processes that serve a search does not, and is what the capacity
// ratios are computed from.
type cpuMeter struct {
	osc *opensearch.Client
	db  *pgxpool.Pool
}

func (m *cpuMeter) read(ctx context.Context) cpuTimes {
	t := cpuTimes{pgByPID: map[int]float64{}}
	resp, err := opensearchapi.NodesStatsRequest{Metric: []string{"process"}}.Do(ctx, m.osc)
	if err == nil {
		var ns struct {
			Nodes map[string]struct {
				Process struct {
					CPU struct {
						TotalInMillis float64 `json:"total_in_millis"`
					} `json:"cpu"`
				} `json:"process"`
			} `json:"nodes"`
		}
		if json.NewDecoder(resp.Body).Decode(&ns) == nil {
			for _, n := range ns.Nodes {
				t.os += n.Process.CPU.TotalInMillis
			}
		}
		resp.Body.Close()
	}
	// Backends of this database: the bench's pool (and nobody else).
	rows, err := m.db.Query(ctx, `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`)
	if err == nil {
		for rows.Next() {
			var pid int
			if rows.Scan(&pid) == nil {
				t.pgByPID[pid] = procCPU(strconv.Itoa(pid))
			}
		}
		rows.Close()
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		t.self = float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e6
	}
	return t
}

// procCPU is the user+system CPU of a process in milliseconds, from
// /proc/<pid>/stat (fields 14 and 15, in clock ticks of 10 ms).
func procCPU(pid string) float64 {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndex(s, ")")+2:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	k, _ := strconv.ParseFloat(f[12], 64)
	return (u + k) * 10
}
