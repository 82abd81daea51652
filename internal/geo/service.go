package geo

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-redsync/redsync/v4"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// Stock is what the geo package needs of issuance: the stock left per
// event as the issuance gate sees it — the state issuance itself uses.
// Events missing from the answer have no gate; their stock is total −
// issued from PostgreSQL. issue.Service implements it.
type Stock interface {
	Remaining(ctx context.Context, eventIDs []int64) (map[int64]int, error)
}

// Options tune the service. The zero value is the production design.
type Options struct {
	// NoRedis answers every nearby request from PostGIS and keeps no
	// index (the benchmark's comparison; what happens on its own while
	// Redis is down).
	NoRedis bool
	// NoKNN makes the PostGIS path read stores in the textbook way, every
	// store of the circle sorted by ST_Distance, instead of nearest first
	// from the index (the benchmark's comparison).
	NoKNN bool
	// Prefix namespaces the Redis keys (default "geo"). Tests and
	// benchmarks that share a Redis database use their own.
	Prefix string
	// CheckEvery is how often Run makes sure the index exists and repairs
	// it after a failed write (default 2 s).
	CheckEvery time.Duration
	// ReconcileEvery is how often one instance (whichever gets there
	// first) rebuilds the index from PostgreSQL, pruning stores whose
	// events are over and repairing anything a crash left out (default
	// 10 min).
	ReconcileEvery time.Duration
	// FirstRadiusM is the radius the hot path searches first before
	// doubling it towards the asked radius (default 50 m). GEOSEARCH pays
	// for every member of the geohash boxes around the circle, whatever
	// COUNT says: in a dense district a 400 m circle scans thousands of
	// stores to return forty. Doubling from a small circle scans about as
	// many as the answer needs, wherever the density.
	FirstRadiusM float64
	// MaxPoints bounds the stores a viewport answers as points before it
	// clusters (default 500).
	MaxPoints int
}

func (o *Options) defaults() {
	if o.Prefix == "" {
		o.Prefix = "geo"
	}
	if o.CheckEvery <= 0 {
		o.CheckEvery = 2 * time.Second
	}
	if o.ReconcileEvery <= 0 {
		o.ReconcileEvery = 10 * time.Minute
	}
	if o.FirstRadiusM <= 0 {
		o.FirstRadiusM = 50
	}
	if o.MaxPoints <= 0 {
		o.MaxPoints = 500
	}
}

// Service answers nearby, viewport and location questions.
type Service struct {
	db    *pgxpool.Pool
	rdb   redis.UniversalClient
	rs    *redsync.Redsync
	stock Stock
	log   *slog.Logger
	opts  Options
	keys  keys
	now   func() time.Time
	m     *metrics

	// wake asks Run to rebuild a missing index now rather than at its
	// next check; a full channel means a request is already pending.
	wake chan struct{}
	// downUntil (Unix nanoseconds) short-circuits the hot path to PostGIS
	// for a moment after Redis failed, so an outage costs one timeout per
	// second instead of one per request.
	downUntil atomic.Int64
	// stale records that a write to the index failed: the index may miss
	// a change, so Run takes it out of service and rebuilds it as soon as
	// Redis answers again.
	stale atomic.Bool
	// bufs recycles nearby answers' buffers: at ten thousand answers a
	// second, a few kilobytes each add up in the garbage collector.
	bufs  sync.Pool
	hints densityHints
}

func (s *Service) buf() *[]byte {
	if b, ok := s.bufs.Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, 0, 8<<10)
	return &b
}

// NewService returns the geo service. rs locks index rebuilds across API
// instances; stock is the issuance service.
func NewService(db *pgxpool.Pool, rdb redis.UniversalClient, rs *redsync.Redsync, stock Stock,
	log *slog.Logger, reg prometheus.Registerer, opts Options) *Service {
	opts.defaults()
	return &Service{
		db: db, rdb: rdb, rs: rs, stock: stock, log: log, opts: opts,
		keys: newKeys(opts.Prefix),
		now:  time.Now,
		m:    newMetrics(reg),
		wake: make(chan struct{}, 1),
	}
}

// StoreChanged brings a created, edited or moved store into the index. It
// re-reads the store from PostgreSQL, so it is safe to call twice or late.
// (store.Listener's methods take a store.Store, and package store imports
// geo, so an adapter in the wiring calls this with the id.)
func (s *Service) StoreChanged(ctx context.Context, storeID int64) error {
	return s.syncStores(ctx, storeID)
}

// StoreDeleted takes a deleted store out of the index.
func (s *Service) StoreDeleted(ctx context.Context, storeID int64) error {
	return s.syncStores(ctx, storeID)
}

// EventChanged re-indexes the event's store (issue.EventListener): an
// event created, edited, suspended, resumed or ended changes what the
// store has to offer.
func (s *Service) EventChanged(ctx context.Context, storeID, _ int64) error {
	return s.syncStores(ctx, storeID)
}

// Run keeps the index in service until ctx ends: it rebuilds a missing
// index (on a request's signal or at the next check), repairs it after a
// failed write once Redis answers again, and has one instance reconcile it
// with PostgreSQL every ReconcileEvery. Run it once per process.
func (s *Service) Run(ctx context.Context) error {
	if s.opts.NoRedis {
		<-ctx.Done()
		return nil
	}
	tick := time.NewTicker(s.opts.CheckEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.wake:
		case <-tick.C:
		}
		if err := s.maintain(ctx); err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "geo index maintenance", "err", err)
		}
	}
}

// maintain is one round of Run.
func (s *Service) maintain(ctx context.Context) error {
	if s.stale.Load() {
		// A change may be missing from the index. Take the index out of
		// service first (every instance answers from PostGIS meanwhile),
		// then rebuild it from the truth.
		if err := s.invalidate(ctx); err != nil {
			return err
		}
		s.stale.Store(false)
	}
	ok, err := s.ready(ctx)
	if err != nil {
		return err
	}
	if !ok {
		return s.rebuild(ctx, true)
	}
	// One reconcile per period across all instances: whoever sets the
	// marker does it.
	won, err := s.rdb.SetNX(ctx, s.keys.reconciled, s.now().UTC().Format(time.RFC3339), s.opts.ReconcileEvery).Result()
	if err != nil || !won {
		return err
	}
	return s.rebuild(ctx, false)
}

// requestRebuild asks Run for a rebuild without waiting for it.
func (s *Service) requestRebuild() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// redisUp reports whether the hot path should try Redis now.
func (s *Service) redisUp() bool {
	return !s.opts.NoRedis && time.Now().UnixNano() >= s.downUntil.Load()
}

// gateUp reports whether to ask the issuance gate for stock: Redis has
// not failed in the last second (whether or not the index is in use).
func (s *Service) gateUp() bool {
	return time.Now().UnixNano() >= s.downUntil.Load()
}

// redisFailed records a Redis failure: the next second of requests goes
// straight to PostGIS.
func (s *Service) redisFailed(err error) {
	if errors.Is(err, context.Canceled) {
		return // the client went away; Redis is fine
	}
	s.downUntil.Store(time.Now().Add(time.Second).UnixNano())
}

type metrics struct {
	nearby     *prometheus.CounterVec
	rounds     prometheus.Counter
	rebuilds   prometheus.Counter
	syncErrors prometheus.Counter
	entries    prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		nearby: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "geo_nearby_total",
			Help: "Nearby answers by the path that served them (redis, postgis, or postgis_fallback while the index is missing or Redis is down).",
		}, []string{"path"}),
		rounds: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "geo_nearby_redis_rounds_total",
			Help: "Index searches made by the Redis path; more than one per answer means the first circle was too small.",
		}),
		rebuilds: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "geo_index_rebuilds_total",
			Help: "Rebuilds of the Redis GEO index from PostgreSQL by this process.",
		}),
		syncErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "geo_index_sync_errors_total",
			Help: "Store or event changes that could not be written to the index (it is rebuilt afterwards).",
		}),
		entries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "geo_area_entries_total",
			Help: "Area entries recorded (first report inside an area on a member's day).",
		}),
	}
	reg.MustRegister(m.nearby, m.rounds, m.rebuilds, m.syncErrors, m.entries)
	return m
}
