package issue

import (
	"context"
	"fmt"
)

// ExpireResult counts what an expiry run changed.
type ExpireResult struct {
	Coupons int64 `json:"coupons_expired"`
	Events  int64 `json:"events_ended"`
}

// Expire marks ISSUED coupons past their validity EXPIRED and ACTIVE or
// SUSPENDED events past their window ENDED. It works in chunks of
// chunk rows, each its own short transaction, selecting with FOR UPDATE
// SKIP LOCKED: two runners at once split the work instead of blocking or
// double-counting, and running it twice changes nothing the second time.
func (s *Service) Expire(ctx context.Context, chunk int) (ExpireResult, error) {
	if chunk <= 0 {
		chunk = 5000
	}
	var res ExpireResult
	for {
		tag, err := s.db.Exec(ctx, `
			UPDATE coupons SET status = 'EXPIRED', updated_at = now()
			WHERE id IN (
				SELECT id FROM coupons
				WHERE status = 'ISSUED' AND expires_at <= now()
				LIMIT $1 FOR UPDATE SKIP LOCKED
			) AND status = 'ISSUED'`, chunk)
		if err != nil {
			return res, fmt.Errorf("expire coupons: %w", err)
		}
		res.Coupons += tag.RowsAffected()
		if tag.RowsAffected() < int64(chunk) {
			break
		}
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
	}
	rows, err := s.db.Query(ctx, `
		UPDATE coupon_events SET status = 'ENDED', updated_at = now()
		WHERE id IN (
			SELECT id FROM coupon_events
			WHERE status IN ('ACTIVE', 'SUSPENDED') AND issue_ends_at <= now()
			FOR UPDATE SKIP LOCKED
		)
		RETURNING id, store_id`)
	if err != nil {
		return res, fmt.Errorf("end events: %w", err)
	}
	var ended []Event
	for rows.Next() {
		var ev Event
		if err := rows.Scan(&ev.ID, &ev.StoreID); err != nil {
			return res, err
		}
		ev.Status = Ended
		ended = append(ended, ev)
	}
	if err := rows.Err(); err != nil {
		return res, fmt.Errorf("end events: %w", err)
	}
	res.Events = int64(len(ended))
	for _, ev := range ended {
		s.forgetSnapshot(ev.ID)
		for _, l := range s.listeners {
			if err := l.EventChanged(ctx, ev.StoreID, ev.ID); err != nil {
				s.log.WarnContext(ctx, "event listener", "event_id", ev.ID, "err", err)
			}
		}
	}
	return res, nil
}
