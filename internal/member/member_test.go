package member_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/couponpop/couponpop/internal/auth"
	"github.com/couponpop/couponpop/internal/member"
)

func TestSignupValidation(t *testing.T) {
	e := newEnv(t)
	body := func(email, password, nickname, role string) string {
		return fmt.Sprintf(`{"email":%q,"password":%q,"nickname":%q,"role":%q}`, email, password, nickname, role)
	}
	tests := []struct {
		name      string
		body      string
		wantField string // the field VALIDATION_FAILED names
		wantCode  string // when not VALIDATION_FAILED
	}{
		{name: "empty email", body: body("", "abcd1234", "kim", ""), wantField: "email"},
		{name: "no at sign", body: body("kim.example.com", "abcd1234", "kim", ""), wantField: "email"},
		{name: "no dot in domain", body: body("kim@localhost", "abcd1234", "kim", ""), wantField: "email"},
		{name: "two at signs", body: body("kim@@example.com", "abcd1234", "kim", ""), wantField: "email"},
		{name: "display name form", body: body("Kim <kim@example.com>", "abcd1234", "kim", ""), wantField: "email"},
		{name: "space inside", body: body("k im@example.com", "abcd1234", "kim", ""), wantField: "email"},
		{name: "too long", body: body(strings.Repeat("a", 250)+"@example.com", "abcd1234", "kim", ""), wantField: "email"},
		{name: "password 7 chars", body: body("a@example.com", "abcd123", "kim", ""), wantField: "password"},
		{name: "password letters only", body: body("a@example.com", "abcdefghij", "kim", ""), wantField: "password"},
		{name: "password digits only", body: body("a@example.com", "1234567890", "kim", ""), wantField: "password"},
		{name: "password over 72 bytes", body: body("a@example.com", strings.Repeat("a1", 37), "kim", ""), wantField: "password"},
		{name: "password empty", body: body("a@example.com", "", "kim", ""), wantField: "password"},
		{name: "nickname empty", body: body("a@example.com", "abcd1234", "", ""), wantField: "nickname"},
		{name: "nickname blank", body: body("a@example.com", "abcd1234", "   ", ""), wantField: "nickname"},
		{name: "nickname 41 runes", body: body("a@example.com", "abcd1234", strings.Repeat("김", 41), ""), wantField: "nickname"},
		{name: "role ADMIN is not self-assignable", body: body("a@example.com", "abcd1234", "kim", "ADMIN"), wantField: "role"},
		{name: "role SYSTEM", body: body("a@example.com", "abcd1234", "kim", "SYSTEM"), wantField: "role"},
		{name: "role lower case", body: body("a@example.com", "abcd1234", "kim", "owner"), wantField: "role"},
		{name: "unknown field", body: `{"email":"a@example.com","password":"abcd1234","nickname":"kim","is_admin":true}`, wantField: "is_admin"},
		{name: "role wrong type", body: `{"email":"a@example.com","password":"abcd1234","nickname":"kim","role":1}`, wantField: "role"},
		{name: "empty body", body: ``, wantCode: "MALFORMED_JSON"},
	}
	before := countMembers(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(t, http.MethodPost, "/api/v1/auth/signup", "", tt.body)
			require.Equal(t, http.StatusBadRequest, r.status, "%s", r)
			if tt.wantCode != "" {
				assert.Equal(t, tt.wantCode, r.code())
				return
			}
			assert.Equal(t, "VALIDATION_FAILED", r.code())
			var p struct{ Errors map[string]string }
			r.json(t, &p)
			assert.Contains(t, p.Errors, tt.wantField, "%s", r)
		})
	}
	assert.Equal(t, before, countMembers(t), "bad input changes nothing")
}

func TestSignup(t *testing.T) {
	e := newEnv(t)
	// Two real signups (bcrypt at its production cost): the accepted forms
	// and the normalization.
	tests := []struct {
		name, body          string
		wantEmail, wantNick string
		wantRole            auth.Role
	}{
		{"customer by default, email lower-cased and trimmed",
			`{"email":"  Kim.MinJi@Example.COM ","password":"abcd1234","nickname":" 민지 "}`,
			"kim.minji@example.com", "민지", auth.Customer},
		{"owner with a plus address and a 40-rune nickname",
			`{"email":"owner+shop@example.co.kr","password":"한글비번abc1","nickname":"` + strings.Repeat("가", 40) + `","role":"OWNER"}`,
			"owner+shop@example.co.kr", strings.Repeat("가", 40), auth.Owner},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(t, http.MethodPost, "/api/v1/auth/signup", "", tt.body)
			require.Equal(t, http.StatusCreated, r.status, "%s", r)
			var m map[string]any
			r.json(t, &m)
			assert.Equal(t, tt.wantEmail, m["email"])
			assert.Equal(t, tt.wantNick, m["nickname"])
			assert.Equal(t, string(tt.wantRole), m["role"])
			assert.Equal(t, "Asia/Seoul", m["timezone"])
			assert.IsType(t, float64(0), m["id"], "ids are JSON numbers")
			for _, secret := range []string{"password", "password_hash", "access_token", "refresh_token"} {
				assert.NotContains(t, m, secret, "signup returns the member, no secrets and no tokens")
			}
		})
	}
}

func TestSignupDuplicateEmail(t *testing.T) {
	e := newEnv(t)
	insertMember(t, "taken@example.com", auth.Customer)
	before := countMembers(t)
	for _, email := range []string{"TAKEN@Example.com", " Taken@example.COM "} {
		r := e.do(t, http.MethodPost, "/api/v1/auth/signup", "",
			fmt.Sprintf(`{"email":%q,"password":"abcd1234","nickname":"kim"}`, email))
		assert.Equal(t, http.StatusConflict, r.status, "%q: %s", email, r)
		assert.Equal(t, "EMAIL_TAKEN", r.code(), email)
	}
	assert.Equal(t, before, countMembers(t))
}

func TestLogin(t *testing.T) {
	e := newEnv(t)
	email := uniqueEmail(t, "kim")
	id := insertMember(t, email, auth.Customer)
	tests := []struct {
		name       string
		email      string
		password   string
		wantStatus int
		wantCode   string
	}{
		{"exact", email, testPassword, 200, ""},
		{"email case ignored", strings.ToUpper(email), testPassword, 200, ""},
		{"email spaces ignored", "  " + email + " ", testPassword, 200, ""},
		{"wrong password", email, "password124", 401, "INVALID_CREDENTIALS"},
		{"password case matters", email, strings.ToUpper(testPassword), 401, "INVALID_CREDENTIALS"},
		{"unknown email", "nobody@example.com", testPassword, 401, "INVALID_CREDENTIALS"},
		{"empty", "", "", 401, "INVALID_CREDENTIALS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(t, http.MethodPost, "/api/v1/auth/login", "", fmt.Sprintf(`{"email":%q,"password":%q}`, tt.email, tt.password))
			require.Equal(t, tt.wantStatus, r.status, "%s", r)
			if tt.wantCode != "" {
				assert.Equal(t, tt.wantCode, r.code())
				return
			}
			var tok member.Tokens
			r.json(t, &tok)
			assert.Equal(t, "Bearer", tok.TokenType)
			assert.Equal(t, 900, tok.ExpiresIn)
			assert.NotEmpty(t, tok.RefreshToken)

			me := e.do(t, http.MethodGet, "/api/v1/members/me", tok.AccessToken, "")
			require.Equal(t, http.StatusOK, me.status, "%s", me)
			var m member.Member
			me.json(t, &m)
			assert.Equal(t, id, m.ID)
			assert.Equal(t, email, m.Email)
		})
	}
}

func TestRefreshRotates(t *testing.T) {
	e := newEnv(t)
	email := uniqueEmail(t, "kim")
	insertMember(t, email, auth.Owner)
	first := e.login(t, email)

	r := e.refresh(t, first.RefreshToken)
	require.Equal(t, http.StatusOK, r.status, "%s", r)
	var second member.Tokens
	r.json(t, &second)
	assert.NotEqual(t, first.RefreshToken, second.RefreshToken, "a refresh issues a new refresh token")
	assert.NotEqual(t, first.AccessToken, second.AccessToken)
	assert.Equal(t, "Bearer", second.TokenType)

	// The new access token carries the member's role.
	me := e.do(t, http.MethodGet, "/api/v1/test/owners-only", second.AccessToken, "")
	assert.Equal(t, http.StatusOK, me.status, "%s", me)

	// The new refresh token works once too.
	r = e.refresh(t, second.RefreshToken)
	require.Equal(t, http.StatusOK, r.status, "%s", r)
}

func TestRefreshReuseRevokesFamily(t *testing.T) {
	e := newEnv(t)
	email := uniqueEmail(t, "kim")
	insertMember(t, email, auth.Customer)
	stolen := e.login(t, email)
	other := e.login(t, email) // a second device: another family

	r := e.refresh(t, stolen.RefreshToken)
	require.Equal(t, http.StatusOK, r.status, "%s", r)
	var fresh member.Tokens
	r.json(t, &fresh)

	// The spent token comes back: someone replayed it.
	r = e.refresh(t, stolen.RefreshToken)
	assert.Equal(t, http.StatusUnauthorized, r.status, "%s", r)
	assert.Equal(t, "REFRESH_TOKEN_REUSED", r.code())

	// The whole family is revoked: the fresh token from it stops working...
	r = e.refresh(t, fresh.RefreshToken)
	assert.Equal(t, http.StatusUnauthorized, r.status, "%s", r)
	assert.Equal(t, "INVALID_REFRESH_TOKEN", r.code())

	// ...and replaying the spent one again still says nothing useful.
	r = e.refresh(t, stolen.RefreshToken)
	assert.Equal(t, http.StatusUnauthorized, r.status, "%s", r)

	// The other device's family is untouched.
	r = e.refresh(t, other.RefreshToken)
	assert.Equal(t, http.StatusOK, r.status, "%s", r)
}

func TestRefreshConcurrentSpendOnce(t *testing.T) {
	// Two requests race with the same token: the row lock lets exactly one
	// win; the loser is treated as a replay.
	e := newEnv(t)
	email := uniqueEmail(t, "kim")
	insertMember(t, email, auth.Customer)
	tok := e.login(t, email)

	const n = 8
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = e.refresh(t, tok.RefreshToken).status
		}()
	}
	wg.Wait()
	ok := 0
	for _, s := range statuses {
		if s == http.StatusOK {
			ok++
		} else {
			assert.Equal(t, http.StatusUnauthorized, s)
		}
	}
	assert.Equal(t, 1, ok, "statuses: %v", statuses)
}

func TestRefreshRefused(t *testing.T) {
	e := newEnv(t)
	email := uniqueEmail(t, "kim")
	id := insertMember(t, email, auth.Customer)
	expired := e.login(t, email)
	_, err := pool.Exec(context.Background(), `UPDATE refresh_tokens SET expires_at = now() - interval '1 second' WHERE member_id = $1`, id)
	require.NoError(t, err)

	tests := []struct {
		name       string
		body       string
		wantStatus int
		wantCode   string
	}{
		{"unknown token", `{"refresh_token":"bm90LWEtdG9rZW4"}`, 401, "INVALID_REFRESH_TOKEN"},
		{"empty token", `{"refresh_token":""}`, 401, "INVALID_REFRESH_TOKEN"},
		{"expired", fmt.Sprintf(`{"refresh_token":%q}`, expired.RefreshToken), 401, "INVALID_REFRESH_TOKEN"},
		{"access token instead", fmt.Sprintf(`{"refresh_token":%q}`, expired.AccessToken), 401, "INVALID_REFRESH_TOKEN"},
		{"wrong field", `{"token":"x"}`, 400, "VALIDATION_FAILED"},
		{"no body", ``, 400, "MALFORMED_JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(t, http.MethodPost, "/api/v1/auth/refresh", "", tt.body)
			assert.Equal(t, tt.wantStatus, r.status, "%s", r)
			assert.Equal(t, tt.wantCode, r.code())
		})
	}
}

func TestLogout(t *testing.T) {
	e := newEnv(t)
	email := uniqueEmail(t, "kim")
	insertMember(t, email, auth.Customer)
	tok := e.login(t, email)
	spare := e.login(t, email) // another device, not logged out

	require.Equal(t, http.StatusOK, e.do(t, http.MethodGet, "/api/v1/members/me", tok.AccessToken, "").status)
	r := e.do(t, http.MethodPost, "/api/v1/auth/logout", tok.AccessToken, fmt.Sprintf(`{"refresh_token":%q}`, tok.RefreshToken))
	require.Equal(t, http.StatusNoContent, r.status, "%s", r)
	assert.Equal(t, int64(1), e.logouts.Load(), "OnLogout runs")

	// The access token is on the deny-list before it expires.
	r = e.do(t, http.MethodGet, "/api/v1/members/me", tok.AccessToken, "")
	assert.Equal(t, http.StatusUnauthorized, r.status, "%s", r)
	assert.Equal(t, "INVALID_TOKEN", r.code())
	// The refresh family is revoked.
	r = e.refresh(t, tok.RefreshToken)
	assert.Equal(t, http.StatusUnauthorized, r.status, "%s", r)
	assert.Equal(t, "INVALID_REFRESH_TOKEN", r.code())

	// Other sessions go on.
	assert.Equal(t, http.StatusOK, e.do(t, http.MethodGet, "/api/v1/members/me", spare.AccessToken, "").status)
	assert.Equal(t, http.StatusOK, e.refresh(t, spare.RefreshToken).status)
}

func TestLogoutWithoutBody(t *testing.T) {
	e := newEnv(t)
	email := uniqueEmail(t, "kim")
	insertMember(t, email, auth.Customer)
	tok := e.login(t, email)

	r := e.do(t, http.MethodPost, "/api/v1/auth/logout", tok.AccessToken, "")
	require.Equal(t, http.StatusNoContent, r.status, "%s", r)
	assert.Equal(t, http.StatusUnauthorized, e.do(t, http.MethodGet, "/api/v1/members/me", tok.AccessToken, "").status)
	// Without a refresh token in the body only the access token ends.
	assert.Equal(t, http.StatusOK, e.refresh(t, tok.RefreshToken).status)

	r = e.do(t, http.MethodPost, "/api/v1/auth/logout", "", "")
	assert.Equal(t, http.StatusUnauthorized, r.status, "logout needs a token: %s", r)
	assert.Equal(t, "UNAUTHENTICATED", r.code())
}

func TestLogoutCannotRevokeAnotherMembersSession(t *testing.T) {
	e := newEnv(t)
	victimEmail, attackerEmail := uniqueEmail(t, "victim"), uniqueEmail(t, "attacker")
	insertMember(t, victimEmail, auth.Customer)
	insertMember(t, attackerEmail, auth.Customer)
	victim, attacker := e.login(t, victimEmail), e.login(t, attackerEmail)

	r := e.do(t, http.MethodPost, "/api/v1/auth/logout", attacker.AccessToken, fmt.Sprintf(`{"refresh_token":%q}`, victim.RefreshToken))
	require.Equal(t, http.StatusNoContent, r.status, "%s", r)
	assert.Equal(t, http.StatusOK, e.refresh(t, victim.RefreshToken).status, "the victim's family must survive")
}

func TestRoleChecks(t *testing.T) {
	e := newEnv(t)
	customerEmail, ownerEmail := uniqueEmail(t, "customer"), uniqueEmail(t, "owner")
	insertMember(t, customerEmail, auth.Customer)
	insertMember(t, ownerEmail, auth.Owner)
	customer, owner := e.login(t, customerEmail), e.login(t, ownerEmail)
	system, _, err := e.tokens.IssueSystem(time.Minute)
	require.NoError(t, err)
	forged, _, err := auth.NewTokens("some-other-secret", "", time.Minute, nil).Issue(1, auth.Admin)
	require.NoError(t, err)

	tests := []struct {
		name       string
		header     string
		wantStatus int
		wantCode   string
	}{
		{"owner", "Bearer " + owner.AccessToken, 200, ""},
		{"SYSTEM passes every role check", "Bearer " + system, 200, ""},
		{"customer", "Bearer " + customer.AccessToken, 403, "FORBIDDEN_ROLE"},
		{"anonymous", "", 401, "UNAUTHENTICATED"},
		{"not a bearer header", "Token " + owner.AccessToken, 401, "INVALID_TOKEN"},
		{"garbage", "Bearer not.a.jwt", 401, "INVALID_TOKEN"},
		{"signed with another secret", "Bearer " + forged, 401, "INVALID_TOKEN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.doHeader(t, http.MethodGet, "/api/v1/test/owners-only", tt.header)
			assert.Equal(t, tt.wantStatus, r.status, "%s", r)
			assert.Equal(t, tt.wantCode, r.code())
		})
	}

	// SYSTEM is not a member: /members/me answers with its role only.
	r := e.do(t, http.MethodGet, "/api/v1/members/me", system, "")
	require.Equal(t, http.StatusOK, r.status, "%s", r)
	assert.JSONEq(t, `{"role":"SYSTEM"}`, string(r.body))
}

func TestPreviousSecretStillVerifies(t *testing.T) {
	// During a JWT_SECRET rotation, tokens signed with the old secret keep
	// working until they expire.
	old := auth.NewTokens("old-secret", "", time.Minute, nil)
	tok, _, err := old.Issue(42, auth.Customer)
	require.NoError(t, err)

	rotated := auth.NewTokens("new-secret", "old-secret", time.Minute, nil)
	p, err := rotated.Verify(context.Background(), tok)
	require.NoError(t, err)
	assert.Equal(t, int64(42), p.MemberID)
	assert.Equal(t, auth.Customer, p.Role)

	_, err = auth.NewTokens("new-secret", "", time.Minute, nil).Verify(context.Background(), tok)
	assert.ErrorIs(t, err, auth.ErrInvalidToken, "without the previous secret the old token is refused")
}

func TestMeAfterAccountDeleted(t *testing.T) {
	e := newEnv(t)
	email := uniqueEmail(t, "kim")
	id := insertMember(t, email, auth.Customer)
	tok := e.login(t, email)
	_, err := pool.Exec(context.Background(), `DELETE FROM members WHERE id = $1`, id)
	require.NoError(t, err)

	r := e.do(t, http.MethodGet, "/api/v1/members/me", tok.AccessToken, "")
	assert.Equal(t, http.StatusUnauthorized, r.status, "%s", r)
	assert.Equal(t, "MEMBER_GONE", r.code())
}
