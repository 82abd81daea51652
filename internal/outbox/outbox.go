// Package outbox is the transactional outbox: a domain change that must tell
// the rest of the platform (pushes, search, dashboards) writes a Message in
// the same transaction as the change, so the news is committed exactly when
// the change is. A relay publishes unpublished rows to RabbitMQ.
package outbox

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"
)

// Kinds of messages. The routing key on the exchange is the kind in lower
// case with dots (COUPON_ISSUED → coupon.issued).
const (
	StoreChanged    = "STORE_CHANGED"   // {store_id}
	StoreDeleted    = "STORE_DELETED"   // {store_id}
	EventCreated    = "EVENT_CREATED"   // {event_id, store_id, issue_starts_at}
	EventChanged    = "EVENT_CHANGED"   // {event_id, store_id, status}
	CouponIssued    = "COUPON_ISSUED"   // {coupon_id, event_id, store_id, member_id}
	CouponUsed      = "COUPON_USED"     // {coupon_id, event_id, store_id, member_id}
	CouponUnused    = "COUPON_UNUSED"   // {coupon_id, event_id, store_id, member_id} (cancel-use)
	CouponExpiring  = "COUPON_EXPIRING" // {coupon_id, event_id, store_id, member_id, expires_at}
	AreaEntered     = "AREA_ENTERED"    // {member_id, area_id, day}
	CouponsExpired  = "COUPONS_EXPIRED" // {count}
	EventsSuspended = "EVENTS_SUSPENDED"
)

// Message is one outbox row to write.
type Message struct {
	Kind string
	// TraceID identifies the news, not the row: it includes the kind, so
	// "issued" and "used" of one coupon are two different pushes, and a
	// retry of the same news dedupes on it downstream.
	TraceID string
	Payload any
}

// TraceID builds the conventional trace id KIND:id.
func TraceID(kind string, id int64) string { return kind + ":" + strconv.FormatInt(id, 10) }

// Add writes messages in tx, in one statement however many there are.
func Add(ctx context.Context, tx pgx.Tx, msgs ...Message) error {
	if len(msgs) == 0 {
		return nil
	}
	kinds := make([]string, len(msgs))
	traces := make([]string, len(msgs))
	payloads := make([]string, len(msgs))
	for i, m := range msgs {
		b, err := json.Marshal(m.Payload)
		if err != nil {
			return fmt.Errorf("outbox: marshal %s payload: %w", m.Kind, err)
		}
		kinds[i], traces[i], payloads[i] = m.Kind, m.TraceID, string(b)
	}
	_, err := tx.Exec(ctx, `
		INSERT INTO outbox (kind, trace_id, payload)
		SELECT k, t, p::jsonb FROM unnest($1::text[], $2::text[], $3::text[]) AS m(k, t, p)`,
		kinds, traces, payloads)
	if err != nil {
		return fmt.Errorf("outbox: insert %d messages: %w", len(msgs), err)
	}
	return nil
}
