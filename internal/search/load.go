package search

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The search package reads stores and coupon_events (never writes them):
// the index is a projection of PostgreSQL, and rebuilding it from there is
// always correct.
//
// selectDocs is one row per store with its events as JSON. Events are those a
// customer may still get: ACTIVE, window not over, not sold out, the newest
// 20 per store (a store with more is spamming, and the document must stay
// small). Their titles are searchable; what is issuable *now* is read at
// query time (storeRows).
//
// The version is the latest updated_at of the store and of all its events,
// not only the listed ones, so that an event ending bumps it too. Both
// subqueries walk coupon_events_store_idx (store_id, id).
const selectDocs = `
	SELECT s.id, s.name, s.category, s.description, s.address,
	       ST_Y(s.location::geometry), ST_X(s.location::geometry),
	       s.deleted_at IS NOT NULL,
	       greatest(s.updated_at, (SELECT max(updated_at) FROM coupon_events WHERE store_id = s.id)),
	       coalesce(ev.events, '[]')
	FROM stores s
	LEFT JOIN LATERAL (
		SELECT json_agg(json_build_object('id', e.id, 'title', e.title) ORDER BY e.id) AS events
		FROM (SELECT * FROM coupon_events e
		      WHERE e.store_id = s.id AND e.status = 'ACTIVE'
		        AND e.issue_ends_at > now() AND e.issued_count < e.total_quantity
		      ORDER BY e.id DESC LIMIT 20) e
	) ev ON true`

func scanDoc(row pgx.CollectableRow) (Doc, error) {
	var d Doc
	var version time.Time
	if err := row.Scan(&d.StoreID, &d.Name, &d.Category, &d.Description, &d.Address,
		&d.Location.Lat, &d.Location.Lon, &d.Deleted, &version, &d.Events); err != nil {
		return Doc{}, err
	}
	d.Version = version.UnixMicro()
	d.CategoryText = CategoryText(d.Category)
	d.EventText = eventText(d.Events)
	return d, nil
}

// loadDocs returns the documents of ids. A store that does not exist at all
// comes back as a Deleted doc with version 0 (an unconditional delete).
func loadDocs(ctx context.Context, db *pgxpool.Pool, ids []int64) ([]Doc, error) {
	rows, _ := db.Query(ctx, selectDocs+` WHERE s.id = ANY($1)`, ids)
	docs, err := pgx.CollectRows(rows, scanDoc)
	if err != nil {
		return nil, fmt.Errorf("load %d stores: %w", len(ids), err)
	}
	found := make(map[int64]bool, len(docs))
	for _, d := range docs {
		found[d.StoreID] = true
	}
	for _, id := range ids {
		if !found[id] {
			docs = append(docs, Doc{StoreID: id, Deleted: true})
			found[id] = true // ids may repeat
		}
	}
	return docs, nil
}

// loadPage returns up to n live stores with ids above after, in id order:
// keyset paging for the full reindex, one index range scan per page.
func loadPage(ctx context.Context, db *pgxpool.Pool, after int64, n int) ([]Doc, error) {
	rows, _ := db.Query(ctx, selectDocs+`
		WHERE s.id > $1 AND s.deleted_at IS NULL ORDER BY s.id LIMIT $2`, after, n)
	docs, err := pgx.CollectRows(rows, scanDoc)
	if err != nil {
		return nil, fmt.Errorf("load stores after %d: %w", after, err)
	}
	return docs, nil
}

// changedSince lists stores changed (or whose events changed) at or after
// t, deleted ones included. The reindex uses it to catch up with writes that
// the sync sent to the old index while the new one was being built. Neither
// table has an index on updated_at: this is a sequential scan, run twice per
// reindex, not per request.
func changedSince(ctx context.Context, db *pgxpool.Pool, t time.Time) ([]int64, error) {
	rows, _ := db.Query(ctx, `
		SELECT id FROM stores WHERE updated_at >= $1
		UNION
		SELECT store_id FROM coupon_events WHERE updated_at >= $1`, t)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("stores changed since %s: %w", t.Format(time.RFC3339), err)
	}
	return ids, nil
}

// dbNow is PostgreSQL's clock: updated_at values come from it, so catch-up
// windows must be measured with it, not with this machine's.
func dbNow(ctx context.Context, db *pgxpool.Pool) (time.Time, error) {
	var t time.Time
	if err := db.QueryRow(ctx, `SELECT now()`).Scan(&t); err != nil {
		return time.Time{}, fmt.Errorf("database clock: %w", err)
	}
	return t, nil
}

// storeRows reads what a search result shows of stores ids: the store as
// it is now (a store deleted a moment ago is simply absent) and its events
// that a customer can get right now, with live remaining stock. The index
// is told neither about issuances (far too many) nor about windows opening
// and closing (nobody writes anything then), so both are decided here.
//
// One statement for a page of results: primary-key lookups on stores and,
// per store, a range scan of coupon_events_store_idx (store_id, id).
func storeRows(ctx context.Context, db *pgxpool.Pool, ids []int64) (map[int64]storeRow, error) {
	rows, _ := db.Query(ctx, `
		SELECT s.id, s.name, s.category, s.address,
		       ST_Y(s.location::geometry), ST_X(s.location::geometry),
		       coalesce((
		           SELECT json_agg(json_build_object(
		                      'id', e.id, 'title', e.title,
		                      'discount_type', e.discount_type, 'discount_value', e.discount_value,
		                      'remaining', e.total_quantity - e.issued_count,
		                      'issue_ends_at', e.issue_ends_at) ORDER BY e.issue_ends_at, e.id)
		           FROM (SELECT * FROM coupon_events e
		                 WHERE e.store_id = s.id AND e.status = 'ACTIVE'
		                   AND e.issue_starts_at <= now() AND e.issue_ends_at > now()
		                   AND e.issued_count < e.total_quantity
		                 ORDER BY e.issue_ends_at, e.id LIMIT 10) e
		       ), '[]')
		FROM stores s
		WHERE s.id = ANY($1) AND s.deleted_at IS NULL`, ids)
	out := make(map[int64]storeRow, len(ids))
	var r storeRow
	_, err := pgx.ForEachRow(rows, []any{&r.Store.ID, &r.Store.Name, &r.Store.Category, &r.Store.Address,
		&r.Store.Lat, &r.Store.Lng, &r.Events}, func() error {
		out[r.Store.ID] = r
		r = storeRow{}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("stores of a search result: %w", err)
	}
	return out, nil
}

// storeRow is one store of a search result.
type storeRow struct {
	Store  StoreSummary
	Events []Event
}
