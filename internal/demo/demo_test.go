package demo_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/couponpop/couponpop/internal/auth"
	"github.com/couponpop/couponpop/internal/demo"
	"github.com/couponpop/couponpop/internal/geo"
	"github.com/couponpop/couponpop/internal/issue"
	"github.com/couponpop/couponpop/internal/member"
	"github.com/couponpop/couponpop/internal/postgres/pgtest"
	"github.com/couponpop/couponpop/internal/redisx"
	"github.com/couponpop/couponpop/internal/store"
)

// A database of the package's own and Redis DB 8 (0 push, 1 issue, 3 member, 4 store, 5 api, 6 auth and dashboard).
var (
	pool *pgxpool.Pool
	rdb  *redis.Client
)

func TestMain(m *testing.M) {
	rdb = redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", DB: 8})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	err := rdb.FlushDB(ctx).Err()
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo tests need Redis on 127.0.0.1:6379 (make services):", err)
		os.Exit(1)
	}
	pgtest.Main(m, "demo", &pool)
}

type services struct {
	deps    demo.Deps
	members *member.Service
}

// newServices wires the domain services as cmd/seed does.
func newServices(t *testing.T) services {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	rs, closeLocks, err := redisx.Redsync(context.Background(), rdb, "", "")
	require.NoError(t, err)
	t.Cleanup(closeLocks)
	tokens := auth.NewTokens("demo-test-secret", "", time.Minute, nil)
	members := member.NewService(pool, tokens, time.Hour)
	stores := store.NewService(pool, func(context.Context, string, error) {})
	issuing := issue.NewService(pool, rdb, rs, stores, log, prometheus.NewRegistry(), issue.Options{})
	t.Cleanup(issuing.Close)
	return services{
		deps:    demo.Deps{DB: pool, Members: members, Stores: stores, Issue: issuing},
		members: members,
	}
}

// fingerprint sums up every table Load touches: a second Load must leave
// it exactly as it was.
func fingerprint(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, table := range []string{"members", "stores", "coupon_events", "coupons", "outbox", "refresh_tokens"} {
		var n, maxID int64
		require.NoError(t, pool.QueryRow(context.Background(),
			`SELECT count(*), coalesce(max(id), 0) FROM `+table).Scan(&n, &maxID))
		out[table] = fmt.Sprintf("%d rows, max id %d", n, maxID)
	}
	for _, table := range []string{"members", "stores", "coupon_events", "coupons"} {
		var last time.Time
		require.NoError(t, pool.QueryRow(context.Background(),
			`SELECT coalesce(max(updated_at), 'epoch') FROM `+table).Scan(&last))
		out[table+".updated_at"] = last.String()
	}
	return out
}

func TestDataIsConsistent(t *testing.T) {
	assert.Len(t, demo.Stores, 40)
	names := map[string]bool{}
	categories := map[string]bool{}
	perSpot := map[string]int{}
	for _, s := range demo.Stores {
		assert.False(t, names[s.Name], "store name %q is the stable key; it must be unique", s.Name)
		names[s.Name] = true
		assert.True(t, store.ValidCategory(s.Category), "%s: category %s", s.Name, s.Category)
		categories[s.Category] = true
		assert.True(t, s.Owner >= 0 && s.Owner < len(demo.Owners), "%s: owner %d", s.Name, s.Owner)
		// Each store sits near one of the hot spots.
		near := ""
		for _, spot := range demo.Spots {
			if geo.Distance(geo.Point{Lat: s.Lat, Lng: s.Lng}, geo.Point{Lat: spot.Lat, Lng: spot.Lng}) < 700 {
				near = spot.Name
			}
		}
		if assert.NotEmpty(t, near, "%s at %v,%v is not within 700 m of a hot spot", s.Name, s.Lat, s.Lng) {
			perSpot[near]++
		}
	}
	assert.Len(t, categories, len(store.Categories), "every category is represented")
	for _, spot := range demo.Spots {
		assert.Equal(t, 8, perSpot[spot.Name], "stores around %s", spot.Name)
	}

	kinds := map[demo.Kind]int{}
	geofenced := 0
	titles := map[string]bool{}
	for _, e := range demo.Events {
		assert.True(t, names[e.Store], "event %q is at unknown store %q", e.Title, e.Store)
		assert.False(t, titles[e.Title], "event title %q must be unique", e.Title)
		titles[e.Title] = true
		kinds[e.Kind]++
		if e.GeofenceM > 0 {
			geofenced++
		}
		assert.LessOrEqual(t, e.Lasts, issue.MaxWindow, "%s: window too long", e.Title)
		if e.Kind == demo.SoldOut {
			assert.LessOrEqual(t, e.Quantity, 5, "%s: the crowd must be able to sell it out", e.Title)
		}
	}
	assert.GreaterOrEqual(t, kinds[demo.Live], 5)
	assert.GreaterOrEqual(t, kinds[demo.SoldOut], 2)
	assert.GreaterOrEqual(t, kinds[demo.Upcoming], 2)
	assert.Equal(t, 1, geofenced)
}

func TestLoadIsIdempotent(t *testing.T) {
	ctx := context.Background()
	s := newServices(t)

	first, err := demo.Load(ctx, s.deps)
	require.NoError(t, err)
	accounts := len(demo.Owners) + 1 + 5
	assert.Equal(t, demo.Report{
		Accounts: accounts, NewAccounts: accounts,
		Stores: 40, NewStores: 40,
		Events: len(demo.Events), NewEvents: len(demo.Events),
		NewCoupons: 5 + 3 + 4 + 2, // three sold-out events, the customer's two
		NewRedeems: 1,
	}, first)
	before := fingerprint(t)

	second, err := demo.Load(ctx, s.deps)
	require.NoError(t, err)
	assert.Equal(t, demo.Report{Accounts: accounts, Stores: 40, Events: len(demo.Events)}, second, "a second run creates nothing")
	assert.Equal(t, before, fingerprint(t), "a second run changes nothing")

	// A fresh set of services (another process) finds everything too.
	third, err := demo.Load(ctx, newServices(t).deps)
	require.NoError(t, err)
	assert.Zero(t, third.NewAccounts+third.NewStores+third.NewEvents+third.NewCoupons+third.NewRedeems)
	assert.Equal(t, before, fingerprint(t))

	t.Run("states", func(t *testing.T) {
		type row struct {
			title                      string
			total, issued, geofence    int
			startsLater, customerHolds bool
		}
		rows, err := pool.Query(ctx, `
			SELECT e.title, e.total_quantity, e.issued_count, e.geofence_m, e.issue_starts_at > now(),
			       EXISTS (SELECT 1 FROM coupons c JOIN members m ON m.id = c.member_id
			               WHERE c.event_id = e.id AND m.email = $1)
			FROM coupon_events e`, demo.Customer.Email)
		require.NoError(t, err)
		got := map[string]row{}
		for rows.Next() {
			var r row
			require.NoError(t, rows.Scan(&r.title, &r.total, &r.issued, &r.geofence, &r.startsLater, &r.customerHolds))
			got[r.title] = r
		}
		require.NoError(t, rows.Err())
		require.Len(t, got, len(demo.Events))
		for _, e := range demo.Events {
			r := got[e.Title]
			switch e.Kind {
			case demo.SoldOut:
				assert.Equal(t, r.total, r.issued, "%s is sold out", e.Title)
			case demo.Upcoming:
				assert.True(t, r.startsLater, "%s starts later", e.Title)
				assert.Zero(t, r.issued)
			case demo.Live:
				assert.False(t, r.startsLater, "%s is live", e.Title)
				assert.Less(t, r.issued, r.total, "%s has stock", e.Title)
			}
			assert.Equal(t, e.GeofenceM, r.geofence, e.Title)
		}
		assert.True(t, got["아메리카노 1,000원 할인"].customerHolds)
		assert.True(t, got["호수뷰 음료 2,000원 할인"].customerHolds)

		var used int
		require.NoError(t, pool.QueryRow(ctx, `
			SELECT count(*) FROM coupons c JOIN members m ON m.id = c.member_id
			WHERE m.email = $1 AND c.status = 'USED'`, demo.Customer.Email).Scan(&used))
		assert.Equal(t, 1, used, "one of the customer's coupons is already used")
	})

	t.Run("demo logins work", func(t *testing.T) {
		for _, a := range []demo.Account{demo.Owners[0], demo.Customer} {
			_, err := s.members.Login(ctx, a.Email, demo.Password)
			assert.NoError(t, err, a.Email)
		}
	})
}

func TestLoadRefreshesEndedEvents(t *testing.T) {
	// After an event's window has passed, a rerun launches it again so the
	// demo map is never empty. (Runs after TestLoadIsIdempotent's data or
	// loads its own.)
	ctx := context.Background()
	s := newServices(t)
	_, err := demo.Load(ctx, s.deps)
	require.NoError(t, err)

	const title = "버거 세트 15% 할인"
	_, err = pool.Exec(ctx, `
		UPDATE coupon_events SET issue_starts_at = now() - interval '2 days', issue_ends_at = now() - interval '1 day'
		WHERE title = $1`, title)
	require.NoError(t, err)

	r, err := demo.Load(ctx, s.deps)
	require.NoError(t, err)
	assert.Equal(t, 1, r.NewEvents)
	var live int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM coupon_events WHERE title = $1 AND issue_ends_at > now()`, title).Scan(&live))
	assert.Equal(t, 1, live)
}
