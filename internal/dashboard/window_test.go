package dashboard_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/couponpop/couponpop/internal/dashboard"
	"github.com/couponpop/couponpop/internal/derrors"
)

func rfc(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	require.NoError(t, err)
	return v
}

// TestWindowEdges pins bucket edges where people would notice them wrong:
// local midnights and Mondays in Seoul, the 23- and 25-hour days and the
// missing and repeated hours of New York's DST changes, London's short
// week, a day that starts at 01:00 because midnight was skipped, and a
// half-hour zone.
func TestWindowEdges(t *testing.T) {
	tests := []struct {
		name     string
		zone     string
		bucket   dashboard.Bucket
		from, to string
		want     []string // bucket edges as the API shows them
	}{
		{
			name: "hour in Seoul widens to whole hours", zone: "Asia/Seoul", bucket: dashboard.Hour,
			from: "2024-03-01T00:30:00+09:00", to: "2024-03-01T02:10:00+09:00",
			want: []string{"2024-03-01T00:00:00+09:00", "2024-03-01T01:00:00+09:00", "2024-03-01T02:00:00+09:00", "2024-03-01T03:00:00+09:00"},
		},
		{
			name: "day in Seoul starts at local midnight, 15:00 UTC", zone: "Asia/Seoul", bucket: dashboard.Day,
			from: "2024-02-29T15:00:00Z", to: "2024-03-02T12:00:00+09:00",
			want: []string{"2024-03-01T00:00:00+09:00", "2024-03-02T00:00:00+09:00", "2024-03-03T00:00:00+09:00"},
		},
		{
			name: "week in Seoul starts on Monday", zone: "Asia/Seoul", bucket: dashboard.Week,
			from: "2024-03-06T10:00:00+09:00", to: "2024-03-12T00:00:00+09:00", // a Wednesday to a Tuesday
			want: []string{"2024-03-04T00:00:00+09:00", "2024-03-11T00:00:00+09:00", "2024-03-18T00:00:00+09:00"},
		},
		{
			name: "day across New York's spring forward is 23 hours", zone: "America/New_York", bucket: dashboard.Day,
			from: "2024-03-09T00:00:00-05:00", to: "2024-03-12T00:00:00-04:00",
			want: []string{"2024-03-09T00:00:00-05:00", "2024-03-10T00:00:00-05:00", "2024-03-11T00:00:00-04:00", "2024-03-12T00:00:00-04:00"},
		},
		{
			name: "hour across spring forward skips 02:00", zone: "America/New_York", bucket: dashboard.Hour,
			from: "2024-03-10T00:00:00-05:00", to: "2024-03-10T04:00:00-04:00",
			want: []string{"2024-03-10T00:00:00-05:00", "2024-03-10T01:00:00-05:00", "2024-03-10T03:00:00-04:00", "2024-03-10T04:00:00-04:00"},
		},
		{
			name: "hour across fall back repeats 01:00", zone: "America/New_York", bucket: dashboard.Hour,
			from: "2024-11-03T00:00:00-04:00", to: "2024-11-03T03:00:00-05:00",
			want: []string{"2024-11-03T00:00:00-04:00", "2024-11-03T01:00:00-04:00", "2024-11-03T01:00:00-05:00",
				"2024-11-03T02:00:00-05:00", "2024-11-03T03:00:00-05:00"},
		},
		{
			name: "day across fall back is 25 hours", zone: "America/New_York", bucket: dashboard.Day,
			from: "2024-11-03T00:00:00-04:00", to: "2024-11-04T00:00:00-05:00",
			want: []string{"2024-11-03T00:00:00-04:00", "2024-11-04T00:00:00-05:00"},
		},
		{
			name: "week across London's clock change", zone: "Europe/London", bucket: dashboard.Week,
			from: "2024-03-27T12:00:00Z", to: "2024-04-02T00:00:00+01:00",
			want: []string{"2024-03-25T00:00:00Z", "2024-04-01T00:00:00+01:00", "2024-04-08T00:00:00+01:00"},
		},
		{
			name: "a day whose midnight was skipped starts at 01:00", zone: "America/Sao_Paulo", bucket: dashboard.Day,
			from: "2018-11-03T00:00:00-03:00", to: "2018-11-05T00:00:00-02:00",
			want: []string{"2018-11-03T00:00:00-03:00", "2018-11-04T01:00:00-02:00", "2018-11-05T00:00:00-02:00"},
		},
		{
			name: "hour in a half-hour zone", zone: "Asia/Kolkata", bucket: dashboard.Hour,
			from: "2024-03-01T10:15:00+05:30", to: "2024-03-01T12:00:00+05:30",
			want: []string{"2024-03-01T10:00:00+05:30", "2024-03-01T11:00:00+05:30", "2024-03-01T12:00:00+05:30"},
		},
		{
			name: "UTC days", zone: "UTC", bucket: dashboard.Day,
			from: "2024-02-28T00:00:00Z", to: "2024-03-01T00:00:00Z",
			want: []string{"2024-02-28T00:00:00Z", "2024-02-29T00:00:00Z", "2024-03-01T00:00:00Z"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := dashboard.NewWindow(rfc(t, tt.from), rfc(t, tt.to), tt.bucket, mustLoc(t, tt.zone))
			require.NoError(t, err)
			got := make([]string, len(w.Edges))
			for i, e := range w.Edges {
				got[i] = e.Format(time.RFC3339)
				assert.Zero(t, e.Unix()%int64(dashboard.Slot/time.Second), "edge %s is not on a rollup slot", got[i])
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

// TestWindowLimits checks every refused window gets a 400 with its own
// code, and the longest allowed ones pass.
func TestWindowLimits(t *testing.T) {
	seoul := "Asia/Seoul"
	now := rfc(t, "2024-03-15T10:20:00+09:00")
	tests := []struct {
		name     string
		q        dashboard.Query
		wantCode string // "" = accepted
		wantLen  int
	}{
		{"from equals to", dashboard.Query{From: "2024-03-01", To: "2024-03-01"}, "INVALID_WINDOW", 0},
		{"from after to", dashboard.Query{From: "2024-03-02", To: "2024-03-01"}, "INVALID_WINDOW", 0},
		{"hour buckets over 31 days", dashboard.Query{From: "2024-03-01", To: "2024-04-01T01:00", Bucket: "hour"}, "WINDOW_TOO_LARGE", 0},
		{"hour buckets over exactly 31 days", dashboard.Query{From: "2024-03-01", To: "2024-04-01", Bucket: "hour"}, "", 31 * 24},
		{"day buckets over 401 days", dashboard.Query{From: "2024-01-01", To: "2025-02-05", Bucket: "day"}, "WINDOW_TOO_LARGE", 0},
		{"day buckets over 400 days", dashboard.Query{From: "2024-01-01", To: "2025-02-04", Bucket: "day"}, "", 400},
		{"week buckets over 731 days", dashboard.Query{From: "2022-01-03", To: "2024-01-08", Bucket: "week"}, "WINDOW_TOO_LARGE", 0},
		{"unknown bucket", dashboard.Query{Bucket: "minute"}, "VALIDATION_FAILED", 0},
		{"unknown zone", dashboard.Query{TZ: "Mars/Olympus"}, "VALIDATION_FAILED", 0},
		{"unparsable from", dashboard.Query{From: "yesterday"}, "VALIDATION_FAILED", 0},
		{"default day window is the last 30 days through today", dashboard.Query{}, "", 30},
		{"default hour window is the last 24 hours", dashboard.Query{Bucket: "hour"}, "", 24},
		{"default week window is 12 weeks", dashboard.Query{Bucket: "week"}, "", 12},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := tt.q.Window(seoul, now)
			if tt.wantCode != "" {
				var de *derrors.Error
				require.True(t, errors.As(err, &de), "got %v, want a domain error %s", err, tt.wantCode)
				assert.Equal(t, tt.wantCode, de.Code)
				assert.Equal(t, 400, de.Kind.Status())
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantLen, w.Len())
		})
	}
}

// TestWindowDefaultEndsWithToday: the default window's last bucket holds now.
func TestWindowDefaultEndsWithToday(t *testing.T) {
	now := rfc(t, "2024-03-15T10:20:00+09:00")
	w, err := dashboard.Query{}.Window("Asia/Seoul", now)
	require.NoError(t, err)
	assert.Equal(t, "2024-03-16T00:00:00+09:00", w.To().Format(time.RFC3339))
	assert.Equal(t, "2024-02-15T00:00:00+09:00", w.From().Format(time.RFC3339))
	assert.Equal(t, w.Len()-1, w.Index(now))
}
