package issue

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/couponpop/couponpop/internal/derrors"
	"github.com/couponpop/couponpop/internal/geo"
)

func ptr[T any](v T) *T { return &v }

func TestSummaryFormula(t *testing.T) {
	// The seed project's case: total 2300, issued 1840, used 1000.
	got := NewSummary(2300, 1840, 1000)
	assert.Equal(t, Summary{Total: 2300, Issued: 1840, Unclaimed: 460, Used: 1000, Unused: 840}, got)
}

func TestEventInputValidation(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	valid := func() EventInput {
		return EventInput{
			Title: ptr("라떼 50%"), DiscountType: ptr("PERCENT"), DiscountValue: ptr(50),
			TotalQuantity: ptr(100), IssueStartsAt: ptr(now), IssueEndsAt: ptr(now.Add(2 * time.Hour)),
			ValidHours: ptr(24),
		}
	}
	tests := []struct {
		name      string
		mod       func(*EventInput)
		wantField string // "" = valid
	}{
		{"valid", func(*EventInput) {}, ""},
		{"amount discount", func(in *EventInput) { in.DiscountType, in.DiscountValue = ptr("AMOUNT"), ptr(3000) }, ""},
		{"no title", func(in *EventInput) { in.Title = nil }, "title"},
		{"blank title", func(in *EventInput) { in.Title = ptr("   ") }, "title"},
		{"long title", func(in *EventInput) { in.Title = ptr(strings.Repeat("가", 101)) }, "title"},
		{"bad discount type", func(in *EventInput) { in.DiscountType = ptr("FREE") }, "discount_type"},
		{"zero amount", func(in *EventInput) { in.DiscountType, in.DiscountValue = ptr("AMOUNT"), ptr(0) }, "discount_value"},
		{"percent over 100", func(in *EventInput) { in.DiscountValue = ptr(101) }, "discount_value"},
		{"zero quantity", func(in *EventInput) { in.TotalQuantity = ptr(0) }, "total_quantity"},
		{"quantity over a million", func(in *EventInput) { in.TotalQuantity = ptr(1_000_001) }, "total_quantity"},
		{"a million is fine", func(in *EventInput) { in.TotalQuantity = ptr(1_000_000) }, ""},
		{"end before start", func(in *EventInput) { in.IssueEndsAt = ptr(now.Add(-time.Minute)) }, "issue_ends_at"},
		{"window over 31 days", func(in *EventInput) { in.IssueEndsAt = ptr(now.Add(32 * 24 * time.Hour)) }, "issue_ends_at"},
		{"no validity", func(in *EventInput) { in.ValidHours = nil }, "valid_until"},
		{"both validities", func(in *EventInput) { in.ValidUntil = ptr(now.Add(48 * time.Hour)) }, "valid_until"},
		{"valid until before start", func(in *EventInput) { in.ValidHours, in.ValidUntil = nil, ptr(now.Add(-time.Hour)) }, "valid_until"},
		{"limit zero", func(in *EventInput) { in.PerMemberLimit = ptr(0) }, "per_member_limit"},
		{"negative geofence", func(in *EventInput) { in.GeofenceM = ptr(-1) }, "geofence_m"},
		{"negative min order", func(in *EventInput) { in.MinOrderAmount = ptr(-1) }, "min_order_amount"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := valid()
			tt.mod(&in)
			err := in.validateCreate(now)
			if tt.wantField == "" {
				require.NoError(t, err)
				assert.Equal(t, 1, *in.PerMemberLimit, "per_member_limit defaults to 1")
				return
			}
			e, ok := derrors.As(err)
			require.True(t, ok, "want a domain error for %s, got %v", tt.wantField, err)
			assert.Equal(t, derrors.Invalid, e.Kind)
			assert.Contains(t, e.Fields, tt.wantField, "got %v", e.Fields)
		})
	}
}

func TestStartInThePastMeansNow(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	in := EventInput{Title: ptr("x"), DiscountType: ptr("AMOUNT"), DiscountValue: ptr(1000), TotalQuantity: ptr(1),
		IssueStartsAt: ptr(now.Add(-3 * time.Hour)), IssueEndsAt: ptr(now.Add(time.Hour)), ValidHours: ptr(1)}
	require.NoError(t, in.validateCreate(now))
	assert.Equal(t, now, *in.IssueStartsAt)
}

func TestSnapshotCheckOrder(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	storeAt := geo.Point{Lat: 37.5563, Lng: 126.9236}
	far := geo.Point{Lat: 37.6, Lng: 127}
	open := snapshot{status: Active, starts: now.Add(-time.Hour), ends: now.Add(time.Hour), geofenceM: 100, store: storeAt}
	tests := []struct {
		name string
		mod  func(*snapshot)
		at   geo.Point
		want error
	}{
		{"open and near", func(*snapshot) {}, storeAt, nil},
		{"far from a geofenced store", func(*snapshot) {}, far, ErrOutOfRange},
		{"far, no geofence", func(s *snapshot) { s.geofenceM = 0 }, far, nil},
		{"suspended first", func(s *snapshot) { s.status = Suspended; s.ends = now }, far, ErrEventSuspended},
		{"window before range", func(s *snapshot) { s.starts = now.Add(time.Minute) }, far, ErrNotInWindow},
		{"end is exclusive", func(s *snapshot) { s.ends = now }, storeAt, ErrNotInWindow},
		{"start is inclusive", func(s *snapshot) { s.starts = now }, storeAt, nil},
		{"ended", func(s *snapshot) { s.status = Ended }, storeAt, ErrNotInWindow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sn := open
			tt.mod(&sn)
			err := sn.check(now, tt.at)
			if tt.want == nil {
				assert.NoError(t, err)
			} else {
				assert.ErrorIs(t, err, tt.want)
			}
		})
	}
}

func TestNewCode(t *testing.T) {
	seen := make(map[string]bool, 20000)
	counts := map[rune]int{}
	for range 20000 {
		c, err := newCode()
		require.NoError(t, err)
		require.Regexp(t, `^[A-Z0-9]{16}$`, c)
		require.False(t, seen[c], "duplicate code %s", c)
		seen[c] = true
		for _, r := range c {
			counts[r]++
		}
	}
	// 320,000 characters over 36 symbols: about 8,889 each. A biased
	// generator (plain b%36 over 256 values) would skew the first four
	// symbols by ~+3 %; allow ±5 %.
	require.Len(t, counts, 36)
	for r, n := range counts {
		assert.InDelta(t, 320000.0/36, n, 320000.0/36*0.05, "symbol %c", r)
	}
}
