package geo

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/couponpop/couponpop/internal/outbox"
)

// Area is a named hot spot containing a reported location.
type Area struct {
	ID   int64  `json:"id"`
	Slug string `json:"slug"`
	Name string `json:"name"`
	// Entered is true when this report is the member's first inside the
	// area on their day: the one that recorded the entry (and may push).
	Entered bool `json:"entered"`
}

// Location is the answer to a location report.
type Location struct {
	Areas   []Area `json:"areas"`   // every area containing the point
	Entered []Area `json:"entered"` // those entered by this report
	Nearby  Nearby `json:"nearby"`
}

// maxAreaEvents bounds the event ids an AREA_ENTERED message carries; the
// push says "N coupons you can get right now" and the app opens the area.
const maxAreaEvents = 100

// ReportLocation records where a member is. Each area containing the point
// gets an entry at most once per member, area and day — the day in the
// member's time zone — and an entry writes an AREA_ENTERED outbox row in
// the same transaction, carrying the area's issuable events for the push
// worker. It answers the areas and what is nearby.
func (s *Service) ReportLocation(ctx context.Context, memberID int64, at Point) (Location, error) {
	loc := Location{Areas: []Area{}, Entered: []Area{}}
	now := s.now()
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		// The primary key (member, area, day) makes "once a day" hold
		// when two reports race: the second waits for the first and its
		// insert does nothing.
		rows, _ := tx.Query(ctx, `
			WITH inside AS (
				SELECT a.id, a.slug, a.name FROM areas a
				WHERE ST_Covers(a.polygon, ST_GeomFromEWKB($2)::geography)
			), today AS (
				SELECT ($3::timestamptz AT TIME ZONE m.timezone)::date AS day FROM members m WHERE m.id = $1
			), ins AS (
				INSERT INTO area_entries (member_id, area_id, day, entered_at)
				SELECT $1, i.id, t.day, $3 FROM inside i CROSS JOIN today t
				ON CONFLICT DO NOTHING
				RETURNING area_id, day
			)
			SELECT i.id, i.slug, i.name, ins.day
			FROM inside i LEFT JOIN ins ON ins.area_id = i.id
			ORDER BY i.id`, memberID, at.EWKB(), now)
		var a Area
		var day *time.Time
		days := map[int64]string{}
		_, err := pgx.ForEachRow(rows, []any{&a.ID, &a.Slug, &a.Name, &day}, func() error {
			a.Entered = day != nil
			loc.Areas = append(loc.Areas, a)
			if a.Entered {
				loc.Entered = append(loc.Entered, a)
				days[a.ID] = day.Format(time.DateOnly)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("record area entries: %w", err)
		}
		if len(loc.Entered) == 0 {
			return nil
		}
		events, err := s.areaEvents(ctx, tx, loc.Entered, now)
		if err != nil {
			return err
		}
		msgs := make([]outbox.Message, len(loc.Entered))
		for i, a := range loc.Entered {
			ids := events[a.ID]
			if ids == nil {
				ids = []int64{}
			}
			msgs[i] = outbox.Message{
				Kind:    outbox.AreaEntered,
				TraceID: fmt.Sprintf("%s:%d:%d:%s", outbox.AreaEntered, memberID, a.ID, days[a.ID]),
				Payload: map[string]any{"member_id": memberID, "area_id": a.ID, "area_name": a.Name,
					"day": days[a.ID], "event_ids": ids},
			}
		}
		return outbox.Add(ctx, tx, msgs...)
	})
	if err != nil {
		return Location{}, err
	}
	s.m.entries.Add(float64(len(loc.Entered)))

	q, _ := NewQuery(at, DefaultRadiusM, "", DefaultLimit)
	loc.Nearby, err = s.Nearby(ctx, q)
	if err != nil {
		return Location{}, err
	}
	return loc, nil
}

// areaEvents lists the issuable events of the stores inside each area,
// ending soonest first, with the gate's stock when Redis answers.
func (s *Service) areaEvents(ctx context.Context, tx pgx.Tx, areas []Area, now time.Time) (map[int64][]int64, error) {
	ids := make([]int64, len(areas))
	for i, a := range areas {
		ids[i] = a.ID
	}
	rows, err := tx.Query(ctx, `
		SELECT a.id, e.id, e.total_quantity - e.issued_count
		FROM areas a
		JOIN stores s ON s.deleted_at IS NULL AND ST_Covers(a.polygon, s.location)
		JOIN coupon_events e ON e.store_id = s.id AND e.status = 'ACTIVE'
		     AND e.issue_starts_at <= $2 AND e.issue_ends_at > $2 AND e.issued_count < e.total_quantity
		WHERE a.id = ANY($1)
		ORDER BY a.id, e.issue_ends_at, e.id`, ids, now)
	if err != nil {
		return nil, fmt.Errorf("area events: %w", err)
	}
	type row struct {
		area, event int64
		left        int
	}
	var all []row
	var r row
	if _, err := pgx.ForEachRow(rows, []any{&r.area, &r.event, &r.left}, func() error {
		all = append(all, r)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("area events: %w", err)
	}
	stock := map[int64]int{}
	if s.gateUp() && len(all) > 0 {
		eids := make([]int64, len(all))
		for i, r := range all {
			eids[i] = r.event
		}
		if err := s.lookupStock(ctx, eids, stock); err != nil {
			s.redisFailed(err)
			stock = map[int64]int{}
		}
	}
	out := make(map[int64][]int64, len(areas))
	for _, r := range all {
		left := r.left
		if g, ok := stock[r.event]; ok && g != noGate {
			left = g
		}
		if left > 0 && len(out[r.area]) < maxAreaEvents {
			out[r.area] = append(out[r.area], r.event)
		}
	}
	return out, nil
}
