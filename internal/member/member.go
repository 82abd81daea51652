// Package member owns accounts and sessions: signup, login, refresh-token
// rotation with reuse detection, logout and the caller's profile.
package member

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/crypto/bcrypt"

	"github.com/couponpop/couponpop/internal/auth"
	"github.com/couponpop/couponpop/internal/derrors"
	"github.com/couponpop/couponpop/internal/postgres"
)

// Member is an account.
type Member struct {
	ID        int64     `json:"id"`
	Email     string    `json:"email"`
	Nickname  string    `json:"nickname"`
	Role      auth.Role `json:"role"`
	Timezone  string    `json:"timezone"`
	CreatedAt time.Time `json:"created_at"`
}

// Tokens is a login or refresh answer.
type Tokens struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
}

// SignupInput is the signup body.
type SignupInput struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	Nickname string `json:"nickname"`
	Role     string `json:"role"`
}

// Errors.
var (
	ErrEmailTaken         = derrors.New(derrors.Conflict, "EMAIL_TAKEN", "an account with this email already exists")
	ErrBadCredentials     = derrors.New(derrors.Unauthorized, "INVALID_CREDENTIALS", "email or password is wrong")
	ErrRefreshInvalid     = derrors.New(derrors.Unauthorized, "INVALID_REFRESH_TOKEN", "the refresh token is invalid, expired or revoked")
	ErrRefreshReused      = derrors.New(derrors.Unauthorized, "REFRESH_TOKEN_REUSED", "this refresh token was already used; every session it started has been revoked")
	ErrRoleNotAssignable  = derrors.Invalidf("role", "must be CUSTOMER or OWNER")
	errMemberGone         = derrors.New(derrors.Unauthorized, "MEMBER_GONE", "the account no longer exists")
	bcryptCost            = bcrypt.DefaultCost
	dummyHash, _          = bcrypt.GenerateFromPassword([]byte("not-a-password-1"), bcryptCost)
	emailMaxLen, nickMax  = 254, 40
	passwordMin, passwMax = 8, 72 // bcrypt reads at most 72 bytes
)

// Service is the member domain.
type Service struct {
	db         *pgxpool.Pool
	tokens     *auth.Tokens
	refreshTTL time.Duration
	now        func() time.Time
	// OnLogout is called after a member logs out (push removes their
	// devices); nil means nothing to do.
	OnLogout func(ctx context.Context, memberID int64) error
}

// NewService returns the member service.
func NewService(db *pgxpool.Pool, tokens *auth.Tokens, refreshTTL time.Duration) *Service {
	return &Service{db: db, tokens: tokens, refreshTTL: refreshTTL, now: time.Now}
}

// Validate checks a signup and normalizes it (lower-cased email, trimmed
// nickname).
func (in *SignupInput) Validate() error {
	in.Email = strings.ToLower(strings.TrimSpace(in.Email))
	in.Nickname = strings.TrimSpace(in.Nickname)
	if a, err := mail.ParseAddress(in.Email); err != nil || a.Address != in.Email || len(in.Email) > emailMaxLen || !strings.Contains(in.Email, ".") {
		return derrors.Invalidf("email", "must be a valid email address")
	}
	if err := checkPassword(in.Password); err != nil {
		return err
	}
	if n := len([]rune(in.Nickname)); n < 1 || n > nickMax {
		return derrors.Invalidf("nickname", "must be 1 to %d characters", nickMax)
	}
	if in.Role == "" {
		in.Role = string(auth.Customer)
	}
	if in.Role != string(auth.Customer) && in.Role != string(auth.Owner) {
		return ErrRoleNotAssignable
	}
	return nil
}

func checkPassword(p string) error {
	if len(p) < passwordMin || len(p) > passwMax {
		return derrors.Invalidf("password", "must be %d to %d characters", passwordMin, passwMax)
	}
	var letter, digit bool
	for _, r := range p {
		letter = letter || unicode.IsLetter(r)
		digit = digit || unicode.IsDigit(r)
	}
	if !letter || !digit {
		return derrors.Invalidf("password", "must contain letters and digits")
	}
	return nil
}

// Signup creates an account.
func (s *Service) Signup(ctx context.Context, in SignupInput) (Member, error) {
	if err := in.Validate(); err != nil {
		return Member{}, err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(in.Password), bcryptCost)
	if err != nil {
		return Member{}, fmt.Errorf("hash password: %w", err)
	}
	rows, _ := s.db.Query(ctx, `
		INSERT INTO members (email, password_hash, nickname, role)
		VALUES ($1, $2, $3, $4)
		RETURNING id, email, nickname, role, timezone, created_at`,
		in.Email, string(hash), in.Nickname, in.Role)
	m, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByPos[Member])
	if postgres.IsViolation(err, postgres.UniqueViolation, "members_email_key") {
		return Member{}, ErrEmailTaken
	}
	if err != nil {
		return Member{}, fmt.Errorf("insert member: %w", err)
	}
	return m, nil
}

// Get returns a member by id.
func (s *Service) Get(ctx context.Context, id int64) (Member, error) {
	rows, _ := s.db.Query(ctx, `SELECT id, email, nickname, role, timezone, created_at FROM members WHERE id = $1`, id)
	m, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByPos[Member])
	if errors.Is(err, pgx.ErrNoRows) {
		return Member{}, derrors.ErrNotFound
	}
	if err != nil {
		return Member{}, fmt.Errorf("get member %d: %w", id, err)
	}
	return m, nil
}

// Login checks the password and starts a new refresh-token family.
func (s *Service) Login(ctx context.Context, email, password string) (Tokens, error) {
	var id int64
	var role auth.Role
	var hash string
	err := s.db.QueryRow(ctx, `SELECT id, role, password_hash FROM members WHERE email = $1`,
		strings.ToLower(strings.TrimSpace(email))).Scan(&id, &role, &hash)
	if errors.Is(err, pgx.ErrNoRows) {
		// Spend the same time as a real check so response timing does not
		// tell which emails have accounts.
		_ = bcrypt.CompareHashAndPassword(dummyHash, []byte(password))
		return Tokens{}, ErrBadCredentials
	}
	if err != nil {
		return Tokens{}, fmt.Errorf("find member: %w", err)
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) != nil {
		return Tokens{}, ErrBadCredentials
	}
	var tokens Tokens
	err = pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		var family int64
		if err := tx.QueryRow(ctx, `SELECT nextval('refresh_token_family_seq')`).Scan(&family); err != nil {
			return fmt.Errorf("new family: %w", err)
		}
		var err error
		tokens, err = s.issue(ctx, tx, id, role, family)
		return err
	})
	return tokens, err
}

// Refresh spends a refresh token and returns a new pair. A token that was
// already spent was stolen or replayed: its whole family is revoked, so the
// thief's and the victim's sessions both end and the victim logs in again.
func (s *Service) Refresh(ctx context.Context, raw string) (Tokens, error) {
	var tokens Tokens
	var reused bool
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		var id, memberID, family int64
		var role auth.Role
		var expires time.Time
		var spent, revoked *time.Time
		err := tx.QueryRow(ctx, `
			SELECT t.id, t.member_id, t.family_id, m.role, t.expires_at, t.spent_at, t.revoked_at
			FROM refresh_tokens t JOIN members m ON m.id = t.member_id
			WHERE t.token_hash = $1
			FOR UPDATE OF t`, hashToken(raw)).Scan(&id, &memberID, &family, &role, &expires, &spent, &revoked)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrRefreshInvalid
		}
		if err != nil {
			return fmt.Errorf("find refresh token: %w", err)
		}
		switch {
		case revoked != nil:
			return ErrRefreshInvalid
		case spent != nil:
			reused = true
			_, err := tx.Exec(ctx, `UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL`, family)
			return err // commit the revocation, then answer REUSED
		case !expires.After(s.now()):
			return ErrRefreshInvalid
		}
		if _, err := tx.Exec(ctx, `UPDATE refresh_tokens SET spent_at = now() WHERE id = $1`, id); err != nil {
			return fmt.Errorf("spend refresh token: %w", err)
		}
		tokens, err = s.issue(ctx, tx, memberID, role, family)
		return err
	})
	if err != nil {
		return Tokens{}, err
	}
	if reused {
		return Tokens{}, ErrRefreshReused
	}
	return tokens, nil
}

// Logout revokes the refresh-token family of raw (when given and the
// caller's), and puts the caller's access token on the deny-list.
func (s *Service) Logout(ctx context.Context, p auth.Principal, raw string) error {
	if raw != "" {
		if _, err := s.db.Exec(ctx, `
			UPDATE refresh_tokens SET revoked_at = now()
			WHERE family_id = (SELECT family_id FROM refresh_tokens WHERE token_hash = $1 AND member_id = $2)
			  AND revoked_at IS NULL`, hashToken(raw), p.MemberID); err != nil {
			return fmt.Errorf("revoke refresh tokens: %w", err)
		}
	}
	if err := s.tokens.Revoke(ctx, p); err != nil {
		return fmt.Errorf("deny access token: %w", err)
	}
	if s.OnLogout != nil {
		if err := s.OnLogout(ctx, p.MemberID); err != nil {
			return fmt.Errorf("after logout: %w", err)
		}
	}
	return nil
}

func (s *Service) issue(ctx context.Context, tx pgx.Tx, memberID int64, role auth.Role, family int64) (Tokens, error) {
	access, _, err := s.tokens.Issue(memberID, role)
	if err != nil {
		return Tokens{}, err
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return Tokens{}, fmt.Errorf("refresh token: %w", err)
	}
	refresh := base64.RawURLEncoding.EncodeToString(b[:])
	if _, err := tx.Exec(ctx, `
		INSERT INTO refresh_tokens (member_id, family_id, token_hash, expires_at)
		VALUES ($1, $2, $3, $4)`, memberID, family, hashToken(refresh), s.now().Add(s.refreshTTL)); err != nil {
		return Tokens{}, fmt.Errorf("store refresh token: %w", err)
	}
	return Tokens{AccessToken: access, RefreshToken: refresh, TokenType: "Bearer", ExpiresIn: int(s.tokens.TTL().Seconds())}, nil
}

// Refresh tokens are 256 random bits, so a fast hash is enough: there is
// nothing to brute-force, and the lookup must be by exact hash.
func hashToken(raw string) []byte {
	h := sha256.Sum256([]byte(raw))
	return h[:]
}
