// Command dashboard benchmarks merchant dashboards: one store with a million
// coupons, windows read from the rollups and from a raw aggregate over
// coupons side by side, in one run; then what the rollup trigger costs a
// 500-coupon issuance batch and a one-coupon redeem.
//
//	go run ./bench/dashboard -coupons 1000000 -out docs/bench/dashboard.md
//
// It uses a scratch database (cptest_bench_dashboard), rebuilt every run.
package main

import (
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/couponpop/couponpop/internal/auth"
	"github.com/couponpop/couponpop/internal/dashboard"
	"github.com/couponpop/couponpop/internal/postgres"
	"github.com/couponpop/couponpop/internal/postgres/pgtest"
	"github.com/couponpop/couponpop/internal/store"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type config struct {
	coupons, members, days int
	rollupRuns, rawRuns    int
	batches                int
	out                    string
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	var c config
	fs := flag.NewFlagSet("dashboard", flag.ContinueOnError)
	fs.IntVar(&c.coupons, "coupons", 1_000_000, "coupons in the store's history")
	fs.IntVar(&c.members, "members", 200_000, "distinct customers")
	fs.IntVar(&c.days, "days", 60, "days of history the coupons spread over (ending now)")
	fs.IntVar(&c.rollupRuns, "rollup-runs", 200, "timed reads per window from the rollups")
	fs.IntVar(&c.rawRuns, "raw-runs", 15, "timed reads per window from the raw aggregate")
	fs.IntVar(&c.batches, "batches", 300, "500-coupon insert batches per trigger on/off round")
	fs.StringVar(&c.out, "out", "", "write the markdown report here too")
	if err := fs.Parse(args); err != nil {
		return err
	}

	dsn, err := pgtest.Create(ctx, "bench_dashboard")
	if err != nil {
		return err
	}
	db, err := postgres.Open(ctx, dsn, 8)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := postgres.Migrate(ctx, db, 0); err != nil {
		return err
	}
	var report strings.Builder
	w := io.MultiWriter(stdout, &report)

	storeID, err := generate(ctx, db, c, stdout)
	if err != nil {
		return err
	}
	svc := dashboard.NewService(db, owner{storeID})

	var pgVersion string
	if err := db.QueryRow(ctx, `SHOW server_version`).Scan(&pgVersion); err != nil {
		return err
	}
	fmt.Fprintf(w, "## Merchant dashboards (`bench/dashboard`)\n\n")
	fmt.Fprintf(w, "Command: `go run ./bench/dashboard -coupons %d -members %d -days %d -rollup-runs %d -raw-runs %d -batches %d`  \n",
		c.coupons, c.members, c.days, c.rollupRuns, c.rawRuns, c.batches)
	fmt.Fprintf(w, "Machine: %d CPUs (shared), PostgreSQL %s on loopback, %s, %s.  \n", runtime.NumCPU(), pgVersion, runtime.Version(), time.Now().UTC().Format("2006-01-02"))
	fmt.Fprintf(w, "Data: one store, %d coupons from %d customers over the last %d days (diurnal peaks, ~60%% used, ~20%% expired), 10 events; rollups folded; `VACUUM ANALYZE` before timing.\n\n",
		c.coupons, c.members, c.days)

	if err := windows(ctx, svc, storeID, c, w); err != nil {
		return err
	}
	if err := triggerCost(ctx, db, storeID, c, w); err != nil {
		return err
	}
	if c.out != "" {
		if err := os.WriteFile(c.out, []byte(report.String()), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// owner lets the service read the one store without a store.Service.
type owner struct{ id int64 }

func (o owner) Authorize(_ context.Context, _ auth.Principal, id int64) (store.Store, error) {
	return store.Store{ID: o.id, Timezone: "Asia/Seoul"}, nil
}

// generate writes the store, its events, the customers and the coupons with
// generate_series, in 100,000-coupon statements (each fires the rollup
// trigger once, like a very large issuance batch), then folds and
// analyzes.
func generate(ctx context.Context, db *pgxpool.Pool, c config, log io.Writer) (int64, error) {
	start := time.Now()
	var storeID int64
	err := db.QueryRow(ctx, `
		WITH o AS (
			INSERT INTO members (email, password_hash, nickname, role) VALUES ('owner@bench.test', 'x', 'Owner', 'OWNER') RETURNING id
		)
		INSERT INTO stores (owner_id, name, category, timezone, location)
		SELECT id, 'Bench Cafe', 'CAFE', 'Asia/Seoul', 'SRID=4326;POINT(126.9236 37.5563)'::geography FROM o
		RETURNING id`).Scan(&storeID)
	if err != nil {
		return 0, fmt.Errorf("store: %w", err)
	}
	steps := []struct {
		what, sql string
		args      []any
	}{
		{"members", `
			INSERT INTO members (email, password_hash, nickname, role)
			SELECT 'c' || g || '@bench.test', 'x', 'Customer', 'CUSTOMER' FROM generate_series(1, $1::int) g`,
			[]any{c.members}},
		{"events", `
			INSERT INTO coupon_events (store_id, title, discount_type, discount_value, total_quantity,
			                           issued_count, used_count, issue_starts_at, issue_ends_at, valid_hours, per_member_limit)
			SELECT $1, 'Event ' || g, 'AMOUNT', 1000, 1000000, 0, 0,
			       now() - make_interval(days => $2::int + 1), now() + interval '30 days', 72, 100
			FROM generate_series(1, 10) g`,
			[]any{storeID, c.days}},
	}
	for _, s := range steps {
		if _, err := db.Exec(ctx, s.sql, s.args...); err != nil {
			return 0, fmt.Errorf("%s: %w", s.what, err)
		}
	}
	var firstMember, firstEvent int64
	if err := db.QueryRow(ctx, `SELECT min(id) FROM members WHERE role = 'CUSTOMER'`).Scan(&firstMember); err != nil {
		return 0, err
	}
	if err := db.QueryRow(ctx, `SELECT min(id) FROM coupon_events WHERE store_id = $1`, storeID).Scan(&firstEvent); err != nil {
		return 0, err
	}
	// Coupon g goes to event g % 10 and to a member drawn by a hash, so
	// members hold one to several coupons; seq numbers a member's coupons
	// per event as issuance would. Hours follow a café's day (lunch and
	// after-work peaks); uses follow within minutes to hours.
	const chunk = 100_000
	for lo := 0; lo < c.coupons; lo += chunk {
		hi := min(lo+chunk, c.coupons)
		_, err := db.Exec(ctx, `
			WITH g AS (
				SELECT g,
				       $2::bigint + (g % 10) AS event_id,
				       $3::bigint + (hashint4(g) & 2147483647) % $4 AS member_id,
				       date_trunc('hour', now()) - make_interval(days => 1 + (hashint4(g + 7) & 2147483647) % $5::int)
				         - make_interval(hours => extract(hour FROM now())::int)
				         + make_interval(hours => (ARRAY[8,9,10,11,12,12,12,12,13,13,14,15,17,18,18,18,19,19,20,21])[1 + (hashint4(g + 3) & 2147483647) % 20])
				         + make_interval(secs => (hashint4(g + 5) & 2147483647) % 3600) AS issued_at,
				       (hashint4(g + 11) & 2147483647) % 100 AS r
				FROM generate_series($6::int, $7::int - 1) g
			), c AS (
				SELECT g.*, g.issued_at + make_interval(mins => (power(((hashint4(g + 13) & 2147483647) % 1000) / 1000.0, 2) * 720)::int) AS used_at
				FROM g
			)
			INSERT INTO coupons (event_id, store_id, member_id, seq, code, status, issued_at, used_at, expires_at)
			SELECT event_id, $1, member_id,
			       row_number() OVER (PARTITION BY event_id, member_id ORDER BY g) + $8,
			       upper(lpad(to_hex(g), 16, '0')),
			       CASE WHEN r < 60 AND used_at < now() THEN 'USED'
			            WHEN r < 80 AND issued_at + interval '24 hours' <= now() THEN 'EXPIRED'
			            ELSE 'ISSUED' END,
			       issued_at,
			       CASE WHEN r < 60 AND used_at < now() THEN used_at END,
			       CASE WHEN r >= 60 AND r < 80 THEN issued_at + interval '24 hours' ELSE issued_at + interval '72 hours' END
			FROM c`,
			storeID, firstEvent, firstMember, c.members, c.days, lo, hi, lo/chunk*20)
		if err != nil {
			return 0, fmt.Errorf("coupons %d..%d: %w", lo, hi, err)
		}
		fmt.Fprintf(log, "generated %d coupons (%s)\n", hi, time.Since(start).Round(time.Second))
	}
	if _, err := db.Exec(ctx, `
		UPDATE coupon_events e SET issued_count = n.issued, used_count = n.used
		FROM (SELECT event_id, count(*) AS issued, count(*) FILTER (WHERE status = 'USED') AS used
		      FROM coupons GROUP BY event_id) n
		WHERE n.event_id = e.id`); err != nil {
		return 0, fmt.Errorf("event counts: %w", err)
	}
	svc := dashboard.NewService(db, owner{storeID})
	foldStart := time.Now()
	n, err := svc.FoldAll(ctx)
	if err != nil {
		return 0, err
	}
	fmt.Fprintf(log, "folded %d deltas in %s\n", n, time.Since(foldStart).Round(time.Millisecond))
	for _, t := range []string{"coupons", "coupon_events", "dashboard_slots", "dashboard_cells", "dashboard_deltas"} {
		if _, err := db.Exec(ctx, `VACUUM ANALYZE `+t); err != nil {
			return 0, fmt.Errorf("vacuum %s: %w", t, err)
		}
	}
	fmt.Fprintf(log, "data ready in %s\n\n", time.Since(start).Round(time.Second))
	return storeID, nil
}

type windowCase struct {
	name   string
	bucket dashboard.Bucket
	tz     string
	days   int
}

// windows times each window from the rollups and from the raw aggregate,
// interleaved, and checks the two answers agree.
func windows(ctx context.Context, svc *dashboard.Service, storeID int64, c config, w io.Writer) error {
	cases := []windowCase{
		{"30 days by day, Asia/Seoul", dashboard.Day, "Asia/Seoul", 30},
		{"30 days by hour, Asia/Seoul", dashboard.Hour, "Asia/Seoul", 30},
		{"30 days by day, America/New_York", dashboard.Day, "America/New_York", 30},
		{"30 days by day, Asia/Kolkata (+05:30)", dashboard.Day, "Asia/Kolkata", 30},
		{"7 days by hour, Asia/Seoul", dashboard.Hour, "Asia/Seoul", 7},
		{"12 weeks by week, Asia/Seoul", dashboard.Week, "Asia/Seoul", 84},
	}
	fmt.Fprintf(w, "### Window reads: rollup vs raw aggregate\n\n")
	fmt.Fprintf(w, "Each window ends now (so the current, partly expired slot is included). Rollup = `dashboard.Service.Compute` "+
		"(5 index range scans in one round trip, member bitmaps and minute histograms merged in Go); raw = `Service.Raw` "+
		"(one statement over `coupons`: a sequential scan, then six aggregates). %d rollup and %d raw reads per window, interleaved, after 3 warm-ups each. Both answers are compared field by field before timing.\n\n",
		c.rollupRuns, c.rawRuns)
	fmt.Fprintf(w, "| window | coupons in window | rollup p50 | rollup p95 | raw p50 | raw p95 | raw / rollup (p50) |\n")
	fmt.Fprintf(w, "| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, wc := range cases {
		loc, err := time.LoadLocation(wc.tz)
		if err != nil {
			return err
		}
		now := time.Now()
		q := dashboard.Query{Bucket: string(wc.bucket), TZ: wc.tz,
			From: now.In(loc).AddDate(0, 0, -wc.days).Format("2006-01-02"), To: now.In(loc).AddDate(0, 0, 1).Format("2006-01-02")}
		win, err := q.Window(wc.tz, now)
		if err != nil {
			return err
		}
		roll, err := svc.Compute(ctx, storeID, win, now)
		if err != nil {
			return err
		}
		raw, err := svc.Raw(ctx, storeID, win, now)
		if err != nil {
			return err
		}
		if err := same(roll, raw); err != nil {
			return fmt.Errorf("%s: rollup and raw disagree: %w", wc.name, err)
		}
		var rollT, rawT []time.Duration
		for i := range c.rollupRuns + 3 {
			t0 := time.Now()
			if _, err := svc.Compute(ctx, storeID, win, now); err != nil {
				return err
			}
			if i >= 3 {
				rollT = append(rollT, time.Since(t0))
			}
			if i < c.rawRuns+3 {
				t0 = time.Now()
				if _, err := svc.Raw(ctx, storeID, win, now); err != nil {
					return err
				}
				if i >= 3 {
					rawT = append(rawT, time.Since(t0))
				}
			}
		}
		rp50, rp95 := pct(rollT, 50), pct(rollT, 95)
		wp50, wp95 := pct(rawT, 50), pct(rawT, 95)
		fmt.Fprintf(w, "| %s (%d buckets) | %d | %s | %s | %s | %s | %.0f× |\n", wc.name, win.Len(), roll.Totals.Issued,
			ms(rp50), ms(rp95), ms(wp50), ms(wp95), float64(wp50)/float64(rp50))
	}
	fmt.Fprintln(w)
	return nil
}

// same compares the fields Raw can know (all but canceled).
func same(a, b dashboard.Dashboard) error {
	a.Totals.Canceled = 0
	for i := range a.Series {
		a.Series[i].Canceled = 0
	}
	aj, err := json.Marshal(a)
	if err != nil {
		return err
	}
	bj, err := json.Marshal(b)
	if err != nil {
		return err
	}
	if as, bs := string(aj), string(bj); as != bs {
		return fmt.Errorf("\nrollup %.400s\nraw    %.400s", as, bs)
	}
	return nil
}

// triggerCost measures what the statement-level triggers add to the two
// hot writes: a 500-coupon issuance batch (INSERT ... SELECT FROM unnest in
// a transaction that also bumps issued_count, as internal/issue does) and a
// one-coupon redeem (UPDATE by id plus used_count).
//
// The comparison is between two twins of coupons (same columns, indexes,
// checks, foreign keys and rows, built alike), one with the dashboard
// triggers, written alternately statement by statement: on a shared
// machine, drift between a "with" phase and a "without" phase is larger
// than the effect. (Dropping and re-creating the triggers between phases
// would also make plpgsql recompile the function each time: its cache is
// keyed by the trigger's oid.)
func triggerCost(ctx context.Context, db *pgxpool.Pool, storeID int64, c config, w io.Writer) error {
	// Two twins built the same way at the same moment, so their heaps and
	// indexes match; one gets coupons' dashboard triggers.
	const dash, plain = "bench_coupons_dash", "bench_coupons_plain"
	rows, _ := db.Query(ctx, `SELECT pg_get_triggerdef(oid) FROM pg_trigger
		WHERE tgrelid = 'coupons'::regclass AND tgname LIKE 'dashboard_%' ORDER BY tgname`)
	triggers, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	start := time.Now()
	for _, t := range []string{dash, plain} {
		for _, q := range []string{
			`DROP TABLE IF EXISTS ` + t,
			`CREATE TABLE ` + t + ` (LIKE coupons INCLUDING ALL)`,
			`ALTER TABLE ` + t + ` ADD FOREIGN KEY (event_id) REFERENCES coupon_events (id),
			                     ADD FOREIGN KEY (member_id) REFERENCES members (id)`,
			`INSERT INTO ` + t + ` OVERRIDING SYSTEM VALUE SELECT * FROM coupons`,
			`SELECT setval(pg_get_serial_sequence('` + t + `', 'id'), (SELECT max(id) FROM ` + t + `))`,
			`VACUUM ANALYZE ` + t,
		} {
			if _, err := db.Exec(ctx, q); err != nil {
				return fmt.Errorf("twin %s: %w", t, err)
			}
		}
		defer db.Exec(context.WithoutCancel(ctx), `DROP TABLE IF EXISTS `+t)
	}
	for _, def := range triggers {
		if _, err := db.Exec(ctx, strings.Replace(def, " ON public.coupons ", " ON public."+dash+" ", 1)); err != nil {
			return fmt.Errorf("copy trigger: %w", err)
		}
	}
	fmt.Fprintf(os.Stderr, "twin tables ready in %s\n", time.Since(start).Round(time.Second))

	var firstMember, event int64
	if err := db.QueryRow(ctx, `SELECT min(id) FROM members WHERE role = 'CUSTOMER'`).Scan(&firstMember); err != nil {
		return err
	}
	if err := db.QueryRow(ctx, `
		INSERT INTO coupon_events (store_id, title, discount_type, discount_value, total_quantity, issue_starts_at, issue_ends_at, valid_hours, per_member_limit)
		VALUES ($1, 'trigger bench', 'AMOUNT', 1000, 1000000, now() - interval '1 hour', now() + interval '1 day', 24, 100) RETURNING id`,
		storeID).Scan(&event); err != nil {
		return err
	}
	members := make([]int64, 500)
	for i := range members {
		members[i] = firstMember + int64(i)
	}
	seq := 0
	batch := func(prefix string) (int, []string) { // a fresh (seq, codes) per batch
		seq++
		cs := make([]string, 500)
		for i := range cs {
			cs[i] = fmt.Sprintf("%s%07d%08d", prefix, seq, i)
		}
		return seq, cs
	}
	insertInto := func(table string) string {
		return `INSERT INTO ` + table + ` (event_id, store_id, member_id, seq, code, expires_at)
			SELECT $1, $2, m, $3, c, now() + interval '24 hours' FROM unnest($4::bigint[], $5::text[]) AS r (m, c) RETURNING id`
	}
	redeemIn := func(table string) string {
		return `UPDATE ` + table + ` SET status = 'USED', used_at = now(), updated_at = now() WHERE id = $1 AND status = 'ISSUED'`
	}

	// Client side: whole transactions, the twins alternately.
	type side struct {
		table         string
		issue, redeem []time.Duration
		ids           []int64
	}
	sides := []*side{{table: dash}, {table: plain}}
	for i := range c.batches + 10 {
		for _, s := range []*side{sides[i%2], sides[1-i%2]} {
			sq, codes := batch("A")
			t0 := time.Now()
			var ids []int64
			err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
				rows, _ := tx.Query(ctx, insertInto(s.table), event, storeID, sq, members, codes)
				var err error
				if ids, err = pgx.CollectRows(rows, pgx.RowTo[int64]); err != nil {
					return err
				}
				_, err = tx.Exec(ctx, `UPDATE coupon_events SET issued_count = issued_count + 500 WHERE id = $1`, event)
				return err
			})
			issue := time.Since(t0)
			if err != nil {
				return fmt.Errorf("issue into %s: %w", s.table, err)
			}
			s.ids = append(s.ids, ids[:3]...)
			t0 = time.Now()
			err = pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
				if _, err := tx.Exec(ctx, redeemIn(s.table), s.ids[0]); err != nil {
					return err
				}
				_, err := tx.Exec(ctx, `UPDATE coupon_events SET used_count = used_count + 1 WHERE id = $1`, event)
				return err
			})
			redeem := time.Since(t0)
			if err != nil {
				return fmt.Errorf("redeem in %s: %w", s.table, err)
			}
			s.ids = s.ids[1:]
			if i >= 10 { // warm-up
				s.issue, s.redeem = append(s.issue, issue), append(s.redeem, redeem)
			}
		}
	}

	// Server side: the statement's execution time from EXPLAIN ANALYZE
	// without per-node timing, the twins alternately; and, from a timed
	// EXPLAIN ANALYZE, the trigger function's own time.
	// The rest of the difference is PostgreSQL capturing the rows into the
	// transition table and queueing the trigger.
	type explained struct {
		Triggers []struct {
			Name string  `json:"Trigger Name"`
			Time float64 `json:"Time"`
		} `json:"Triggers"`
		Execution float64 `json:"Execution Time"`
	}
	explain := func(opts, sql string, args ...any) (exec, trig time.Duration, err error) {
		var out []explained
		if err := db.QueryRow(ctx, `EXPLAIN (`+opts+`, FORMAT JSON) `+sql, args...).Scan(&out); err != nil {
			return 0, 0, err
		}
		msec := float64(time.Millisecond)
		for _, t := range out[0].Triggers {
			if strings.HasPrefix(t.Name, "dashboard_") {
				trig += time.Duration(t.Time * msec)
			}
		}
		return time.Duration(out[0].Execution * msec), trig, nil
	}
	type server struct{ insert, redeem, insertTrig, redeemTrig []time.Duration }
	srv := map[string]*server{dash: {}, plain: {}}
	for i := range c.batches + 10 {
		for _, s := range []*side{sides[i%2], sides[1-i%2]} {
			m := srv[s.table]
			sq, codes := batch("B")
			d, _, err := explain("ANALYZE, TIMING OFF", insertInto(s.table), event, storeID, sq, members, codes)
			if err != nil {
				return fmt.Errorf("explain insert into %s: %w", s.table, err)
			}
			rd, _, err := explain("ANALYZE, TIMING OFF", redeemIn(s.table), s.ids[0])
			if err != nil {
				return fmt.Errorf("explain redeem in %s: %w", s.table, err)
			}
			s.ids = s.ids[1:]
			if i >= 10 {
				m.insert, m.redeem = append(m.insert, d), append(m.redeem, rd)
			}
			// Timed, for the trigger function's own time; the plain twin
			// takes the same writes so the two stay alike.
			sq, codes = batch("C")
			_, t, err := explain("ANALYZE", insertInto(s.table), event, storeID, sq, members, codes)
			if err != nil {
				return err
			}
			_, rt, err := explain("ANALYZE", redeemIn(s.table), s.ids[0])
			if err != nil {
				return err
			}
			s.ids = s.ids[1:]
			if i >= 10 && s.table == dash {
				m.insertTrig, m.redeemTrig = append(m.insertTrig, t), append(m.redeemTrig, rt)
			}
		}
	}

	fmt.Fprintf(w, "### What the rollup trigger costs the writes\n\n")
	fmt.Fprintf(w, "Two twins of `coupons` (same columns, indexes, checks, foreign keys and %d+ rows, built alike), one with the "+
		"dashboard triggers and one without, written alternately statement by statement. "+
		"An issuance batch is INSERT ... FROM unnest of 500 coupons (plus, client side, the issued_count UPDATE in the same "+
		"transaction), as `internal/issue` does; a redeem is UPDATE by id (plus used_count). %d samples each, after 10 warm-ups.\n\n",
		c.coupons, len(sides[0].issue))
	fmt.Fprintf(w, "Server side: the statement's execution time (`EXPLAIN (ANALYZE, TIMING OFF)`, the two tables alternately) "+
		"and the trigger function's own time (timed `EXPLAIN ANALYZE`); the rest of the difference is PostgreSQL "+
		"capturing the rows into the transition table and queueing the trigger.\n\n")
	fmt.Fprintf(w, "| statement | with triggers p50 / mean | without p50 / mean | added p50 / mean | trigger function p50 / mean |\n")
	fmt.Fprintf(w, "| --- | ---: | ---: | ---: | ---: |\n")
	pm := func(d []time.Duration) string { return ms(pct(d, 50)) + " / " + ms(mean(d)) }
	a, b := srv[dash], srv[plain]
	fmt.Fprintf(w, "| INSERT 500 coupons | %s | %s | %s / %s | %s |\n", pm(a.insert), pm(b.insert),
		added(pct(a.insert, 50), pct(b.insert, 50)), added(mean(a.insert), mean(b.insert)), pm(a.insertTrig))
	fmt.Fprintf(w, "| UPDATE 1 coupon to USED | %s | %s | %s / %s | %s |\n", pm(a.redeem), pm(b.redeem),
		added(pct(a.redeem, 50), pct(b.redeem, 50)), added(mean(a.redeem), mean(b.redeem)), pm(a.redeemTrig))
	fmt.Fprintf(w, "\nClient side, whole transactions, the two twins written alternately:\n\n")
	fmt.Fprintf(w, "| transaction | with triggers p50 | without p50 | added p50 | with mean | without mean | added mean |\n")
	fmt.Fprintf(w, "| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	row := func(name string, a, b []time.Duration) {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s |\n", name, ms(pct(a, 50)), ms(pct(b, 50)), added(pct(a, 50), pct(b, 50)),
			ms(mean(a)), ms(mean(b)), added(mean(a), mean(b)))
	}
	row("issue batch, 500 coupons", sides[0].issue, sides[1].issue)
	row("redeem, 1 coupon", sides[0].redeem, sides[1].redeem)
	fmt.Fprintln(w)
	return nil
}

// added formats x - base and its share of base.
func added(x, base time.Duration) string {
	if x == base {
		return "–"
	}
	return fmt.Sprintf("%+.2f ms (%+.1f%%)", float64(x-base)/float64(time.Millisecond), 100*(float64(x)/float64(base)-1))
}

func pct(ds []time.Duration, p int) time.Duration {
	s := slices.Clone(ds)
	slices.SortFunc(s, cmp.Compare)
	i := (len(s)*p + 99) / 100
	return s[max(0, min(len(s)-1, i-1))]
}

func mean(ds []time.Duration) time.Duration {
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return sum / time.Duration(len(ds))
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }
