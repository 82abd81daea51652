// Package dashboard answers a merchant's "when do people take and use my
// coupons": a zero-filled time series in the store's zone, totals, an
// hour-by-weekday heatmap of uses, a per-event table and the best hours to
// launch the next event, from rollups that cost the same to read whatever
// the number of coupons.
//
// Rollups are written by statement-level triggers on coupons into an
// append-only delta table and folded into 15-minute slots and daily cells
// by Fold (migrations/000020_dashboard.up.sql explains why in that shape).
// Raw computes the same answer straight from coupons; it is the reference
// the property test holds the rollups to, and the baseline of the
// benchmark in bench/dashboard.
package dashboard

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/couponpop/couponpop/internal/auth"
	"github.com/couponpop/couponpop/internal/store"
)

// Dashboard is the answer to GET /stores/{id}/dashboard. The first five
// fields after the window echo are the contract (DESIGN.md).
type Dashboard struct {
	StoreID   int64          `json:"store_id"`
	Timezone  string         `json:"timezone"`
	Bucket    Bucket         `json:"bucket"`
	From      time.Time      `json:"from"`
	To        time.Time      `json:"to"`
	Series    []Point        `json:"series"`
	Totals    Totals         `json:"totals"`
	Heatmap   [7][24]int64   `json:"heatmap"` // [weekday, Monday first][local hour] -> uses
	Events    []EventSummary `json:"events"`
	BestHours []BestHour     `json:"best_hours"`
}

// Point is one bucket of the series.
type Point struct {
	BucketStart time.Time `json:"bucket_start"`
	Issued      int64     `json:"issued"`
	Used        int64     `json:"used"`
	// Canceled counts cancel-use operations (a use undone: USED back to
	// ISSUED) made during the bucket.
	Canceled int64 `json:"canceled"`
	// Expired counts coupons whose expires_at falls in the bucket (and has
	// passed) that were never used: status EXPIRED, or ISSUED past expiry
	// before the expiry batch got to them.
	Expired int64 `json:"expired"`
}

// Totals sum the window. Remaining is the stock the listed events can still
// give out (their total minus issued, summed); Conversion is Used / Issued
// of the window (0 when nothing was issued).
type Totals struct {
	Issued             int64    `json:"issued"`
	Used               int64    `json:"used"`
	Canceled           int64    `json:"canceled"`
	Expired            int64    `json:"expired"`
	Remaining          int64    `json:"remaining"`
	Conversion         float64  `json:"conversion"`
	UniqueMembers      int64    `json:"unique_members"`
	RepeatMembers      int64    `json:"repeat_members"`
	MedianMinutesToUse *float64 `json:"median_minutes_to_use"`
}

// EventSummary is one row of the event table: the event's lifetime summary,
// the same numbers as the event's own summary. Unclaimed = total - issued,
// unused = issued - used.
type EventSummary struct {
	ID        int64  `json:"id"`
	Title     string `json:"title"`
	Status    string `json:"status"`
	Total     int64  `json:"total"`
	Issued    int64  `json:"issued"`
	Unclaimed int64  `json:"unclaimed"`
	Used      int64  `json:"used"`
	Unused    int64  `json:"unused"`
}

// NewEventSummary derives unclaimed and unused from the three stored counts.
func NewEventSummary(id int64, title, status string, total, issued, used int64) EventSummary {
	return EventSummary{ID: id, Title: title, Status: status, Total: total, Issued: issued,
		Unclaimed: total - issued, Used: used, Unused: issued - used}
}

// BestHour is a suggested launch slot: a local weekday (0 = Monday, the
// heatmap's row) and hour with many uses in the window.
type BestHour struct {
	Weekday int    `json:"weekday"`
	Day     string `json:"day"`
	Hour    int    `json:"hour"`
	Uses    int64  `json:"uses"`
}

var weekdays = [7]string{"MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"}

// Authorizer returns the store if the caller may see its dashboard
// (*store.Service.Authorize: the owner or an admin).
type Authorizer interface {
	Authorize(ctx context.Context, p auth.Principal, storeID int64) (store.Store, error)
}

// Service computes dashboards and folds rollups.
type Service struct {
	db     *pgxpool.Pool
	stores Authorizer
	now    func() time.Time
}

// NewService returns the dashboard service.
func NewService(db *pgxpool.Pool, stores Authorizer) *Service {
	return &Service{db: db, stores: stores, now: time.Now}
}

// Get returns the dashboard of a store the caller owns, for q in the store's
// zone unless q names another.
func (s *Service) Get(ctx context.Context, p auth.Principal, storeID int64, q Query) (Dashboard, error) {
	st, err := s.stores.Authorize(ctx, p, storeID)
	if err != nil {
		return Dashboard{}, err
	}
	now := s.now()
	w, err := q.Window(st.Timezone, now)
	if err != nil {
		return Dashboard{}, err
	}
	return s.Compute(ctx, storeID, w, now)
}

// slotCounts is one 15-minute slot's summed counts.
type slotCounts struct {
	slot                             time.Time
	issued, used, canceled, expiring int64
}

// Compute builds the dashboard of a store from the rollups, as of now (now
// decides which expiries have happened). Callers check ownership.
//
// It costs five index range scans in one snapshot and one round trip: the
// window's slots (at most 96 a day), its day and edge cells, the deltas not
// folded yet, the store's events, and — only when the window contains now —
// the coupons expiring in the rest of the current slot.
func (s *Service) Compute(ctx context.Context, storeID int64, w Window, now time.Time) (Dashboard, error) {
	a, b := w.From(), w.To()
	d1, d2 := wholeDays(a, b)
	cur := now.Truncate(Slot) // Unix-aligned; Slot divides a day
	straddle := !now.Before(a) && now.Before(b)

	// One REPEATABLE READ snapshot for all five reads (a fold committing
	// between the cells and the pending deltas would otherwise be counted
	// twice or not at all), opened and closed inside the batch so the
	// whole read is one round trip. On an error the server skips the rest,
	// COMMIT included, and the pool discards the connection.
	batch := &pgx.Batch{}
	batch.Queue(`BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY`)
	var slots []slotCounts
	// Folded slots and unfolded deltas. A fold moves rows between the two
	// in one transaction and this reads one snapshot, so each change is
	// seen exactly once. PK and (store_id, slot) range scans; no
	// GROUP BY: every number is a sum, so Go adds the rows into buckets
	// as they stream (a slot may come twice: folded and pending).
	batch.Queue(`
		SELECT slot, issued, used, canceled, expiring FROM dashboard_slots
		WHERE store_id = $1 AND slot >= $2 AND slot < $3
		UNION ALL
		SELECT slot, issued, used, canceled, expiring FROM dashboard_deltas
		WHERE store_id = $1 AND slot >= $2 AND slot < $3
		  AND (issued <> 0 OR used <> 0 OR canceled <> 0 OR expiring <> 0)`, storeID, a, b).Query(func(rows pgx.Rows) error {
		var c slotCounts
		_, err := pgx.ForEachRow(rows, []any{&c.slot, &c.issued, &c.used, &c.canceled, &c.expiring}, func() error {
			slots = append(slots, c)
			return nil
		})
		return err
	})

	mem := newMembers()
	hist := histogram{}
	// Day cells cover [d1, d2), slot cells the edges [a, d1) and [d2, b).
	batch.Queue(`
		SELECT members_once, members_twice, minutes, minute_counts
		FROM dashboard_cells
		WHERE store_id = $1
		  AND ((grain = 'SLOT' AND ((start >= $2 AND start < $3) OR (start >= $4 AND start < $5)))
		    OR (grain = 'DAY' AND start >= $3 AND start < $4))`, storeID, a, d1, d2, b).Query(func(rows pgx.Rows) error {
		var once, twice []byte
		var minutes, counts []int32
		_, err := pgx.ForEachRow(rows, []any{&once, &twice, &minutes, &counts}, func() error {
			o, err := decodeBitmap(once)
			if err != nil {
				return err
			}
			t, err := decodeBitmap(twice)
			if err != nil {
				return err
			}
			mem.addCell(o, t)
			hist.addArrays(minutes, counts)
			return nil
		})
		return err
	})
	batch.Queue(`
		SELECT members, use_minutes, unuse_minutes FROM dashboard_deltas
		WHERE store_id = $1 AND slot >= $2 AND slot < $3
		  AND (members IS NOT NULL OR use_minutes IS NOT NULL OR unuse_minutes IS NOT NULL)`,
		storeID, a, b).Query(func(rows pgx.Rows) error {
		var ids []int64
		var use, unuse []int32
		_, err := pgx.ForEachRow(rows, []any{&ids, &use, &unuse}, func() error {
			for _, id := range ids {
				mem.addOne(id)
			}
			for _, m := range use {
				hist[m]++
			}
			for _, m := range unuse {
				hist[m]--
			}
			return nil
		})
		return err
	})
	var events []EventSummary
	queueEvents(batch, storeID, a, b, &events)
	var notYetExpired int64
	if straddle {
		// The current slot's expiring count includes coupons that expire
		// later in the slot. Those are still ISSUED (the expiry batch only
		// expires what is past due), so coupons_expiry_idx finds them.
		batch.Queue(`
			SELECT count(*) FROM coupons
			WHERE status = 'ISSUED' AND expires_at > $2 AND expires_at < $3 AND store_id = $1`,
			storeID, now, cur.Add(Slot)).QueryRow(func(r pgx.Row) error { return r.Scan(&notYetExpired) })
	}
	batch.Queue(`COMMIT`)
	if err := s.db.SendBatch(ctx, batch).Close(); err != nil {
		return Dashboard{}, fmt.Errorf("read dashboard rollups of store %d: %w", storeID, err)
	}

	d := newDashboard(storeID, w)
	d.Events = events
	for _, c := range slots {
		i := w.Index(c.slot)
		if i < 0 {
			continue
		}
		p := &d.Series[i]
		p.Issued += c.issued
		p.Used += c.used
		p.Canceled += c.canceled
		if !c.slot.After(now) {
			// A past slot, or the current one (corrected below); later
			// slots' coupons have not expired yet.
			p.Expired += c.expiring
		}
		if c.used != 0 {
			l := c.slot.In(w.Loc)
			d.Heatmap[(int(l.Weekday())+6)%7][l.Hour()] += c.used
		}
	}
	if straddle {
		// Once, however many rows the current slot came in.
		d.Series[w.Index(cur)].Expired -= notYetExpired
	}
	d.Totals.UniqueMembers = mem.unique()
	d.Totals.RepeatMembers = mem.repeats()
	d.Totals.MedianMinutesToUse = hist.median()
	d.finish()
	return d, nil
}

// wholeDays returns the UTC days [d1, d2) inside [a, b); d1 == d2 == b
// when there is none.
func wholeDays(a, b time.Time) (d1, d2 time.Time) {
	const day = 24 * time.Hour
	d1 = a.Truncate(day) // Unix-aligned: UTC midnight
	if d1.Before(a) {
		d1 = d1.Add(day)
	}
	d2 = b.Truncate(day)
	if !d1.Before(d2) {
		return b, b
	}
	return d1, d2
}

// queueEvents reads the store's events that could have had activity in
// [a, b): issue window started before b, and coupons still valid at a.
// Their counts are the events' own (issued_count, used_count kept by the
// issue package in the issuing and redeeming transactions): one row per
// event and no join to coupons, so nothing is counted twice.
func queueEvents(batch *pgx.Batch, storeID int64, a, b time.Time, out *[]EventSummary) {
	batch.Queue(`
		SELECT id, title, status, total_quantity, issued_count, used_count
		FROM coupon_events
		WHERE store_id = $1 AND issue_starts_at < $3
		  AND coalesce(valid_until, issue_ends_at + make_interval(hours => valid_hours)) >= $2
		ORDER BY id`, storeID, a, b).Query(func(rows pgx.Rows) error {
		var err error
		*out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (EventSummary, error) {
			var id, total, issued, used int64
			var title, status string
			if err := r.Scan(&id, &title, &status, &total, &issued, &used); err != nil {
				return EventSummary{}, err
			}
			return NewEventSummary(id, title, status, total, issued, used), nil
		})
		return err
	})
}

// newDashboard returns the zero-filled frame of a window.
func newDashboard(storeID int64, w Window) Dashboard {
	d := Dashboard{
		StoreID:  storeID,
		Timezone: w.Loc.String(),
		Bucket:   w.Bucket,
		From:     w.From(),
		To:       w.To(),
		Series:   make([]Point, w.Len()),
		Events:   []EventSummary{},
	}
	for i := range d.Series {
		d.Series[i].BucketStart = w.Edges[i]
	}
	return d
}

// finish derives the totals, the remaining stock and the best hours from
// the series, events and heatmap.
func (d *Dashboard) finish() {
	for _, p := range d.Series {
		d.Totals.Issued += p.Issued
		d.Totals.Used += p.Used
		d.Totals.Canceled += p.Canceled
		d.Totals.Expired += p.Expired
	}
	if d.Totals.Issued > 0 {
		d.Totals.Conversion = float64(d.Totals.Used) / float64(d.Totals.Issued)
	}
	for _, e := range d.Events {
		d.Totals.Remaining += max(e.Unclaimed, 0)
	}
	d.BestHours = bestHours(d.Heatmap, 3)
}

// bestHours is the n busiest weekday-hour slots by uses, busiest first;
// ties go to the earlier slot in the week. Slots without uses are never
// suggested.
func bestHours(h [7][24]int64, n int) []BestHour {
	var all []BestHour
	for wd := range h {
		for hr, uses := range h[wd] {
			if uses > 0 {
				all = append(all, BestHour{Weekday: wd, Day: weekdays[wd], Hour: hr, Uses: uses})
			}
		}
	}
	slices.SortStableFunc(all, func(x, y BestHour) int { return cmp.Compare(y.Uses, x.Uses) })
	if len(all) > n {
		all = all[:n]
	}
	if all == nil {
		all = []BestHour{}
	}
	return all
}
