package dashboard

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// rawQuery computes every windowed number of a dashboard from coupons in one
// statement. The store's coupons touching the window are read once (a
// sequential scan: coupons has no store/time index, and must not grow one
// for the dashboard's sake, since every index slows issuance), then
// aggregated six ways. Rows are (kind, a, b, n, v):
//
//	I/U/X  bucket number (1-based), -, issued/used/expired count, -
//	H      weekday (0 = Monday), local hour, uses, -
//	M      -, -, unique members, repeat members
//	D      -, -, -, median minutes to use (NULL without uses)
//
// $1 store, $2/$3 the window, $4 the bucket edges, $5 the zone, $6 now.
const rawQuery = `
WITH c AS MATERIALIZED (
    SELECT member_id, status, issued_at, used_at, expires_at
    FROM coupons
    WHERE store_id = $1
      AND ((issued_at >= $2 AND issued_at < $3)
        OR (used_at >= $2 AND used_at < $3)
        OR (expires_at >= $2 AND expires_at < $3))
),
issued AS (SELECT * FROM c WHERE issued_at >= $2 AND issued_at < $3),
used AS (SELECT * FROM c WHERE status = 'USED' AND used_at >= $2 AND used_at < $3)
SELECT 'I', width_bucket(issued_at, $4::timestamptz[]), 0, count(*), 0::float8 FROM issued GROUP BY 2
UNION ALL
SELECT 'U', width_bucket(used_at, $4::timestamptz[]), 0, count(*), 0 FROM used GROUP BY 2
UNION ALL
SELECT 'X', width_bucket(expires_at, $4::timestamptz[]), 0, count(*), 0 FROM c
WHERE status IN ('ISSUED', 'EXPIRED') AND expires_at >= $2 AND expires_at < $3 AND expires_at <= $6
GROUP BY 2
UNION ALL
SELECT 'H', extract(isodow FROM used_at AT TIME ZONE $5)::int - 1, extract(hour FROM used_at AT TIME ZONE $5)::int, count(*), 0
FROM used GROUP BY 2, 3
UNION ALL
SELECT 'M', 0, 0, count(*), count(*) FILTER (WHERE n >= 2)
FROM (SELECT member_id, count(*) AS n FROM issued GROUP BY member_id) m
UNION ALL
SELECT 'D', 0, 0, 0, percentile_cont(0.5) WITHIN GROUP (ORDER BY floor(extract(epoch FROM used_at - issued_at) / 60))
FROM used`

// Raw computes the dashboard straight from coupons and coupon_events, as of
// now. It is exact by definition, except for Canceled, which is always 0:
// coupons keep no record of undone uses, so only the rollups know them.
// The answer is otherwise identical to Compute's (the property test holds
// them to that); it costs a scan of the coupons table.
func (s *Service) Raw(ctx context.Context, storeID int64, w Window, now time.Time) (Dashboard, error) {
	d := newDashboard(storeID, w)
	batch := &pgx.Batch{}
	var median *float64
	var unique, repeat int64
	batch.Queue(rawQuery, storeID, w.From(), w.To(), w.Edges, w.Loc.String(), now).Query(func(rows pgx.Rows) error {
		var kind string
		var a, b int
		var n int64
		var v *float64
		_, err := pgx.ForEachRow(rows, []any{&kind, &a, &b, &n, &v}, func() error {
			switch kind {
			case "I", "U", "X":
				if a < 1 || a > len(d.Series) {
					return fmt.Errorf("raw: bucket %d outside 1..%d", a, len(d.Series))
				}
				p := &d.Series[a-1]
				switch kind {
				case "I":
					p.Issued = n
				case "U":
					p.Used = n
				default:
					p.Expired = n
				}
			case "H":
				d.Heatmap[a][b] = n
			case "M":
				unique, repeat = n, int64(*v)
			case "D":
				median = v
			}
			return nil
		})
		return err
	})
	queueEvents(batch, storeID, w.From(), w.To(), &d.Events)
	if err := s.db.SendBatch(ctx, batch).Close(); err != nil {
		return Dashboard{}, fmt.Errorf("raw dashboard of store %d: %w", storeID, err)
	}
	d.Totals.UniqueMembers, d.Totals.RepeatMembers = unique, repeat
	d.Totals.MedianMinutesToUse = median
	d.finish()
	return d, nil
}
