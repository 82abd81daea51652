package push

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/couponpop/couponpop/internal/outbox"
)

// scheduleChunk bounds one transaction of the announcer and the reminder.
const scheduleChunk = 1000

// AnnounceOpened writes the "new event" outbox message of events whose
// issue window opened after they were created, once per event, and reports
// how many. An event created with its window already open needs none: the
// worker fans its EVENT_CREATED out on arrival. Events whose window opened
// more than a day ago are left alone, so a fresh deployment does not
// announce last month's events.
//
// It is safe to run from every worker at once: the insert into
// event_announcements decides, per event, which transaction announces it,
// and that transaction writes the outbox row.
func AnnounceOpened(ctx context.Context, db *pgxpool.Pool, now time.Time) (int, error) {
	total := 0
	for {
		n := 0
		err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
			rows, _ := tx.Query(ctx, `
				WITH due AS (
					INSERT INTO event_announcements (event_id)
					SELECT e.id FROM coupon_events e
					WHERE e.status = 'ACTIVE'
					  AND e.issue_ends_at > $1
					  AND e.issue_starts_at <= $1
					  AND e.issue_starts_at > $1 - interval '1 day'
					  AND e.issue_starts_at > e.created_at
					  AND NOT EXISTS (SELECT 1 FROM event_announcements a WHERE a.event_id = e.id)
					ORDER BY e.id
					LIMIT $2
					ON CONFLICT DO NOTHING
					RETURNING event_id)
				SELECT e.id, e.store_id, e.issue_starts_at
				FROM due JOIN coupon_events e ON e.id = due.event_id`, now, scheduleChunk)
			var id, store int64
			var starts time.Time
			var msgs []outbox.Message
			_, err := pgx.ForEachRow(rows, []any{&id, &store, &starts}, func() error {
				msgs = append(msgs, outbox.Message{
					Kind: outbox.EventCreated, TraceID: outbox.TraceID(outbox.EventCreated, id),
					Payload: map[string]any{"event_id": id, "store_id": store, "issue_starts_at": starts},
				})
				return nil
			})
			if err != nil {
				return fmt.Errorf("find opened events: %w", err)
			}
			n = len(msgs)
			return outbox.Add(ctx, tx, msgs...)
		})
		if err != nil {
			return total, err
		}
		total += n
		if n < scheduleChunk {
			return total, nil
		}
	}
}

// RunAnnouncer calls AnnounceOpened every interval until ctx ends.
func RunAnnouncer(ctx context.Context, db *pgxpool.Pool, every time.Duration, log *slog.Logger) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		n, err := AnnounceOpened(ctx, db, time.Now())
		if err != nil && ctx.Err() == nil {
			log.Warn("announce opened events", "err", err)
		}
		if n > 0 {
			log.Info("announced events whose window opened", "events", n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// RemindExpiring writes a COUPON_EXPIRING outbox message for every ISSUED
// coupon that expires within 24 hours of now and has not been reminded,
// and reports how many. The batch runner calls it (daily, or more often:
// a coupon is reminded once whatever the schedule, because the insert into
// coupon_reminders and the outbox row commit together).
//
// coupons_expiry_idx (expires_at WHERE status = 'ISSUED') serves the scan;
// the anti-join skips coupons reminded by an earlier chunk or run.
func RemindExpiring(ctx context.Context, db *pgxpool.Pool, now time.Time) (int, error) {
	total := 0
	for {
		n := 0
		err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
			rows, _ := tx.Query(ctx, `
				WITH due AS (
					INSERT INTO coupon_reminders (coupon_id)
					SELECT c.id FROM coupons c
					WHERE c.status = 'ISSUED'
					  AND c.expires_at > $1
					  AND c.expires_at <= $1 + interval '24 hours'
					  AND NOT EXISTS (SELECT 1 FROM coupon_reminders r WHERE r.coupon_id = c.id)
					ORDER BY c.expires_at, c.id
					LIMIT $2
					ON CONFLICT DO NOTHING
					RETURNING coupon_id)
				SELECT c.id, c.event_id, c.store_id, c.member_id, c.expires_at
				FROM due JOIN coupons c ON c.id = due.coupon_id`, now, scheduleChunk)
			var id, event, store, member int64
			var expires time.Time
			var msgs []outbox.Message
			_, err := pgx.ForEachRow(rows, []any{&id, &event, &store, &member, &expires}, func() error {
				msgs = append(msgs, outbox.Message{
					Kind: outbox.CouponExpiring, TraceID: outbox.TraceID(outbox.CouponExpiring, id),
					Payload: map[string]any{"coupon_id": id, "event_id": event, "store_id": store, "member_id": member, "expires_at": expires},
				})
				return nil
			})
			if err != nil {
				return fmt.Errorf("find expiring coupons: %w", err)
			}
			n = len(msgs)
			return outbox.Add(ctx, tx, msgs...)
		})
		if err != nil {
			return total, err
		}
		total += n
		if n < scheduleChunk {
			return total, nil
		}
	}
}
