// Package store owns merchants' stores: create, read, update, soft delete,
// with the location kept as a PostGIS geography through go-geom.
package store

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/couponpop/couponpop/internal/auth"
	"github.com/couponpop/couponpop/internal/derrors"
	"github.com/couponpop/couponpop/internal/geo"
	"github.com/couponpop/couponpop/internal/outbox"
)

// Categories a store may have.
var Categories = []string{"CAFE", "FOOD", "BAKERY", "BAR", "CONVENIENCE", "BEAUTY", "FASHION", "ENTERTAINMENT", "ETC"}

// DefaultTimezone is where CouponPop started.
const DefaultTimezone = "Asia/Seoul"

// Store is a merchant's shop.
type Store struct {
	ID          int64     `json:"id"`
	OwnerID     int64     `json:"owner_id"`
	Name        string    `json:"name"`
	Category    string    `json:"category"`
	Description string    `json:"description"`
	Address     string    `json:"address"`
	Phone       *string   `json:"phone,omitempty"`
	Timezone    string    `json:"timezone"`
	Lat         float64   `json:"lat"`
	Lng         float64   `json:"lng"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Point is the store's location.
func (s Store) Point() geo.Point { return geo.Point{Lat: s.Lat, Lng: s.Lng} }

// Input is the create body and, with every field optional, the PATCH body.
type Input struct {
	Name        *string  `json:"name"`
	Category    *string  `json:"category"`
	Description *string  `json:"description"`
	Address     *string  `json:"address"`
	Phone       *string  `json:"phone"`
	Timezone    *string  `json:"timezone"`
	Lat         *float64 `json:"lat"`
	Lng         *float64 `json:"lng"`
}

// Errors.
var (
	ErrNotOwner = derrors.New(derrors.Forbidden, "NOT_STORE_OWNER", "only the owner of this store may do this")
	ErrNotFound = derrors.New(derrors.NotFound, "STORE_NOT_FOUND", "no such store")
)

var phoneRE = regexp.MustCompile(`^\+?[0-9][0-9 -]{5,19}$`)

// validate checks the fields that are present; create requires the
// mandatory ones.
func (in *Input) validate(create bool) error {
	trim := func(p *string) {
		if p != nil {
			*p = strings.TrimSpace(*p)
		}
	}
	trim(in.Name)
	trim(in.Description)
	trim(in.Address)
	trim(in.Phone)
	trim(in.Timezone)
	if create && (in.Name == nil || in.Category == nil) {
		if in.Name == nil {
			return derrors.Invalidf("name", "is required")
		}
		return derrors.Invalidf("category", "is required")
	}
	if in.Name != nil && (*in.Name == "" || utf8.RuneCountInString(*in.Name) > 100) {
		return derrors.Invalidf("name", "must be 1 to 100 characters")
	}
	if in.Category != nil && !ValidCategory(*in.Category) {
		return derrors.Invalidf("category", "must be one of %s", strings.Join(Categories, ", "))
	}
	if in.Description != nil && utf8.RuneCountInString(*in.Description) > 2000 {
		return derrors.Invalidf("description", "must be at most 2000 characters")
	}
	if in.Address != nil && utf8.RuneCountInString(*in.Address) > 200 {
		return derrors.Invalidf("address", "must be at most 200 characters")
	}
	if in.Phone != nil && *in.Phone != "" && !phoneRE.MatchString(*in.Phone) {
		return derrors.Invalidf("phone", "must be a phone number of digits, spaces and dashes")
	}
	if in.Timezone != nil {
		if _, err := time.LoadLocation(*in.Timezone); err != nil || *in.Timezone == "" || *in.Timezone == "Local" {
			return derrors.Invalidf("timezone", "must be an IANA time zone such as Asia/Seoul")
		}
	}
	if create || in.Lat != nil || in.Lng != nil {
		if _, err := geo.PointPtr(in.Lat, in.Lng); err != nil {
			return err
		}
	}
	return nil
}

// ValidCategory reports whether c is a store category.
func ValidCategory(c string) bool {
	for _, k := range Categories {
		if c == k {
			return true
		}
	}
	return false
}

// Listener hears about store changes after they commit (the Redis GEO
// index, search). Errors are logged by the caller, not returned to clients:
// PostgreSQL is the truth and listeners can rebuild from it.
type Listener interface {
	StoreChanged(ctx context.Context, s Store) error
	StoreDeleted(ctx context.Context, id int64) error
}

// Service is the store domain.
type Service struct {
	db        *pgxpool.Pool
	listeners []Listener
	onErr     func(ctx context.Context, what string, err error)
}

// NewService returns the store service. onErr receives listener failures.
func NewService(db *pgxpool.Pool, onErr func(ctx context.Context, what string, err error), listeners ...Listener) *Service {
	return &Service{db: db, listeners: listeners, onErr: onErr}
}

// AddListener registers a listener (wiring happens in main).
func (s *Service) AddListener(l Listener) { s.listeners = append(s.listeners, l) }

const selectStore = `
	SELECT id, owner_id, name, category, description, address, phone, timezone,
	       ST_AsEWKB(location::geometry), created_at, updated_at
	FROM stores`

func scanStore(row pgx.CollectableRow) (Store, error) {
	var s Store
	var wkb []byte
	if err := row.Scan(&s.ID, &s.OwnerID, &s.Name, &s.Category, &s.Description, &s.Address, &s.Phone,
		&s.Timezone, &wkb, &s.CreatedAt, &s.UpdatedAt); err != nil {
		return Store{}, err
	}
	p, err := geo.PointFromEWKB(wkb)
	if err != nil {
		return Store{}, err
	}
	s.Lat, s.Lng = p.Lat, p.Lng
	return s, nil
}

// Create adds a store owned by the caller.
func (s *Service) Create(ctx context.Context, p auth.Principal, in Input) (Store, error) {
	if p.Role != auth.Owner && p.Role != auth.Admin {
		return Store{}, auth.ErrWrongRole.WithDetail("only store owners may create stores")
	}
	if err := in.validate(true); err != nil {
		return Store{}, err
	}
	pt, _ := geo.PointPtr(in.Lat, in.Lng)
	tz := DefaultTimezone
	if in.Timezone != nil {
		tz = *in.Timezone
	}
	var st Store
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `
		WITH ins AS (
			INSERT INTO stores (owner_id, name, category, description, address, phone, timezone, location)
			VALUES ($1, $2, $3, $4, $5, $6, $7, ST_GeomFromEWKB($8)::geography)
			RETURNING *
		)`+strings.Replace(selectStore, "FROM stores", "FROM ins", 1),
			p.MemberID, *in.Name, *in.Category, deref(in.Description), deref(in.Address), emptyNil(in.Phone), tz, pt.EWKB())
		var err error
		if st, err = pgx.CollectExactlyOneRow(rows, scanStore); err != nil {
			return fmt.Errorf("insert store: %w", err)
		}
		return storeMessage(ctx, tx, outbox.StoreChanged, st.ID, st.UpdatedAt)
	})
	if err != nil {
		return Store{}, err
	}
	s.changed(ctx, st)
	return st, nil
}

// Get returns a live store.
func (s *Service) Get(ctx context.Context, id int64) (Store, error) {
	rows, _ := s.db.Query(ctx, selectStore+` WHERE id = $1 AND deleted_at IS NULL`, id)
	st, err := pgx.CollectExactlyOneRow(rows, scanStore)
	if errors.Is(err, pgx.ErrNoRows) {
		return Store{}, ErrNotFound
	}
	if err != nil {
		return Store{}, fmt.Errorf("get store %d: %w", id, err)
	}
	return st, nil
}

// ListOwned returns the caller's live stores, oldest first.
func (s *Service) ListOwned(ctx context.Context, ownerID int64) ([]Store, error) {
	rows, _ := s.db.Query(ctx, selectStore+` WHERE owner_id = $1 AND deleted_at IS NULL ORDER BY id`, ownerID)
	st, err := pgx.CollectRows(rows, scanStore)
	if err != nil {
		return nil, fmt.Errorf("list stores of %d: %w", ownerID, err)
	}
	return st, nil
}

// Authorize returns the store if p may change it: its owner, or an admin.
// Other owners and customers get 403; a missing store 404.
func (s *Service) Authorize(ctx context.Context, p auth.Principal, id int64) (Store, error) {
	st, err := s.Get(ctx, id)
	if err != nil {
		return Store{}, err
	}
	if p.Role == auth.Admin || p.Role == auth.System || (p.Role == auth.Owner && st.OwnerID == p.MemberID) {
		return st, nil
	}
	return Store{}, ErrNotOwner
}

// Update applies a PATCH.
func (s *Service) Update(ctx context.Context, p auth.Principal, id int64, in Input) (Store, error) {
	if err := in.validate(false); err != nil {
		return Store{}, err
	}
	if _, err := s.Authorize(ctx, p, id); err != nil {
		return Store{}, err
	}
	var wkb []byte
	if in.Lat != nil {
		pt, _ := geo.PointPtr(in.Lat, in.Lng)
		wkb = pt.EWKB()
	}
	var st Store
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `
		WITH upd AS (
			UPDATE stores SET
				name        = coalesce($2, name),
				category    = coalesce($3, category),
				description = coalesce($4, description),
				address     = coalesce($5, address),
				phone       = CASE WHEN $6::text IS NULL THEN phone ELSE nullif($6, '') END,
				timezone    = coalesce($7, timezone),
				location    = coalesce(ST_GeomFromEWKB($8)::geography, location),
				updated_at  = now()
			WHERE id = $1 AND deleted_at IS NULL
			RETURNING *
		)`+strings.Replace(selectStore, "FROM stores", "FROM upd", 1),
			id, in.Name, in.Category, in.Description, in.Address, in.Phone, in.Timezone, wkb)
		var err error
		st, err = pgx.CollectExactlyOneRow(rows, scanStore)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("update store %d: %w", id, err)
		}
		return storeMessage(ctx, tx, outbox.StoreChanged, st.ID, st.UpdatedAt)
	})
	if err != nil {
		return Store{}, err
	}
	s.changed(ctx, st)
	return st, nil
}

// Delete soft-deletes a store; its coupons stay for their holders.
func (s *Service) Delete(ctx context.Context, p auth.Principal, id int64) error {
	if _, err := s.Authorize(ctx, p, id); err != nil {
		return err
	}
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		var at time.Time
		err := tx.QueryRow(ctx, `UPDATE stores SET deleted_at = now(), updated_at = now()
			WHERE id = $1 AND deleted_at IS NULL RETURNING updated_at`, id).Scan(&at)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("delete store %d: %w", id, err)
		}
		return storeMessage(ctx, tx, outbox.StoreDeleted, id, at)
	})
	if err != nil {
		return err
	}
	for _, l := range s.listeners {
		if err := l.StoreDeleted(ctx, id); err != nil {
			s.onErr(ctx, "store deleted listener", err)
		}
	}
	return nil
}

// storeMessage tells search (and anyone else) about a store change in the
// change's own transaction; the trace id carries the change's time because
// every edit is news.
func storeMessage(ctx context.Context, tx pgx.Tx, kind string, id int64, at time.Time) error {
	return outbox.Add(ctx, tx, outbox.Message{
		Kind:    kind,
		TraceID: fmt.Sprintf("%s:%d", outbox.TraceID(kind, id), at.UnixMicro()),
		Payload: map[string]any{"store_id": id},
	})
}

func (s *Service) changed(ctx context.Context, st Store) {
	for _, l := range s.listeners {
		if err := l.StoreChanged(ctx, st); err != nil {
			s.onErr(ctx, "store changed listener", err)
		}
	}
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func emptyNil(p *string) *string {
	if p == nil || *p == "" {
		return nil
	}
	return p
}
