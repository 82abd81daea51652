package push

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/couponpop/couponpop/internal/derrors"
	"github.com/couponpop/couponpop/internal/store"
)

// Platforms a device may have.
const (
	Android = "ANDROID"
	IOS     = "IOS"
	Web     = "WEB"
)

// Device is a member's app install, reachable through its FCM token.
type Device struct {
	ID        int64     `json:"id"`
	Token     string    `json:"token"`
	Platform  string    `json:"platform"`
	DeviceID  string    `json:"device_id"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// DeviceInput is the register body.
type DeviceInput struct {
	Token    string `json:"token"`
	Platform string `json:"platform"`
	DeviceID string `json:"device_id"`
}

// Preferences are a member's notification settings.
type Preferences struct {
	// QuietHours holds promotional pushes back while it lasts; nil (the
	// default) means none.
	QuietHours *QuietHours `json:"quiet_hours"`
	// Timezone is where QuietHours are read, the member's own by default.
	Timezone string `json:"timezone"`
}

// QuietHours is a daily window of local times "HH:MM"; Start after End
// wraps midnight.
type QuietHours struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

// PreferencesInput is the PUT body; an absent quiet_hours turns them off,
// an absent timezone takes the member's.
type PreferencesInput struct {
	QuietHours *QuietHours `json:"quiet_hours"`
	Timezone   *string     `json:"timezone"`
}

// Notification is one entry of a member's push history.
type Notification struct {
	ID           int64             `json:"id"`
	Kind         string            `json:"kind"`
	Title        string            `json:"title"`
	Body         string            `json:"body"`
	Data         map[string]string `json:"data"`
	Status       string            `json:"status"`
	DeliverAfter *time.Time        `json:"deliver_after,omitempty"`
	CreatedAt    time.Time         `json:"created_at"`
	SentAt       *time.Time        `json:"sent_at,omitempty"`
}

// Errors.
var (
	ErrNoMember      = derrors.New(derrors.Forbidden, "MEMBER_REQUIRED", "only a member can do this")
	ErrStoreMissing  = derrors.New(derrors.NotFound, "STORE_NOT_FOUND", "no such store")
	errBadCursor     = derrors.Invalidf("cursor", "must be a next_cursor from a previous page")
	errTokenRequired = derrors.Invalidf("token", "is required, as ?token= or in a JSON body")
)

// StoreGetter finds a live store; *store.Service is one.
type StoreGetter interface {
	Get(ctx context.Context, id int64) (store.Store, error)
}

// Service is the member-facing side of pushes: devices, follows,
// preferences and history.
type Service struct {
	db     *pgxpool.Pool
	stores StoreGetter
}

// NewService returns the service.
func NewService(db *pgxpool.Pool, stores StoreGetter) *Service {
	return &Service{db: db, stores: stores}
}

// Validate checks a register body.
func (in *DeviceInput) Validate() error {
	in.Token = strings.TrimSpace(in.Token)
	in.DeviceID = strings.TrimSpace(in.DeviceID)
	if in.Token == "" || len(in.Token) > 4096 || strings.IndexFunc(in.Token, unicode.IsSpace) >= 0 {
		return derrors.Invalidf("token", "must be an FCM registration token (1 to 4096 characters, no spaces)")
	}
	switch in.Platform {
	case Android, IOS, Web:
	default:
		return derrors.Invalidf("platform", "must be ANDROID, IOS or WEB")
	}
	if in.DeviceID == "" || len(in.DeviceID) > 200 {
		return derrors.Invalidf("device_id", "must be 1 to 200 characters")
	}
	return nil
}

// RegisterDevice records in's token for the member. created is false when
// the member had registered this token already (the answer is then 200,
// not 201). A token registered by someone else moves to this member: the
// phone changed hands, and the old owner must stop getting its pushes. A
// new token for a device the member registered before replaces the old
// one, which FCM has retired.
func (s *Service) RegisterDevice(ctx context.Context, memberID int64, in DeviceInput) (d Device, created bool, err error) {
	if memberID <= 0 {
		return Device{}, false, ErrNoMember
	}
	if err := in.Validate(); err != nil {
		return Device{}, false, err
	}
	err = pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		var owner int64
		err := tx.QueryRow(ctx, `SELECT member_id FROM devices WHERE token = $1 FOR UPDATE`, in.Token).Scan(&owner)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("find device: %w", err)
		}
		created = owner != memberID
		if _, err := tx.Exec(ctx, `DELETE FROM devices WHERE member_id = $1 AND device_id = $2 AND token <> $3`,
			memberID, in.DeviceID, in.Token); err != nil {
			return fmt.Errorf("retire old token: %w", err)
		}
		rows, _ := tx.Query(ctx, `
			INSERT INTO devices (member_id, token, platform, device_id)
			VALUES ($1, $2, $3, $4)
			ON CONFLICT (token) DO UPDATE
			SET member_id = EXCLUDED.member_id, platform = EXCLUDED.platform,
			    device_id = EXCLUDED.device_id, updated_at = now()
			RETURNING id, token, platform, device_id, created_at, updated_at`,
			memberID, in.Token, in.Platform, in.DeviceID)
		d, err = pgx.CollectExactlyOneRow(rows, pgx.RowToStructByPos[Device])
		if err != nil {
			return fmt.Errorf("upsert device: %w", err)
		}
		return nil
	})
	return d, created, err
}

// RemoveDevice forgets one of the member's tokens; another member's token
// is left alone, and an unknown one is not an error (DELETE is idempotent).
func (s *Service) RemoveDevice(ctx context.Context, memberID int64, token string) error {
	if memberID <= 0 {
		return ErrNoMember
	}
	if _, err := s.db.Exec(ctx, `DELETE FROM devices WHERE member_id = $1 AND token = $2`, memberID, strings.TrimSpace(token)); err != nil {
		return fmt.Errorf("delete device: %w", err)
	}
	return nil
}

// RemoveMemberDevices forgets every device of a member. It is the logout
// hook (member.Service.OnLogout): a logged-out phone must not show the
// member's pushes.
func (s *Service) RemoveMemberDevices(ctx context.Context, memberID int64) error {
	if _, err := s.db.Exec(ctx, `DELETE FROM devices WHERE member_id = $1`, memberID); err != nil {
		return fmt.Errorf("delete member %d devices: %w", memberID, err)
	}
	return nil
}

// Subscribe makes the member follow a live store (idempotent).
func (s *Service) Subscribe(ctx context.Context, memberID, storeID int64) error {
	if memberID <= 0 {
		return ErrNoMember
	}
	if _, err := s.stores.Get(ctx, storeID); err != nil {
		if d, ok := derrors.As(err); ok && d.Kind == derrors.NotFound {
			return ErrStoreMissing
		}
		return err
	}
	if _, err := s.db.Exec(ctx, `
		INSERT INTO store_subscriptions (member_id, store_id) VALUES ($1, $2)
		ON CONFLICT DO NOTHING`, memberID, storeID); err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	return nil
}

// Unsubscribe stops following (idempotent).
func (s *Service) Unsubscribe(ctx context.Context, memberID, storeID int64) error {
	if memberID <= 0 {
		return ErrNoMember
	}
	if _, err := s.db.Exec(ctx, `DELETE FROM store_subscriptions WHERE member_id = $1 AND store_id = $2`, memberID, storeID); err != nil {
		return fmt.Errorf("unsubscribe: %w", err)
	}
	return nil
}

// Preferences returns the member's settings (the defaults when never set).
func (s *Service) Preferences(ctx context.Context, memberID int64) (Preferences, error) {
	if memberID <= 0 {
		return Preferences{}, ErrNoMember
	}
	var start, end *int16
	var tz string
	err := s.db.QueryRow(ctx, `
		SELECT p.quiet_start, p.quiet_end, coalesce(p.timezone, m.timezone)
		FROM members m LEFT JOIN notification_preferences p ON p.member_id = m.id
		WHERE m.id = $1`, memberID).Scan(&start, &end, &tz)
	if errors.Is(err, pgx.ErrNoRows) {
		return Preferences{}, derrors.ErrNotFound
	}
	if err != nil {
		return Preferences{}, fmt.Errorf("get preferences: %w", err)
	}
	p := Preferences{Timezone: tz}
	if start != nil && end != nil {
		p.QuietHours = &QuietHours{Start: formatClock(int(*start)), End: formatClock(int(*end))}
	}
	return p, nil
}

// SetPreferences replaces the member's settings.
func (s *Service) SetPreferences(ctx context.Context, memberID int64, in PreferencesInput) (Preferences, error) {
	if memberID <= 0 {
		return Preferences{}, ErrNoMember
	}
	var start, end *int16
	if q := in.QuietHours; q != nil {
		a, err := parseClock(q.Start)
		if err != nil {
			return Preferences{}, derrors.Invalidf("quiet_hours.start", "must be a local time HH:MM")
		}
		b, err := parseClock(q.End)
		if err != nil {
			return Preferences{}, derrors.Invalidf("quiet_hours.end", "must be a local time HH:MM")
		}
		if a == b {
			return Preferences{}, derrors.Invalidf("quiet_hours", "start and end must differ")
		}
		sa, sb := int16(a), int16(b)
		start, end = &sa, &sb
	}
	if in.Timezone != nil {
		tz := strings.TrimSpace(*in.Timezone)
		if _, err := time.LoadLocation(tz); err != nil || tz == "" || tz == "Local" {
			return Preferences{}, derrors.Invalidf("timezone", "must be an IANA time zone such as Asia/Seoul")
		}
		in.Timezone = &tz
	}
	tag, err := s.db.Exec(ctx, `
		INSERT INTO notification_preferences (member_id, quiet_start, quiet_end, timezone)
		SELECT m.id, $2, $3, coalesce($4, m.timezone) FROM members m WHERE m.id = $1
		ON CONFLICT (member_id) DO UPDATE
		SET quiet_start = EXCLUDED.quiet_start, quiet_end = EXCLUDED.quiet_end,
		    timezone = EXCLUDED.timezone, updated_at = now()`,
		memberID, start, end, in.Timezone)
	if err != nil {
		return Preferences{}, fmt.Errorf("set preferences: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return Preferences{}, derrors.ErrNotFound
	}
	return s.Preferences(ctx, memberID)
}

// Notifications returns a page of the member's history, newest first,
// after cursor (empty for the first page), and the cursor of the next page
// ("" on the last).
func (s *Service) Notifications(ctx context.Context, memberID int64, cursor string, limit int) ([]Notification, string, error) {
	if memberID <= 0 {
		return nil, "", ErrNoMember
	}
	before := int64(1<<63 - 1)
	if cursor != "" {
		id, err := strconv.ParseInt(cursor, 10, 64)
		if err != nil || id <= 0 {
			return nil, "", errBadCursor
		}
		before = id
	}
	// notifications_member_idx (member_id, id DESC) makes this a range scan
	// of exactly limit+1 index entries, however long the history.
	rows, _ := s.db.Query(ctx, `
		SELECT id, kind, title, body, data, status, deliver_after, created_at, sent_at
		FROM notifications
		WHERE member_id = $1 AND id < $2
		ORDER BY id DESC
		LIMIT $3`, memberID, before, limit+1)
	items, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Notification])
	if err != nil {
		return nil, "", fmt.Errorf("list notifications: %w", err)
	}
	next := ""
	if len(items) > limit {
		items = items[:limit]
		next = strconv.FormatInt(items[limit-1].ID, 10)
	}
	if items == nil {
		items = []Notification{}
	}
	return items, next, nil
}

// parseClock reads "HH:MM" as minutes after midnight.
func parseClock(s string) (int, error) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, err
	}
	return t.Hour()*60 + t.Minute(), nil
}

func formatClock(min int) string { return fmt.Sprintf("%02d:%02d", min/60, min%60) }
