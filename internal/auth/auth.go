// Package auth issues and verifies access tokens and turns them into the
// caller's Principal on each request.
//
// Access tokens are short-lived HS256 JWTs carrying the member id and role.
// They are verified without a database round trip; the only per-request
// lookup is the logout deny-list, one Redis EXISTS on the token id, so that
// a logged-out token stops working before it expires. Refresh tokens are
// opaque and live in the member package.
package auth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/golang-jwt/jwt/v5"

	"github.com/couponpop/couponpop/internal/derrors"
)

// Role is what a principal may do.
type Role string

// Roles. SYSTEM is never a member: it is granted to other deployables
// (workers, the batch runner) for service-to-service calls.
const (
	Customer Role = "CUSTOMER"
	Owner    Role = "OWNER"
	Admin    Role = "ADMIN"
	System   Role = "SYSTEM"
)

// Principal is the authenticated caller.
type Principal struct {
	MemberID  int64 // 0 for SYSTEM
	Role      Role
	TokenID   string
	ExpiresAt time.Time
}

// Errors.
var (
	ErrInvalidToken = derrors.New(derrors.Unauthorized, "INVALID_TOKEN", "the access token is invalid or expired")
	ErrWrongRole    = derrors.New(derrors.Forbidden, "FORBIDDEN_ROLE", "your role may not do this")
)

// DenyList records logged-out access tokens until they expire.
type DenyList interface {
	Deny(ctx context.Context, tokenID string, until time.Time) error
	Denied(ctx context.Context, tokenID string) (bool, error)
}

// Tokens signs and verifies access tokens.
type Tokens struct {
	secret   []byte
	previous []byte // accepted for verification while the secret rotates
	ttl      time.Duration
	deny     DenyList
	now      func() time.Time
}

// NewTokens returns a signer/verifier. previous may be empty; deny may be
// nil (no logout deny-list).
func NewTokens(secret, previous string, ttl time.Duration, deny DenyList) *Tokens {
	t := &Tokens{secret: []byte(secret), ttl: ttl, deny: deny, now: time.Now}
	if previous != "" {
		t.previous = []byte(previous)
	}
	return t
}

// TTL is the access-token lifetime.
func (t *Tokens) TTL() time.Duration { return t.ttl }

type claims struct {
	Role Role `json:"role"`
	jwt.RegisteredClaims
}

// Issue signs an access token for a member (or SYSTEM with memberID 0).
func (t *Tokens) Issue(memberID int64, role Role) (string, time.Time, error) {
	return t.issue(memberID, role, t.ttl)
}

// IssueSystem signs a SYSTEM token for another deployable, valid for ttl.
func (t *Tokens) IssueSystem(ttl time.Duration) (string, time.Time, error) {
	return t.issue(0, System, ttl)
}

func (t *Tokens) issue(memberID int64, role Role, ttl time.Duration) (string, time.Time, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", time.Time{}, fmt.Errorf("token id: %w", err)
	}
	now := t.now()
	exp := now.Add(ttl)
	c := claims{Role: role, RegisteredClaims: jwt.RegisteredClaims{
		Subject:   strconv.FormatInt(memberID, 10),
		ID:        base64.RawURLEncoding.EncodeToString(b[:]),
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(exp),
		Issuer:    "couponpop",
	}}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(t.secret)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("sign token: %w", err)
	}
	return s, exp, nil
}

var parser = jwt.NewParser(jwt.WithValidMethods([]string{"HS256"}), jwt.WithIssuer("couponpop"), jwt.WithExpirationRequired())

// Verify checks signature, expiry and the deny-list.
func (t *Tokens) Verify(ctx context.Context, raw string) (Principal, error) {
	var c claims
	_, err := parser.ParseWithClaims(raw, &c, func(*jwt.Token) (any, error) { return t.secret, nil })
	if err != nil && t.previous != nil && errors.Is(err, jwt.ErrTokenSignatureInvalid) {
		_, err = parser.ParseWithClaims(raw, &c, func(*jwt.Token) (any, error) { return t.previous, nil })
	}
	if err != nil {
		return Principal{}, ErrInvalidToken
	}
	id, err := strconv.ParseInt(c.Subject, 10, 64)
	if err != nil || (id <= 0) != (c.Role == System) {
		return Principal{}, ErrInvalidToken
	}
	switch c.Role {
	case Customer, Owner, Admin, System:
	default:
		return Principal{}, ErrInvalidToken
	}
	if t.deny != nil {
		denied, err := t.deny.Denied(ctx, c.ID)
		if err != nil {
			// The deny-list is a cache-like safety net; when Redis is down we
			// accept signed, unexpired tokens rather than lock everyone out.
			denied = false
		}
		if denied {
			return Principal{}, ErrInvalidToken
		}
	}
	return Principal{MemberID: id, Role: c.Role, TokenID: c.ID, ExpiresAt: c.ExpiresAt.Time}, nil
}

// Revoke puts an access token on the deny-list until it expires.
func (t *Tokens) Revoke(ctx context.Context, p Principal) error {
	if t.deny == nil || p.TokenID == "" {
		return nil
	}
	return t.deny.Deny(ctx, p.TokenID, p.ExpiresAt)
}

const principalKey = "auth.principal"

// Authenticate reads an optional bearer token. A request without one goes on
// anonymously; a bad one is a 401 (a client that sends a token expects it to
// count).
func (t *Tokens) Authenticate(onError func(*gin.Context, error)) gin.HandlerFunc {
	return func(c *gin.Context) {
		h := c.GetHeader("Authorization")
		if h == "" {
			c.Next()
			return
		}
		raw, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			onError(c, ErrInvalidToken.WithDetail("the Authorization header must be `Bearer <token>`"))
			return
		}
		p, err := t.Verify(c.Request.Context(), strings.TrimSpace(raw))
		if err != nil {
			onError(c, err)
			return
		}
		c.Set(principalKey, p)
		c.Next()
	}
}

// From returns the caller, if authenticated.
func From(c *gin.Context) (Principal, bool) {
	v, ok := c.Get(principalKey)
	if !ok {
		return Principal{}, false
	}
	p, ok := v.(Principal)
	return p, ok
}

// Require returns the caller if authenticated with one of roles (any role
// when none are given). SYSTEM passes every role check.
func Require(c *gin.Context, roles ...Role) (Principal, error) {
	p, ok := From(c)
	if !ok {
		return Principal{}, derrors.ErrUnauthenticated
	}
	if len(roles) == 0 || p.Role == System {
		return p, nil
	}
	for _, r := range roles {
		if p.Role == r {
			return p, nil
		}
	}
	return Principal{}, ErrWrongRole.WithDetail("this requires the role %s", joinRoles(roles))
}

func joinRoles(roles []Role) string {
	s := make([]string, len(roles))
	for i, r := range roles {
		s[i] = string(r)
	}
	return strings.Join(s, " or ")
}
