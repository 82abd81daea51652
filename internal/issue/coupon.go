package issue

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/couponpop/couponpop/internal/auth"
	"github.com/couponpop/couponpop/internal/derrors"
	"github.com/couponpop/couponpop/internal/outbox"
)

// Coupon statuses.
const (
	Issued   = "ISSUED"
	Used     = "USED"
	Expired  = "EXPIRED"
	Canceled = "CANCELED"
)

// Coupon is one issued coupon.
type Coupon struct {
	ID        int64      `json:"id"`
	EventID   int64      `json:"event_id"`
	StoreID   int64      `json:"store_id"`
	MemberID  int64      `json:"-"`
	Code      string     `json:"code"`
	Status    string     `json:"status"`
	IssuedAt  time.Time  `json:"issued_at"`
	UsedAt    *time.Time `json:"used_at,omitempty"`
	ExpiresAt time.Time  `json:"expires_at"`
}

// Coupon errors.
var (
	ErrCouponNotFound    = derrors.New(derrors.NotFound, "COUPON_NOT_FOUND", "no such coupon")
	ErrCouponUsed        = derrors.New(derrors.Conflict, "COUPON_ALREADY_USED", "this coupon has already been used")
	ErrCouponExpired     = derrors.New(derrors.Conflict, "COUPON_EXPIRED", "this coupon has expired")
	ErrCouponCanceled    = derrors.New(derrors.Conflict, "COUPON_CANCELED", "this coupon was canceled")
	ErrCouponNotUsed     = derrors.New(derrors.Conflict, "COUPON_NOT_USED", "this coupon has not been used")
	ErrNotStoreOwner     = derrors.New(derrors.Forbidden, "NOT_STORE_OWNER", "only the owner of the coupon's store may do this")
	ErrQRInvalid         = derrors.New(derrors.NotFound, "QR_TOKEN_INVALID", "the QR token is unknown, used or expired")
	ErrRedeemInput       = derrors.Invalidf("code", "give exactly one of code or qr_token")
	ErrBadCursor         = derrors.Invalidf("cursor", "is not a cursor this API returned")
	errBadStatusFilter   = derrors.Invalidf("status", "must be ISSUED, USED, EXPIRED or CANCELED")
	qrTTL                = 10 * time.Minute
	codeAlphabet         = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	couponColumns        = `id, event_id, store_id, member_id, code, status, issued_at, used_at, expires_at`
	maxCodeRejectRetries = 8
)

func scanCoupon(row pgx.CollectableRow) (Coupon, error) {
	var c Coupon
	err := row.Scan(&c.ID, &c.EventID, &c.StoreID, &c.MemberID, &c.Code, &c.Status, &c.IssuedAt, &c.UsedAt, &c.ExpiresAt)
	return c, err
}

// newCode returns 16 characters of A–Z0–9 from crypto/rand. Bytes of 252 and
// above are rejected so that every character is equally likely (252 = 7×36).
func newCode() (string, error) {
	var out [16]byte
	var buf [32]byte
	n := 0
	for try := 0; n < len(out) && try < maxCodeRejectRetries; try++ {
		if _, err := rand.Read(buf[:]); err != nil {
			return "", fmt.Errorf("coupon code: %w", err)
		}
		for _, b := range buf {
			if b < 252 && n < len(out) {
				out[n] = codeAlphabet[b%36]
				n++
			}
		}
	}
	if n < len(out) {
		return "", errors.New("coupon code: random source rejected too often")
	}
	return string(out[:]), nil
}

// Page is a list page.
type Page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// ListMine returns the member's coupons newest first, keyset-paged by id
// (coupons_member_idx serves it without a sort).
func (s *Service) ListMine(ctx context.Context, memberID int64, status, cursor string, limit int) (Page[Coupon], error) {
	if status != "" && status != Issued && status != Used && status != Expired && status != Canceled {
		return Page[Coupon]{}, errBadStatusFilter
	}
	before := int64(1<<63 - 1)
	if cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(cursor)
		v, err2 := strconv.ParseInt(string(b), 10, 64)
		if err != nil || err2 != nil || v <= 0 {
			return Page[Coupon]{}, ErrBadCursor
		}
		before = v
	}
	rows, _ := s.db.Query(ctx, `SELECT `+couponColumns+` FROM coupons
		WHERE member_id = $1 AND id < $2 AND ($3 = '' OR status = $3)
		ORDER BY id DESC LIMIT $4`, memberID, before, status, limit+1)
	items, err := pgx.CollectRows(rows, scanCoupon)
	if err != nil {
		return Page[Coupon]{}, fmt.Errorf("list coupons of %d: %w", memberID, err)
	}
	p := Page[Coupon]{Items: items}
	if len(items) > limit {
		p.Items = items[:limit]
		p.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(items[limit-1].ID, 10)))
	}
	return p, nil
}

// GetMine returns one of the member's coupons; anyone else's is 404.
func (s *Service) GetMine(ctx context.Context, memberID, id int64) (Coupon, error) {
	rows, _ := s.db.Query(ctx, `SELECT `+couponColumns+` FROM coupons WHERE id = $1 AND member_id = $2`, id, memberID)
	c, err := pgx.CollectExactlyOneRow(rows, scanCoupon)
	if errors.Is(err, pgx.ErrNoRows) {
		return Coupon{}, ErrCouponNotFound
	}
	if err != nil {
		return Coupon{}, fmt.Errorf("get coupon %d: %w", id, err)
	}
	return c, nil
}

// QR is a one-time token the store scans instead of typing the code.
type QR struct {
	QRToken   string    `json:"qr_token"`
	ExpiresAt time.Time `json:"expires_at"`
}

func qrKey(token string) string { return "issue:qr:" + token }

// NewQR gives the holder of a usable coupon a token valid ten minutes.
func (s *Service) NewQR(ctx context.Context, memberID, couponID int64) (QR, error) {
	c, err := s.GetMine(ctx, memberID, couponID)
	if err != nil {
		return QR{}, err
	}
	if err := usable(c, s.now()); err != nil {
		return QR{}, err
	}
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return QR{}, fmt.Errorf("qr token: %w", err)
	}
	tok := base64.RawURLEncoding.EncodeToString(b[:])
	if err := s.rdb.Set(ctx, qrKey(tok), c.ID, qrTTL).Err(); err != nil {
		return QR{}, fmt.Errorf("store qr token: %w", err)
	}
	return QR{QRToken: tok, ExpiresAt: s.now().Add(qrTTL)}, nil
}

func usable(c Coupon, now time.Time) error {
	switch {
	case c.Status == Used:
		return ErrCouponUsed
	case c.Status == Canceled:
		return ErrCouponCanceled
	case c.Status == Expired || !now.Before(c.ExpiresAt):
		return ErrCouponExpired
	}
	return nil
}

// Redeem marks a coupon USED, by its code or a QR token, for the owner of
// its store. Of two concurrent redeems exactly one wins: the UPDATE is
// conditional on status = 'ISSUED' and PostgreSQL serializes the row.
func (s *Service) Redeem(ctx context.Context, p auth.Principal, code, qrToken string) (Coupon, error) {
	code = strings.ToUpper(strings.TrimSpace(code))
	if (code == "") == (qrToken == "") {
		return Coupon{}, ErrRedeemInput
	}
	var where string
	var arg any
	if qrToken != "" {
		// GETDEL consumes the token atomically: a second scan finds nothing.
		id, err := s.rdb.GetDel(ctx, qrKey(qrToken)).Int64()
		if errors.Is(err, redis.Nil) {
			return Coupon{}, ErrQRInvalid
		}
		if err != nil {
			return Coupon{}, fmt.Errorf("consume qr token: %w", err)
		}
		where, arg = "id = $1", id
	} else {
		if len(code) != 16 {
			return Coupon{}, ErrCouponNotFound
		}
		where, arg = "code = $1", code
	}
	var c Coupon
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `SELECT `+couponColumns+` FROM coupons WHERE `+where+` FOR UPDATE`, arg)
		var err error
		c, err = pgx.CollectExactlyOneRow(rows, scanCoupon)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrCouponNotFound
		}
		if err != nil {
			return fmt.Errorf("find coupon: %w", err)
		}
		if err := s.ownsStore(ctx, p, c.StoreID); err != nil {
			return err
		}
		if err := usable(c, s.now()); err != nil {
			return err
		}
		err = tx.QueryRow(ctx, `
			UPDATE coupons SET status = 'USED', used_at = now(), updated_at = now()
			WHERE id = $1 RETURNING status, used_at`, c.ID).Scan(&c.Status, &c.UsedAt)
		if err != nil {
			return fmt.Errorf("redeem coupon %d: %w", c.ID, err)
		}
		if _, err := tx.Exec(ctx, `UPDATE coupon_events SET used_count = used_count + 1 WHERE id = $1`, c.EventID); err != nil {
			return fmt.Errorf("count use: %w", err)
		}
		return outbox.Add(ctx, tx, couponMessage(outbox.CouponUsed, c, *c.UsedAt))
	})
	return c, err
}

// CancelUse puts a USED coupon back to ISSUED while it is still valid.
func (s *Service) CancelUse(ctx context.Context, p auth.Principal, id int64) (Coupon, error) {
	var c Coupon
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `SELECT `+couponColumns+` FROM coupons WHERE id = $1 FOR UPDATE`, id)
		var err error
		c, err = pgx.CollectExactlyOneRow(rows, scanCoupon)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrCouponNotFound
		}
		if err != nil {
			return fmt.Errorf("find coupon %d: %w", id, err)
		}
		if err := s.ownsStore(ctx, p, c.StoreID); err != nil {
			return err
		}
		switch {
		case !s.now().Before(c.ExpiresAt) || c.Status == Expired:
			return ErrCouponExpired
		case c.Status != Used:
			return ErrCouponNotUsed
		}
		if _, err := tx.Exec(ctx, `UPDATE coupons SET status = 'ISSUED', used_at = NULL, updated_at = now() WHERE id = $1`, id); err != nil {
			return fmt.Errorf("cancel use of %d: %w", id, err)
		}
		if _, err := tx.Exec(ctx, `UPDATE coupon_events SET used_count = used_count - 1 WHERE id = $1`, c.EventID); err != nil {
			return fmt.Errorf("uncount use: %w", err)
		}
		c.Status, c.UsedAt = Issued, nil
		return outbox.Add(ctx, tx, couponMessage(outbox.CouponUnused, c, s.now()))
	})
	return c, err
}

// couponMessage is the outbox news of a redeem or cancel-use. A coupon may
// be used, un-used and used again, and each is news: the trace id carries
// the time of the change.
func couponMessage(kind string, c Coupon, at time.Time) outbox.Message {
	trace := outbox.TraceID(kind, c.ID) + ":" + strconv.FormatInt(at.UnixMicro(), 10)
	return outbox.Message{Kind: kind, TraceID: trace, Payload: map[string]any{
		"coupon_id": c.ID, "event_id": c.EventID, "store_id": c.StoreID, "member_id": c.MemberID,
	}}
}

func (s *Service) ownsStore(ctx context.Context, p auth.Principal, storeID int64) error {
	if p.Role != auth.Owner && p.Role != auth.Admin && p.Role != auth.System {
		return ErrNotStoreOwner
	}
	if _, err := s.stores.Authorize(ctx, p, storeID); err != nil {
		if d, ok := derrors.As(err); ok && (d.Kind == derrors.Forbidden || d.Kind == derrors.NotFound) {
			return ErrNotStoreOwner
		}
		return err
	}
	return nil
}
