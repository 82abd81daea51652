// Package issue is the heart of CouponPop: limited-quantity coupon events
// and their first-come-first-served issuance, redeem, cancel-use and expiry.
//
// # Why issuance looks like this
//
// A merchant puts 100 coupons on sale at noon and ten thousand phones tap at
// once. Three things must hold whatever happens (DESIGN.md invariants 1–3):
// never oversell, never exceed the per-member limit, and never answer 201
// without a committed row. The seed projects took a distributed lock per
// request and did one transaction per coupon; that caps an event at what one
// lock holder can commit serially (tens to hundreds per second), and their
// lock leases could expire before the transaction did.
//
// Here a request passes three stages:
//
//  1. An in-process snapshot of the event (refreshed every second) answers
//     the cheap refusals — EVENT_SUSPENDED, NOT_IN_WINDOW, OUT_OF_RANGE —
//     without any I/O.
//  2. Requests for the same event queue in a group-commit writer (batch.go).
//     One flusher per event and process takes whatever has queued and runs
//     it through the Redis gate (gate.go): one Lua call checks each member's
//     count and the stock and reserves for the whole batch. Duplicate taps
//     and everything after the sell-out are answered right there, so
//     PostgreSQL only ever sees about as many requests as there are coupons.
//  3. For what the gate admitted, the flusher acquires the event's redsync
//     lock once and writes every coupon, the issued_count and the outbox
//     rows in ONE statement in one transaction. Everyone in the batch gets
//     their answer after COMMIT.
//
// Both Redis and PostgreSQL are paid per batch, not per request: at a few
// hundred requests per batch, a request costs neither a Redis round trip
// nor a commit of its own.
//
// PostgreSQL alone enforces the invariants: the batch statement locks the
// event row, admits at most total_quantity − issued_count rows, numbers each
// member's coupons and refuses a number above per_member_limit, and the
// schema backs it with CHECK (issued_count <= total_quantity) and UNIQUE
// (event_id, member_id, seq). Redis is only a gate in front; when Redis says
// yes and PostgreSQL says no, PostgreSQL wins and the reservation is given
// back. So Redis can be flushed, or be down (requests then go straight to
// the batch writer), without an oversell.
//
// Lock granularity was chosen by measurement (docs/BENCHMARKS.md): a lock
// per request serializes the event on two Redis round trips plus one
// fsync'd commit per coupon; a lock per batch pays the same once per few
// hundred coupons. The lock's lease (LockTTL) is longer than the batch
// transaction's statement timeout, and the flusher checks the lease before
// COMMIT and rolls back if it has run out, so the seed's bug — a lease
// ending mid-transaction and letting a second holder in — cannot happen
// (and if it did, the row lock and the CHECK would still hold).
//
// Order of checks, first failure wins: INVALID_LOCATION (400, at the edge),
// EVENT_NOT_FOUND (404), EVENT_SUSPENDED (422), NOT_IN_WINDOW (422; also
// ENDED events), OUT_OF_RANGE (403, geofenced events only), ALREADY_ISSUED
// (409), SOLD_OUT (409).
package issue

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/go-redsync/redsync/v4"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/couponpop/couponpop/internal/auth"
	"github.com/couponpop/couponpop/internal/derrors"
	"github.com/couponpop/couponpop/internal/geo"
	"github.com/couponpop/couponpop/internal/postgres"
	"github.com/couponpop/couponpop/internal/store"
)

// Issue outcomes.
var (
	ErrSoldOut        = derrors.New(derrors.Conflict, "SOLD_OUT", "all coupons of this event have been issued")
	ErrAlreadyIssued  = derrors.New(derrors.Conflict, "ALREADY_ISSUED", "you already hold as many coupons of this event as allowed")
	ErrOutOfRange     = derrors.New(derrors.Forbidden, "OUT_OF_RANGE", "you are too far from the store for this event")
	ErrNotInWindow    = derrors.New(derrors.Unprocessable, "NOT_IN_WINDOW", "the event is not issuing coupons right now")
	ErrEventSuspended = derrors.New(derrors.Unprocessable, "EVENT_SUSPENDED", "the merchant has suspended this event")
	ErrBusy           = derrors.New(derrors.Unavailable, "ISSUE_BUSY", "issuance is briefly unavailable; retry")
)

// Stores is what issuance needs of the store domain: who may change a
// store's events and redeem its coupons.
type Stores interface {
	Authorize(ctx context.Context, p auth.Principal, id int64) (store.Store, error)
}

// EventListener hears about event changes after they commit (the geo
// index, search).
type EventListener interface {
	EventChanged(ctx context.Context, storeID, eventID int64) error
}

// Options tune issuance. The zero value is the production design.
type Options struct {
	// MaxBatch bounds the coupons written per transaction (default 500).
	// 1 turns group commit off: one lock and one transaction per coupon,
	// the seeds' design, kept for the benchmark's comparison.
	MaxBatch int
	// NoGate skips the Redis gate (benchmark comparison; and what happens
	// automatically while Redis is unreachable).
	NoGate bool
	// LockTTL is the redsync lease per batch (default 8 s).
	LockTTL time.Duration
	// SnapshotTTL is how stale the in-process event snapshot may be
	// (default 1 s). Suspension is enforced by Redis and PostgreSQL
	// immediately; the snapshot only saves work.
	SnapshotTTL time.Duration
}

func (o *Options) defaults() {
	if o.MaxBatch <= 0 {
		o.MaxBatch = 500
	}
	if o.LockTTL <= 0 {
		o.LockTTL = 8 * time.Second
	}
	if o.SnapshotTTL <= 0 {
		o.SnapshotTTL = time.Second
	}
}

// Service is the issuance domain.
type Service struct {
	db        *pgxpool.Pool
	rdb       redis.UniversalClient
	rs        *redsync.Redsync
	stores    Stores
	log       *slog.Logger
	opts      Options
	now       func() time.Time
	metrics   *metrics
	listeners []EventListener

	snapMu sync.Mutex
	snaps  map[int64]*snapEntry

	batchMu  sync.Mutex
	batchers map[int64]*batcher
	flushes  sync.WaitGroup
}

// NewService returns the issuance service. rs may lock across several
// independent Redis servers (Redlock); rdb holds the gate and idempotency
// keys.
func NewService(db *pgxpool.Pool, rdb redis.UniversalClient, rs *redsync.Redsync, stores Stores,
	log *slog.Logger, reg prometheus.Registerer, opts Options) *Service {
	opts.defaults()
	return &Service{
		db: db, rdb: rdb, rs: rs, stores: stores, log: log, opts: opts, now: time.Now,
		metrics:  newMetrics(reg),
		snaps:    make(map[int64]*snapEntry),
		batchers: make(map[int64]*batcher),
	}
}

// AddListener registers an event listener (wiring happens in main).
func (s *Service) AddListener(l EventListener) { s.listeners = append(s.listeners, l) }

// Close waits for in-flight batch flushes to finish (graceful shutdown:
// every request that was accepted gets its committed answer).
func (s *Service) Close() { s.flushes.Wait() }

// Issue gives the caller one coupon of event id, first come first served.
// at is where the caller says they are.
func (s *Service) Issue(ctx context.Context, p auth.Principal, eventID int64, at geo.Point) (Coupon, error) {
	if p.Role != auth.Customer {
		return Coupon{}, auth.ErrWrongRole.WithDetail("only customers may take coupons")
	}
	now := s.now()
	snap, err := s.snapshot(ctx, eventID, now)
	if err != nil {
		return Coupon{}, err
	}
	if err := snap.check(now, at); err != nil {
		s.metrics.outcome(err)
		return Coupon{}, err
	}

	code, err := newCode()
	if err != nil {
		return Coupon{}, err
	}
	req := &request{memberID: p.MemberID, code: code, done: make(chan result, 1)}
	s.batcher(eventID).submit(s, req)

	// The request is queued: its answer comes after COMMIT or rollback. We
	// wait for it even if the client goes away, so that what the client
	// might see on a retry (ALREADY_ISSUED) matches what was committed.
	res := <-req.done
	s.metrics.outcome(res.err)
	return res.coupon, res.err
}

func isCheck(err error, constraint string) bool {
	return postgres.IsViolation(err, postgres.CheckViolation, constraint)
}

func (s *Service) eventChanged(ctx context.Context, ev Event) {
	s.forgetSnapshot(ev.ID)
	if err := s.syncGate(ctx, ev); err != nil {
		s.log.WarnContext(ctx, "sync issue gate", "event_id", ev.ID, "err", err)
	}
	for _, l := range s.listeners {
		if err := l.EventChanged(ctx, ev.StoreID, ev.ID); err != nil {
			s.log.WarnContext(ctx, "event listener", "event_id", ev.ID, "err", err)
		}
	}
}
