package issue

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-redsync/redsync/v4"
	"github.com/jackc/pgx/v5"

	"github.com/couponpop/couponpop/internal/derrors"
	"github.com/couponpop/couponpop/internal/outbox"
)

// request is one queued issue.
type request struct {
	memberID    int64
	code        string
	reservation *reservation // nil when the gate was bypassed
	done        chan result
}

type result struct {
	coupon Coupon
	err    error
}

// batcher queues an event's reserved requests for group commit. At most one
// flusher goroutine runs per event and process; while it writes one batch
// the next one accumulates, so batches grow with load and a lone request is
// written at once (no timer, no added latency when idle).
type batcher struct {
	eventID int64
	pending []*request
	running bool
}

func (s *Service) batcher(eventID int64) *batcher {
	s.batchMu.Lock()
	defer s.batchMu.Unlock()
	b := s.batchers[eventID]
	if b == nil {
		b = &batcher{eventID: eventID}
		s.batchers[eventID] = b
	}
	return b
}

func (b *batcher) submit(s *Service, r *request) {
	s.batchMu.Lock()
	b.pending = append(b.pending, r)
	start := !b.running
	b.running = true
	s.batchMu.Unlock()
	if start {
		s.flushes.Add(1)
		go b.run(s)
	}
}

func (b *batcher) run(s *Service) {
	defer s.flushes.Done()
	for {
		s.batchMu.Lock()
		if len(b.pending) == 0 {
			b.running = false
			// Forget idle events so the map does not grow with every event
			// ever issued in this process.
			delete(s.batchers, b.eventID)
			s.batchMu.Unlock()
			return
		}
		n := min(len(b.pending), s.opts.MaxBatch)
		batch := make([]*request, n)
		copy(batch, b.pending)
		b.pending = b.pending[n:]
		s.batchMu.Unlock()
		s.flush(b.eventID, batch)
	}
}

// issueSQL writes a whole batch for one event in one statement.
//
// ev locks the event row (FOR UPDATE), so batches of one event from any
// number of processes serialize on PostgreSQL itself, and yields the room
// left only if the event is active and its window open. cand numbers each
// member's requests after the coupons they already hold (an index-only
// count on coupons_member_limit_key); ok keeps those within the limit and
// ranks them in arrival order; ins inserts the first `room` of them. A
// UNIQUE (event_id, member_id, seq) conflict — a member racing themselves
// across processes — is skipped, not an error. upd adds what was inserted to
// issued_count, where the CHECK makes an oversell impossible even if this
// statement were wrong.
const issueSQL = `
WITH ev AS (
    SELECT id, store_id, total_quantity - issued_count AS room, per_member_limit,
           coalesce(valid_until, now() + make_interval(hours => valid_hours)) AS expires_at
    FROM coupon_events
    WHERE id = $1 AND status = 'ACTIVE' AND issue_starts_at <= now() AND now() < issue_ends_at
    FOR UPDATE
), req AS (
    SELECT r.member_id, r.code, r.ord,
           row_number() OVER (PARTITION BY r.member_id ORDER BY r.ord) AS k
    FROM unnest($2::bigint[], $3::text[]) WITH ORDINALITY AS r(member_id, code, ord)
), cand AS (
    SELECT req.member_id, req.code, req.ord,
           (SELECT count(*) FROM coupons c WHERE c.event_id = $1 AND c.member_id = req.member_id) + req.k AS seq
    FROM req
), ok AS (
    SELECT cand.*, row_number() OVER (ORDER BY cand.ord) AS pos
    FROM cand, ev
    WHERE cand.seq <= ev.per_member_limit
), ins AS (
    INSERT INTO coupons (event_id, store_id, member_id, seq, code, expires_at)
    SELECT $1, ev.store_id, ok.member_id, ok.seq, ok.code, ev.expires_at
    FROM ok, ev
    WHERE ok.pos <= ev.room
    ON CONFLICT DO NOTHING
    RETURNING id, event_id, store_id, member_id, code, status, issued_at, used_at, expires_at
), upd AS (
    UPDATE coupon_events
    SET issued_count = issued_count + (SELECT count(*) FROM ins), updated_at = now()
    WHERE id = $1 AND EXISTS (SELECT 1 FROM ins)
)
SELECT id, event_id, store_id, member_id, code, status, issued_at, used_at, expires_at FROM ins`

// flush writes one batch and answers every request in it.
func (s *Service) flush(eventID int64, batch []*request) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	s.metrics.batchSize.Observe(float64(len(batch)))
	if !s.opts.NoGate {
		if batch = s.gate(ctx, eventID, batch); len(batch) == 0 {
			return
		}
	}
	issued, refused, err := s.writeBatch(ctx, eventID, batch)
	s.metrics.flushSeconds.Observe(time.Since(start).Seconds())
	if err != nil {
		s.log.Error("issue batch failed", "event_id", eventID, "size", len(batch), "err", err)
		if _, ok := derrors.As(err); !ok {
			err = ErrBusy
		}
		for _, r := range batch {
			s.release(r)
			r.done <- result{err: err}
		}
		return
	}
	for _, r := range batch {
		if c, ok := issued[r.code]; ok {
			r.done <- result{coupon: c}
			continue
		}
		why := refused[r.memberID]
		switch {
		case errors.Is(why, ErrSoldOut):
			s.settle(r.reservation, "soldout")
		case errors.Is(why, ErrAlreadyIssued):
			s.settle(r.reservation, "already")
		default:
			s.release(r)
		}
		r.done <- result{err: why}
	}
}

// writeBatch runs the batch transaction under the event's redsync lock.
// It returns the coupons issued (by code) and, for requests that were not,
// why (by member).
func (s *Service) writeBatch(ctx context.Context, eventID int64, batch []*request) (map[string]Coupon, map[int64]error, error) {
	mutex := s.rs.NewMutex(lockKey(eventID, "write"), redsync.WithExpiry(s.opts.LockTTL))
	locked, err := acquire(ctx, mutex)
	if err != nil {
		return nil, nil, fmt.Errorf("lock event %d: %w", eventID, err)
	}
	if !locked {
		// A quorum of the lock's Redis servers is unreachable: the row lock
		// in issueSQL still serializes writers and the CHECK still holds, so
		// write without the distributed lock rather than refuse everyone.
		s.metrics.lockBypass.Inc()
	}
	if locked {
		defer func() {
			uctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			_, _ = mutex.UnlockContext(uctx)
		}()
	}

	members := make([]int64, len(batch))
	codes := make([]string, len(batch))
	for i, r := range batch {
		members[i], codes[i] = r.memberID, r.code
	}
	issued := make(map[string]Coupon, len(batch))
	refused := map[int64]error{}
	err = pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		// Shorter than the lock's lease, so the lease cannot run out while
		// the statement runs.
		if _, err := tx.Exec(ctx, fmt.Sprintf("SET LOCAL statement_timeout = %d", (s.opts.LockTTL/2).Milliseconds())); err != nil {
			return err
		}
		rows, _ := tx.Query(ctx, issueSQL, eventID, members, codes)
		coupons, err := pgx.CollectRows(rows, scanCoupon)
		if err != nil {
			return fmt.Errorf("issue batch: %w", err)
		}
		msgs := make([]outbox.Message, len(coupons))
		for i, c := range coupons {
			issued[c.Code] = c
			msgs[i] = outbox.Message{
				Kind: outbox.CouponIssued, TraceID: outbox.TraceID(outbox.CouponIssued, c.ID),
				Payload: map[string]any{"coupon_id": c.ID, "event_id": c.EventID, "store_id": c.StoreID, "member_id": c.MemberID},
			}
		}
		if err := outbox.Add(ctx, tx, msgs...); err != nil {
			return err
		}
		if len(coupons) < len(batch) {
			if err := s.explainRefusals(ctx, tx, eventID, batch, issued, refused); err != nil {
				return err
			}
		}
		if locked && time.Until(mutex.Until()) < time.Second {
			return fmt.Errorf("lock lease of event %d nearly over before commit; rolling back", eventID)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return issued, refused, nil
}

// explainRefusals finds out, inside the batch transaction, why requests
// were not inserted.
func (s *Service) explainRefusals(ctx context.Context, tx pgx.Tx, eventID int64, batch []*request,
	issued map[string]Coupon, refused map[int64]error) error {
	var status string
	var open bool
	var room, limit int
	err := tx.QueryRow(ctx, `
		SELECT status, issue_starts_at <= now() AND now() < issue_ends_at,
		       total_quantity - issued_count, per_member_limit
		FROM coupon_events WHERE id = $1`, eventID).Scan(&status, &open, &room, &limit)
	if err != nil {
		return fmt.Errorf("explain refusals: %w", err)
	}
	var members []int64
	for _, r := range batch {
		if _, ok := issued[r.code]; !ok {
			members = append(members, r.memberID)
		}
	}
	held := map[int64]int{}
	rows, _ := tx.Query(ctx, `
		SELECT member_id, count(*) FROM coupons
		WHERE event_id = $1 AND member_id = ANY($2) GROUP BY member_id`, eventID, members)
	var mid int64
	var n int
	if _, err := pgx.ForEachRow(rows, []any{&mid, &n}, func() error { held[mid] = n; return nil }); err != nil {
		return fmt.Errorf("explain refusals: %w", err)
	}
	for _, m := range members {
		switch {
		case status == Suspended:
			refused[m] = ErrEventSuspended
		case status == Ended || !open:
			refused[m] = ErrNotInWindow
		case held[m] >= limit:
			refused[m] = ErrAlreadyIssued
		case room <= 0:
			refused[m] = ErrSoldOut
		default:
			// A code collision (1 in 36^16) or a race lost to another
			// process: safe to retry.
			refused[m] = ErrBusy
		}
	}
	return nil
}

// acquire takes m, retrying every couple of milliseconds while another
// process holds it (its batch takes a few milliseconds). It reports false,
// without error, when the lock's Redis servers cannot be reached.
func acquire(ctx context.Context, m *redsync.Mutex) (bool, error) {
	for {
		err := m.TryLockContext(ctx)
		if err == nil {
			return true, nil
		}
		var taken *redsync.ErrTaken
		var nodeTaken *redsync.ErrNodeTaken
		var down *redsync.RedisError
		if !errors.As(err, &taken) && !errors.As(err, &nodeTaken) && errors.As(err, &down) {
			return false, nil
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
}
