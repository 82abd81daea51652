package issue

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/couponpop/couponpop/internal/auth"
	"github.com/couponpop/couponpop/internal/derrors"
	"github.com/couponpop/couponpop/internal/outbox"
)

// Event statuses.
const (
	Active    = "ACTIVE"
	Suspended = "SUSPENDED"
	Ended     = "ENDED"
)

// Event is a limited-quantity coupon event at a store.
type Event struct {
	ID                int64      `json:"id"`
	StoreID           int64      `json:"store_id"`
	Title             string     `json:"title"`
	Description       string     `json:"description"`
	DiscountType      string     `json:"discount_type"`
	DiscountValue     int        `json:"discount_value"`
	MinOrderAmount    *int       `json:"min_order_amount,omitempty"`
	MaxDiscountAmount *int       `json:"max_discount_amount,omitempty"`
	TotalQuantity     int        `json:"total_quantity"`
	IssueStartsAt     time.Time  `json:"issue_starts_at"`
	IssueEndsAt       time.Time  `json:"issue_ends_at"`
	ValidUntil        *time.Time `json:"valid_until,omitempty"`
	ValidHours        *int       `json:"valid_hours,omitempty"`
	PerMemberLimit    int        `json:"per_member_limit"`
	GeofenceM         int        `json:"geofence_m"`
	Status            string     `json:"status"`
	Remaining         int        `json:"remaining"`
	Summary           Summary    `json:"summary"`
	CreatedAt         time.Time  `json:"created_at"`
	UpdatedAt         time.Time  `json:"updated_at"`

	issued, used int
}

// Summary is the owner's view of an event's coupons. It is computed from
// the event row alone (issued_count and used_count are kept in the issuing
// and redeeming transactions), never by summing across a join.
type Summary struct {
	Total     int `json:"total"`
	Issued    int `json:"issued"`
	Unclaimed int `json:"unclaimed"` // total − issued
	Used      int `json:"used"`
	Unused    int `json:"unused"` // issued − used
}

// NewSummary derives the summary from the three counts.
func NewSummary(total, issued, used int) Summary {
	return Summary{Total: total, Issued: issued, Unclaimed: total - issued, Used: used, Unused: issued - used}
}

// EventInput is the create body and, with every field optional, the PATCH
// body.
type EventInput struct {
	Title             *string    `json:"title"`
	Description       *string    `json:"description"`
	DiscountType      *string    `json:"discount_type"`
	DiscountValue     *int       `json:"discount_value"`
	MinOrderAmount    *int       `json:"min_order_amount"`
	MaxDiscountAmount *int       `json:"max_discount_amount"`
	TotalQuantity     *int       `json:"total_quantity"`
	IssueStartsAt     *time.Time `json:"issue_starts_at"`
	IssueEndsAt       *time.Time `json:"issue_ends_at"`
	ValidUntil        *time.Time `json:"valid_until"`
	ValidHours        *int       `json:"valid_hours"`
	PerMemberLimit    *int       `json:"per_member_limit"`
	GeofenceM         *int       `json:"geofence_m"`
}

// Event errors.
var (
	ErrEventNotFound = derrors.New(derrors.NotFound, "EVENT_NOT_FOUND", "no such coupon event")
	ErrEventEnded    = derrors.New(derrors.Conflict, "EVENT_ENDED", "the event has ended and cannot change")
	ErrQuantityBelow = derrors.New(derrors.Conflict, "QUANTITY_BELOW_ISSUED", "total_quantity cannot be lower than the coupons already issued")
)

// Limits on events.
const (
	MaxQuantity  = 1_000_000
	MaxWindow    = 31 * 24 * time.Hour
	maxValidHrs  = 8784
	maxGeofenceM = 100_000
)

// validateCreate checks a create body and fills defaults. A start in the
// past means "from now".
func (in *EventInput) validateCreate(now time.Time) error {
	switch {
	case in.Title == nil:
		return derrors.Invalidf("title", "is required")
	case in.DiscountType == nil:
		return derrors.Invalidf("discount_type", "is required")
	case in.DiscountValue == nil:
		return derrors.Invalidf("discount_value", "is required")
	case in.TotalQuantity == nil:
		return derrors.Invalidf("total_quantity", "is required")
	case in.IssueStartsAt == nil:
		return derrors.Invalidf("issue_starts_at", "is required")
	case in.IssueEndsAt == nil:
		return derrors.Invalidf("issue_ends_at", "is required")
	case in.ValidUntil == nil && in.ValidHours == nil:
		return derrors.Invalidf("valid_until", "either valid_until or valid_hours is required")
	}
	if in.IssueStartsAt.Before(now) {
		t := now.Truncate(time.Millisecond)
		in.IssueStartsAt = &t
	}
	if in.PerMemberLimit == nil {
		one := 1
		in.PerMemberLimit = &one
	}
	if in.GeofenceM == nil {
		zero := 0
		in.GeofenceM = &zero
	}
	if in.Description == nil {
		empty := ""
		in.Description = &empty
	}
	return in.validate(now)
}

// validate checks the fields that are present against each other.
func (in *EventInput) validate(now time.Time) error {
	if in.Title != nil {
		*in.Title = strings.TrimSpace(*in.Title)
		if n := utf8.RuneCountInString(*in.Title); n < 1 || n > 100 {
			return derrors.Invalidf("title", "must be 1 to 100 characters")
		}
	}
	if in.Description != nil && utf8.RuneCountInString(*in.Description) > 2000 {
		return derrors.Invalidf("description", "must be at most 2000 characters")
	}
	if in.DiscountType != nil && *in.DiscountType != "AMOUNT" && *in.DiscountType != "PERCENT" {
		return derrors.Invalidf("discount_type", "must be AMOUNT or PERCENT")
	}
	if in.DiscountValue != nil {
		if *in.DiscountValue <= 0 {
			return derrors.Invalidf("discount_value", "must be positive")
		}
		if in.DiscountType != nil && *in.DiscountType == "PERCENT" && *in.DiscountValue > 100 {
			return derrors.Invalidf("discount_value", "a PERCENT discount must be 1 to 100")
		}
	}
	if in.MinOrderAmount != nil && *in.MinOrderAmount < 0 {
		return derrors.Invalidf("min_order_amount", "must not be negative")
	}
	if in.MaxDiscountAmount != nil && *in.MaxDiscountAmount <= 0 {
		return derrors.Invalidf("max_discount_amount", "must be positive")
	}
	if in.TotalQuantity != nil && (*in.TotalQuantity < 1 || *in.TotalQuantity > MaxQuantity) {
		return derrors.Invalidf("total_quantity", "must be 1 to %d", MaxQuantity)
	}
	if in.IssueStartsAt != nil && in.IssueEndsAt != nil {
		if !in.IssueEndsAt.After(*in.IssueStartsAt) {
			return derrors.Invalidf("issue_ends_at", "must be after issue_starts_at")
		}
		if in.IssueEndsAt.Sub(*in.IssueStartsAt) > MaxWindow {
			return derrors.Invalidf("issue_ends_at", "the issue window may be at most 31 days")
		}
	}
	if in.IssueEndsAt != nil && !in.IssueEndsAt.After(now) {
		return derrors.Invalidf("issue_ends_at", "must be in the future")
	}
	if in.ValidUntil != nil && in.ValidHours != nil {
		return derrors.Invalidf("valid_until", "give valid_until or valid_hours, not both")
	}
	if in.ValidHours != nil && (*in.ValidHours < 1 || *in.ValidHours > maxValidHrs) {
		return derrors.Invalidf("valid_hours", "must be 1 to %d", maxValidHrs)
	}
	if in.ValidUntil != nil && in.IssueStartsAt != nil && !in.ValidUntil.After(*in.IssueStartsAt) {
		return derrors.Invalidf("valid_until", "must be after issue_starts_at")
	}
	if in.PerMemberLimit != nil && (*in.PerMemberLimit < 1 || *in.PerMemberLimit > 100) {
		return derrors.Invalidf("per_member_limit", "must be 1 to 100")
	}
	if in.GeofenceM != nil && (*in.GeofenceM < 0 || *in.GeofenceM > maxGeofenceM) {
		return derrors.Invalidf("geofence_m", "must be 0 (anywhere) to %d metres", maxGeofenceM)
	}
	return nil
}

const selectEvent = `
	SELECT id, store_id, title, description, discount_type, discount_value, min_order_amount,
	       max_discount_amount, total_quantity, issue_starts_at, issue_ends_at, valid_until,
	       valid_hours, per_member_limit, geofence_m, status, created_at, updated_at,
	       issued_count, used_count
	FROM coupon_events`

func scanEvent(row pgx.CollectableRow) (Event, error) {
	var e Event
	err := row.Scan(&e.ID, &e.StoreID, &e.Title, &e.Description, &e.DiscountType, &e.DiscountValue,
		&e.MinOrderAmount, &e.MaxDiscountAmount, &e.TotalQuantity, &e.IssueStartsAt, &e.IssueEndsAt,
		&e.ValidUntil, &e.ValidHours, &e.PerMemberLimit, &e.GeofenceM, &e.Status, &e.CreatedAt,
		&e.UpdatedAt, &e.issued, &e.used)
	e.Remaining = e.TotalQuantity - e.issued
	e.Summary = NewSummary(e.TotalQuantity, e.issued, e.used)
	return e, err
}

// CreateEvent adds an event to a store the caller owns.
func (s *Service) CreateEvent(ctx context.Context, p auth.Principal, storeID int64, in EventInput) (Event, error) {
	if _, err := s.stores.Authorize(ctx, p, storeID); err != nil {
		return Event{}, err
	}
	now := s.now()
	if err := in.validateCreate(now); err != nil {
		return Event{}, err
	}
	var ev Event
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `
			WITH ins AS (
				INSERT INTO coupon_events (store_id, title, description, discount_type, discount_value,
					min_order_amount, max_discount_amount, total_quantity, issue_starts_at, issue_ends_at,
					valid_until, valid_hours, per_member_limit, geofence_m)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
				RETURNING *
			)`+strings.Replace(selectEvent, "FROM coupon_events", "FROM ins", 1),
			storeID, *in.Title, *in.Description, *in.DiscountType, *in.DiscountValue, in.MinOrderAmount,
			in.MaxDiscountAmount, *in.TotalQuantity, *in.IssueStartsAt, *in.IssueEndsAt, in.ValidUntil,
			in.ValidHours, *in.PerMemberLimit, *in.GeofenceM)
		var err error
		ev, err = pgx.CollectExactlyOneRow(rows, scanEvent)
		if err != nil {
			return fmt.Errorf("insert event: %w", err)
		}
		return outbox.Add(ctx, tx, outbox.Message{
			Kind: outbox.EventCreated, TraceID: outbox.TraceID(outbox.EventCreated, ev.ID),
			Payload: map[string]any{"event_id": ev.ID, "store_id": ev.StoreID, "issue_starts_at": ev.IssueStartsAt},
		})
	})
	if err != nil {
		return Event{}, err
	}
	s.eventChanged(ctx, ev)
	return ev, nil
}

// GetEvent returns an event.
func (s *Service) GetEvent(ctx context.Context, id int64) (Event, error) {
	rows, _ := s.db.Query(ctx, selectEvent+` WHERE id = $1`, id)
	ev, err := pgx.CollectExactlyOneRow(rows, scanEvent)
	if errors.Is(err, pgx.ErrNoRows) {
		return Event{}, ErrEventNotFound
	}
	if err != nil {
		return Event{}, fmt.Errorf("get event %d: %w", id, err)
	}
	return ev, nil
}

// ListStoreEvents returns a store's events, newest first.
func (s *Service) ListStoreEvents(ctx context.Context, storeID int64) ([]Event, error) {
	rows, _ := s.db.Query(ctx, selectEvent+` WHERE store_id = $1 ORDER BY id DESC LIMIT 200`, storeID)
	evs, err := pgx.CollectRows(rows, scanEvent)
	if err != nil {
		return nil, fmt.Errorf("list events of store %d: %w", storeID, err)
	}
	return evs, nil
}

// authorizeEvent returns the event if p owns its store.
func (s *Service) authorizeEvent(ctx context.Context, p auth.Principal, id int64) (Event, error) {
	ev, err := s.GetEvent(ctx, id)
	if err != nil {
		return Event{}, err
	}
	if _, err := s.stores.Authorize(ctx, p, ev.StoreID); err != nil {
		return Event{}, err
	}
	return ev, nil
}

// PatchEvent changes an event. The database re-checks every constraint
// (quantity not below issued, window order) in the same statement, so a
// PATCH racing with issuance cannot break the invariants.
func (s *Service) PatchEvent(ctx context.Context, p auth.Principal, id int64, in EventInput) (Event, error) {
	cur, err := s.authorizeEvent(ctx, p, id)
	if err != nil {
		return Event{}, err
	}
	if cur.Status == Ended {
		return Event{}, ErrEventEnded
	}
	if in.DiscountType == nil {
		in.DiscountType = &cur.DiscountType
	}
	if in.IssueStartsAt == nil {
		in.IssueStartsAt = &cur.IssueStartsAt
	}
	if in.IssueEndsAt == nil && in.IssueStartsAt != nil {
		in.IssueEndsAt = &cur.IssueEndsAt
	}
	if err := in.validate(s.now()); err != nil {
		return Event{}, err
	}
	if in.TotalQuantity != nil && *in.TotalQuantity < cur.issued {
		return Event{}, ErrQuantityBelow
	}
	var ev Event
	err = pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `
			WITH upd AS (
				UPDATE coupon_events SET
					title               = coalesce($2, title),
					description         = coalesce($3, description),
					discount_type       = coalesce($4, discount_type),
					discount_value      = coalesce($5, discount_value),
					min_order_amount    = coalesce($6, min_order_amount),
					max_discount_amount = coalesce($7, max_discount_amount),
					total_quantity      = coalesce($8, total_quantity),
					issue_starts_at     = coalesce($9, issue_starts_at),
					issue_ends_at       = coalesce($10, issue_ends_at),
					valid_until         = CASE WHEN $12::int IS NOT NULL THEN NULL ELSE coalesce($11, valid_until) END,
					valid_hours         = CASE WHEN $11::timestamptz IS NOT NULL THEN NULL ELSE coalesce($12, valid_hours) END,
					per_member_limit    = coalesce($13, per_member_limit),
					geofence_m          = coalesce($14, geofence_m),
					updated_at          = now()
				WHERE id = $1 AND status <> 'ENDED'
				RETURNING *
			)`+strings.Replace(selectEvent, "FROM coupon_events", "FROM upd", 1),
			id, in.Title, in.Description, in.DiscountType, in.DiscountValue, in.MinOrderAmount,
			in.MaxDiscountAmount, in.TotalQuantity, in.IssueStartsAt, in.IssueEndsAt, in.ValidUntil,
			in.ValidHours, in.PerMemberLimit, in.GeofenceM)
		var err error
		ev, err = pgx.CollectExactlyOneRow(rows, scanEvent)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return ErrEventEnded
		case isCheck(err, "coupon_events_window_check"):
			return derrors.Invalidf("issue_ends_at", "must be after issue_starts_at")
		case isCheck(err, "coupon_events_percent_check"):
			return derrors.Invalidf("discount_value", "a PERCENT discount must be 1 to 100")
		case isCheck(err, "coupon_events_validity_check"):
			return derrors.Invalidf("valid_until", "give valid_until or valid_hours")
		case isCheck(err, "coupon_events_issued_count_check"):
			return ErrQuantityBelow
		case err != nil:
			return fmt.Errorf("update event %d: %w", id, err)
		}
		return changedMessage(ctx, tx, ev)
	})
	if err != nil {
		return Event{}, err
	}
	s.eventChanged(ctx, ev)
	return ev, nil
}

func changedMessage(ctx context.Context, tx pgx.Tx, ev Event) error {
	return outbox.Add(ctx, tx, outbox.Message{
		Kind:    outbox.EventChanged,
		TraceID: fmt.Sprintf("%s:%d:%d", outbox.EventChanged, ev.ID, ev.UpdatedAt.UnixMicro()),
		Payload: map[string]any{"event_id": ev.ID, "store_id": ev.StoreID, "status": ev.Status},
	})
}

// SetStatus suspends (to = SUSPENDED) or resumes (to = ACTIVE) one event.
func (s *Service) SetStatus(ctx context.Context, p auth.Principal, id int64, to string) (Event, error) {
	if _, err := s.authorizeEvent(ctx, p, id); err != nil {
		return Event{}, err
	}
	from := Active
	if to == Active {
		from = Suspended
	}
	var ev Event
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `
			WITH upd AS (
				UPDATE coupon_events SET status = $2, updated_at = now()
				WHERE id = $1 AND status IN ($2, $3)
				RETURNING *
			)`+strings.Replace(selectEvent, "FROM coupon_events", "FROM upd", 1), id, to, from)
		var err error
		ev, err = pgx.CollectExactlyOneRow(rows, scanEvent)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrEventEnded
		}
		if err != nil {
			return fmt.Errorf("set event %d %s: %w", id, to, err)
		}
		return changedMessage(ctx, tx, ev)
	})
	if err != nil {
		return Event{}, err
	}
	s.eventChanged(ctx, ev)
	return ev, nil
}

// SuspendStore suspends every active event of a store at once and returns
// them.
func (s *Service) SuspendStore(ctx context.Context, p auth.Principal, storeID int64) ([]Event, error) {
	if _, err := s.stores.Authorize(ctx, p, storeID); err != nil {
		return nil, err
	}
	var evs []Event
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `
			WITH upd AS (
				UPDATE coupon_events SET status = 'SUSPENDED', updated_at = now()
				WHERE store_id = $1 AND status = 'ACTIVE'
				RETURNING *
			)`+strings.Replace(selectEvent, "FROM coupon_events", "FROM upd", 1)+` ORDER BY id`, storeID)
		var err error
		evs, err = pgx.CollectRows(rows, scanEvent)
		if err != nil {
			return fmt.Errorf("suspend events of store %d: %w", storeID, err)
		}
		for _, ev := range evs {
			if err := changedMessage(ctx, tx, ev); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, ev := range evs {
		s.eventChanged(ctx, ev)
	}
	return evs, nil
}
