package geo_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/couponpop/couponpop/internal/auth"
	"github.com/couponpop/couponpop/internal/issue"
)

// areaEntered mirrors the fields internal/push reads from an AREA_ENTERED
// payload (push.payload).
type areaEntered struct {
	MemberID int64   `json:"member_id"`
	AreaID   int64   `json:"area_id"`
	AreaName string  `json:"area_name"`
	Day      string  `json:"day"`
	EventIDs []int64 `json:"event_ids"`
}

type outboxRow struct {
	kind, trace string
	payload     areaEntered
}

func areaOutbox(t *testing.T, member int64) []outboxRow {
	t.Helper()
	rows, err := pool.Query(context.Background(), `
		SELECT kind, trace_id, payload FROM outbox
		WHERE kind = 'AREA_ENTERED' AND (payload->>'member_id')::bigint = $1 ORDER BY id`, member)
	require.NoError(t, err)
	var out []outboxRow
	for rows.Next() {
		var r outboxRow
		var raw []byte
		require.NoError(t, rows.Scan(&r.kind, &r.trace, &raw))
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		require.NoError(t, dec.Decode(&r.payload), "payload %s", raw)
		out = append(out, r)
	}
	require.NoError(t, rows.Err())
	return out
}

func entries(t *testing.T, member int64) int {
	t.Helper()
	var n int
	require.NoError(t, pool.QueryRow(context.Background(), `SELECT count(*) FROM area_entries WHERE member_id = $1`, member).Scan(&n))
	return n
}

type locationAnswer struct {
	Areas []struct {
		ID      int64  `json:"id"`
		Slug    string `json:"slug"`
		Name    string `json:"name"`
		Entered bool   `json:"entered"`
	} `json:"areas"`
	Entered []struct {
		ID   int64  `json:"id"`
		Slug string `json:"slug"`
	} `json:"entered"`
	Nearby struct {
		Items []struct {
			Store struct {
				ID int64 `json:"id"`
			} `json:"store"`
			DistanceM float64 `json:"distance_m"`
		} `json:"items"`
	} `json:"nearby"`
}

func TestReportLocation(t *testing.T) {
	reset(t)
	e := newEnv(t, envOpts{})
	e.waitReady(t)
	ctx := context.Background()
	owner := newMember(t, auth.Owner, "")
	op := auth.Principal{MemberID: owner, Role: auth.Owner}
	// Inside Hongdae: a live event, a suspended one, a sold-out one.
	// Outside (towards Sinchon, 0.8 km east): a live event, nearby but not in the area.
	in := e.newStore(t, owner, "홍대 카페", "CAFE", 37.5565, 126.9240)
	live := e.newEvent(t, owner, in.ID, "라떼 천원 할인", 10, nil)
	suspended := e.newEvent(t, owner, in.ID, "중지", 10, nil)
	_, err := e.issue.SetStatus(ctx, op, suspended.ID, issue.Suspended)
	require.NoError(t, err)
	sold := e.newEvent(t, owner, in.ID, "한정 1개", 1, nil)
	_, err = e.issue.Issue(ctx, auth.Principal{MemberID: newMember(t, auth.Customer, ""), Role: auth.Customer}, sold.ID, in.Point())
	require.NoError(t, err)
	out := e.newStore(t, owner, "신촌 빵집", "BAKERY", 37.5559, 126.9330)
	e.newEvent(t, owner, out.ID, "식빵", 10, nil)

	me := newMember(t, auth.Customer, "")
	tok := e.token(t, me, auth.Customer)
	report := func(body string) (response, locationAnswer) {
		t.Helper()
		r := e.do(t, http.MethodPost, "/api/v1/members/me/location", tok, body, nil)
		var a locationAnswer
		if r.status == http.StatusOK {
			require.NoError(t, json.Unmarshal(r.body, &a), "%s", r)
		}
		return r, a
	}

	r, a := report(`{"lat":37.5563,"lng":126.9236}`)
	require.Equal(t, http.StatusOK, r.status, "%s", r)
	require.Len(t, a.Areas, 1)
	assert.Equal(t, "hongdae", a.Areas[0].Slug)
	assert.Equal(t, "홍대", a.Areas[0].Name)
	assert.True(t, a.Areas[0].Entered)
	require.Len(t, a.Entered, 1)
	require.Len(t, a.Nearby.Items, 2, "nearby lists both stores within 1 km")
	assert.Equal(t, in.ID, a.Nearby.Items[0].Store.ID)

	msgs := areaOutbox(t, me)
	require.Len(t, msgs, 1)
	today := time.Now().In(mustLoc(t, "Asia/Seoul")).Format(time.DateOnly)
	assert.Equal(t, areaEntered{MemberID: me, AreaID: a.Areas[0].ID, AreaName: "홍대", Day: today,
		EventIDs: []int64{live.ID}}, msgs[0].payload, "only the issuable event of a store inside the area")
	assert.Equal(t, fmt.Sprintf("AREA_ENTERED:%d:%d:%s", me, a.Areas[0].ID, today), msgs[0].trace)

	// Again, and again from elsewhere in Hongdae: inside, not entered.
	for _, body := range []string{`{"lat":37.5563,"lng":126.9236}`, `{"lng":126.9210,"lat":37.5555}`} {
		r, a = report(body)
		require.Equal(t, http.StatusOK, r.status, "%s", r)
		require.Len(t, a.Areas, 1)
		assert.False(t, a.Areas[0].Entered)
		assert.Empty(t, a.Entered)
	}
	assert.Len(t, areaOutbox(t, me), 1, "one entry a day")
	assert.Equal(t, 1, entries(t, me))

	// Outside every area.
	r, a = report(`{"lat":37.60,"lng":126.90}`)
	require.Equal(t, http.StatusOK, r.status, "%s", r)
	assert.Empty(t, a.Areas)
	assert.Empty(t, a.Nearby.Items)

	t.Run("bad input", func(t *testing.T) {
		system, _, err := e.tokens.IssueSystem(time.Minute)
		require.NoError(t, err)
		tests := []struct {
			token, body string
			status      int
			code        string
		}{
			{"", `{"lat":37.5563,"lng":126.9236}`, http.StatusUnauthorized, "UNAUTHENTICATED"},
			{system, `{"lat":37.5563,"lng":126.9236}`, http.StatusForbidden, "FORBIDDEN"}, // a service is nowhere
			{tok, `{"lat":91,"lng":126.9236}`, http.StatusBadRequest, "INVALID_LOCATION"},
			{tok, `{"lat":37.5}`, http.StatusBadRequest, "INVALID_LOCATION"},
			{tok, `{"lat":"37.5","lng":126.9}`, http.StatusBadRequest, "INVALID_LOCATION"},
			{tok, `{"lat":37.5,"lng":126.9,"accuracy":5}`, http.StatusBadRequest, "VALIDATION_FAILED"},
			{tok, `not json`, http.StatusBadRequest, "MALFORMED_JSON"},
		}
		for _, tt := range tests {
			r := e.do(t, http.MethodPost, "/api/v1/members/me/location", tt.token, tt.body, nil)
			assert.Equal(t, tt.status, r.status, "%s: %s", tt.body, r)
			assert.Equal(t, tt.code, r.code(), "%s: %s", tt.body, r)
		}
		assert.Equal(t, 1, entries(t, me), "bad input changes nothing")
	})
}

// Twenty reports at once from one member record one entry and one push.
func TestAreaEntryOncePerDayUnderRace(t *testing.T) {
	reset(t)
	e := newEnv(t, envOpts{})
	me := newMember(t, auth.Customer, "")
	tok := e.token(t, me, auth.Customer)
	var wg sync.WaitGroup
	entered := make(chan bool, 20)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := e.do(t, http.MethodPost, "/api/v1/members/me/location", tok, `{"lat":37.4979,"lng":127.0276}`, nil)
			var a locationAnswer
			if assert.Equal(t, http.StatusOK, r.status, "%s", r) && assert.NoError(t, json.Unmarshal(r.body, &a)) && assert.Len(t, a.Areas, 1) {
				entered <- a.Areas[0].Entered
			}
		}()
	}
	wg.Wait()
	close(entered)
	n := 0
	for en := range entered {
		if en {
			n++
		}
	}
	assert.Equal(t, 1, n, "one report entered")
	assert.Equal(t, 1, entries(t, me))
	msgs := areaOutbox(t, me)
	require.Len(t, msgs, 1)
	assert.Equal(t, "강남역", msgs[0].payload.AreaName)
	assert.Equal(t, []int64{}, msgs[0].payload.EventIDs, "no events there: the push worker sends nothing")
}

// The day is the member's: a member in Los Angeles and one in Seoul
// entering at the same instant may be on different days.
func TestAreaEntryDayInMemberTimezone(t *testing.T) {
	reset(t)
	e := newEnv(t, envOpts{})
	for _, tz := range []string{"Asia/Seoul", "America/Los_Angeles", "Pacific/Kiritimati"} {
		me := newMember(t, auth.Customer, tz)
		_, err := e.geo.ReportLocation(context.Background(), me, hotSpots[2])
		require.NoError(t, err)
		msgs := areaOutbox(t, me)
		require.Len(t, msgs, 1, tz)
		assert.Equal(t, time.Now().In(mustLoc(t, tz)).Format(time.DateOnly), msgs[0].payload.Day, tz)
		assert.Equal(t, "잠실", msgs[0].payload.AreaName)
	}
}

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	require.NoError(t, err)
	return loc
}
