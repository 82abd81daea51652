package dashboard

import (
	"fmt"
	"strings"
	"time"

	"github.com/couponpop/couponpop/internal/derrors"
)

// Bucket is the width of one point of a series.
type Bucket string

// Buckets. Weeks start on Monday (ISO 8601), like the heatmap.
const (
	Hour Bucket = "hour"
	Day  Bucket = "day"
	Week Bucket = "week"
)

// Longest windows per bucket, in local calendar days. An hour series over a
// month is 744 points, a day series over 400 days is 400: about as much as a
// chart can show and a rollup read stays far below 50 ms.
const (
	MaxHourDays = 31
	MaxDayDays  = 400
	MaxWeekDays = 731
)

// Slot is the rollup granularity: every zone's local hours, days and weeks
// start on a 15-minute UTC boundary (see migrations/000020_dashboard.up.sql).
const Slot = 15 * time.Minute

// Errors.
var (
	ErrInvalidWindow  = derrors.New(derrors.Invalid, "INVALID_WINDOW", "from must be before to")
	ErrWindowTooLarge = derrors.New(derrors.Invalid, "WINDOW_TOO_LARGE", "the window is too long for this bucket")
	ErrUnalignedZone  = derrors.New(derrors.Invalid, "UNSUPPORTED_ZONE_OFFSET",
		"this zone's offset at these dates is not a whole number of quarter hours")
)

// ParseBucket validates a bucket name; empty means day.
func ParseBucket(s string) (Bucket, error) {
	switch b := Bucket(strings.ToLower(strings.TrimSpace(s))); b {
	case "":
		return Day, nil
	case Hour, Day, Week:
		return b, nil
	}
	return "", derrors.Invalidf("bucket", "must be hour, day or week")
}

// maxDays is the longest window of b.
func (b Bucket) maxDays() int {
	switch b {
	case Hour:
		return MaxHourDays
	case Week:
		return MaxWeekDays
	}
	return MaxDayDays
}

// defaultSpan is the window when the caller gives no from.
func (b Bucket) defaultDays() int {
	switch b {
	case Hour:
		return 1
	case Week:
		return 12 * 7
	}
	return 30
}

// Window is a validated dashboard window: whole buckets of one width in one
// zone. Edges[i] is the start of bucket i and Edges[len-1] the end of the
// last one, all in Loc.
type Window struct {
	Loc    *time.Location
	Bucket Bucket
	Edges  []time.Time
}

// From is the start of the first bucket.
func (w Window) From() time.Time { return w.Edges[0] }

// To is the end of the last bucket (exclusive).
func (w Window) To() time.Time { return w.Edges[len(w.Edges)-1] }

// Len is the number of buckets.
func (w Window) Len() int { return len(w.Edges) - 1 }

// Index is the bucket t falls in, or -1 outside the window.
func (w Window) Index(t time.Time) int {
	lo, hi := 0, len(w.Edges)-1
	if t.Before(w.Edges[lo]) || !t.Before(w.Edges[hi]) {
		return -1
	}
	for hi-lo > 1 { // invariant: Edges[lo] <= t < Edges[hi]
		mid := (lo + hi) / 2
		if t.Before(w.Edges[mid]) {
			hi = mid
		} else {
			lo = mid
		}
	}
	return lo
}

// NewWindow widens [from, to) to whole buckets of b in loc and checks the
// limits: from < to, and to no later than from plus the bucket's maximum
// number of local days.
func NewWindow(from, to time.Time, b Bucket, loc *time.Location) (Window, error) {
	if !from.Before(to) {
		return Window{}, ErrInvalidWindow.WithDetail("from (%s) must be before to (%s)",
			from.In(loc).Format(time.RFC3339), to.In(loc).Format(time.RFC3339))
	}
	if to.After(addDays(from, b.maxDays(), loc)) {
		return Window{}, ErrWindowTooLarge.WithDetail("%s buckets cover at most %d days; ask for a shorter window or a wider bucket",
			b, b.maxDays())
	}
	w := Window{Loc: loc, Bucket: b}
	for e := floor(from, b, loc); ; e = next(e, b, loc) {
		if e.Unix()%int64(Slot/time.Second) != 0 || e.Nanosecond() != 0 {
			return Window{}, ErrUnalignedZone.WithDetail("%s starts a bucket at %s, which is not on a quarter hour in UTC",
				loc, e.Format(time.RFC3339))
		}
		w.Edges = append(w.Edges, e)
		if !e.Before(to) {
			break
		}
	}
	return w, nil
}

// floor is the start of the bucket of width b that contains t, in loc.
func floor(t time.Time, b Bucket, loc *time.Location) time.Time {
	l := t.In(loc)
	switch b {
	case Hour:
		// Subtracting the local minutes keeps the instant exact even in the
		// repeated hour after a DST fall-back, where time.Date would have
		// to guess which of the two 01:00s we mean.
		return l.Add(-time.Duration(l.Minute())*time.Minute - time.Duration(l.Second())*time.Second - time.Duration(l.Nanosecond()))
	case Week:
		back := (int(l.Weekday()) + 6) % 7 // days since Monday
		return startOfDay(l.Year(), l.Month(), l.Day()-back, loc)
	}
	return startOfDay(l.Year(), l.Month(), l.Day(), loc)
}

// next is the start of the bucket after the one starting at e.
func next(e time.Time, b Bucket, loc *time.Location) time.Time {
	switch b {
	case Hour:
		// Absolute hours: across a one-hour DST shift this is still the next
		// local hour (the 23- and 25-hour days come out right).
		return e.Add(time.Hour)
	case Week:
		return startOfDay(e.Year(), e.Month(), e.Day()+7, loc)
	}
	return startOfDay(e.Year(), e.Month(), e.Day()+1, loc)
}

// startOfDay is the first instant of a local date (y, m, d are normalized
// like time.Date's). Usually that is 00:00; where a DST change skips
// midnight (America/Sao_Paulo until 2019, America/Havana) it is the
// instant of the change, which local clocks show as 01:00.
func startOfDay(y int, m time.Month, d int, loc *time.Location) time.Time {
	n := time.Date(y, m, d, 12, 0, 0, 0, time.UTC) // normalize the date only
	y, m, d = n.Date()
	t := time.Date(y, m, d, 0, 0, 0, 0, loc)
	if l := t.In(loc); l.Hour() == 0 && l.Minute() == 0 && l.Second() == 0 && sameDate(l, y, m, d) {
		return t
	}
	// Rare: find the first instant whose local date is (y, m, d) by binary
	// search over the six hours around the guess. Transitions happen on
	// whole seconds.
	lo, hi := t.Add(-3*time.Hour).Unix(), t.Add(3*time.Hour).Unix()
	for lo < hi {
		mid := lo + (hi-lo)/2
		if onOrAfter(time.Unix(mid, 0).In(loc), y, m, d) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return time.Unix(lo, 0).In(loc)
}

// addDays moves t by n local calendar days, keeping its local time of day.
func addDays(t time.Time, n int, loc *time.Location) time.Time {
	l := t.In(loc)
	day := startOfDay(l.Year(), l.Month(), l.Day(), loc)
	return startOfDay(l.Year(), l.Month(), l.Day()+n, loc).Add(l.Sub(day))
}

func sameDate(t time.Time, y int, m time.Month, d int) bool {
	ty, tm, td := t.Date()
	return ty == y && tm == m && td == d
}

func onOrAfter(t time.Time, y int, m time.Month, d int) bool {
	ty, tm, td := t.Date()
	if ty != y {
		return ty > y
	}
	if tm != m {
		return tm > m
	}
	return td >= d
}

// Query is what the HTTP layer reads from the URL: every field optional.
type Query struct {
	From   string // RFC 3339, or a local date (2024-03-01) or date-time (2024-03-01T09:00) in the zone
	To     string
	Bucket string // hour, day (default) or week
	TZ     string // IANA zone; default the store's
}

// Window parses q in the zone q.TZ, or storeTZ when q.TZ is empty. A
// missing to means the end of the current bucket; a missing from means a
// default span before to (a day for hours, 30 days, 12 weeks).
func (q Query) Window(storeTZ string, now time.Time) (Window, error) {
	b, err := ParseBucket(q.Bucket)
	if err != nil {
		return Window{}, err
	}
	tz := strings.TrimSpace(q.TZ)
	if tz == "" {
		tz = storeTZ
	}
	loc, err := time.LoadLocation(tz)
	if err != nil || tz == "" || tz == "Local" {
		return Window{}, derrors.Invalidf("tz", "must be an IANA time zone such as Asia/Seoul")
	}
	var to time.Time
	if q.To == "" {
		to = next(floor(now, b, loc), b, loc)
	} else if to, err = parseTime(q.To, loc); err != nil {
		return Window{}, derrors.Invalidf("to", "%v", err)
	}
	var from time.Time
	if q.From == "" {
		from = addDays(to, -b.defaultDays(), loc)
	} else if from, err = parseTime(q.From, loc); err != nil {
		return Window{}, derrors.Invalidf("from", "%v", err)
	}
	return NewWindow(from, to, b, loc)
}

// parseTime reads an instant, or a local date or date-time in loc.
func parseTime(s string, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			if layout == "2006-01-02" {
				return startOfDay(t.Year(), t.Month(), t.Day(), loc), nil
			}
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("must be RFC 3339 (2024-03-01T00:00:00+09:00) or a local date (2024-03-01), not %q", s)
}
