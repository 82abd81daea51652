package push

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// zones caches time.LoadLocation, which reads the zoneinfo file each call.
var zones sync.Map // string → *time.Location

func location(name string) *time.Location {
	if l, ok := zones.Load(name); ok {
		return l.(*time.Location)
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		l = time.UTC
	}
	zones.Store(name, l)
	return l
}

// loadRecipients reads members' time zones, quiet hours and devices in one
// query: members by primary key, preferences by primary key, devices by
// devices_member_idx. A member with no devices comes back with none; a
// member who no longer exists does not come back.
func (w *Worker) loadRecipients(ctx context.Context, members []int64) (map[int64]*recipient, error) {
	rows, err := w.db.Query(ctx, `
		SELECT m.id, coalesce(p.timezone, m.timezone), p.quiet_start, p.quiet_end, d.token, d.platform
		FROM members m
		LEFT JOIN notification_preferences p ON p.member_id = m.id
		LEFT JOIN devices d ON d.member_id = m.id
		WHERE m.id = ANY($1)
		ORDER BY m.id, d.id`, members)
	if err != nil {
		return nil, fmt.Errorf("load recipients: %w", err)
	}
	out := make(map[int64]*recipient, len(members))
	var id int64
	var tz string
	var qs, qe *int16
	var token, platform *string
	_, err = pgx.ForEachRow(rows, []any{&id, &tz, &qs, &qe, &token, &platform}, func() error {
		r, ok := out[id]
		if !ok {
			r = &recipient{loc: location(tz)}
			r.quiet.loc = r.loc
			if qs != nil && qe != nil {
				r.quiet.start, r.quiet.end = int(*qs), int(*qe)
			}
			out[id] = r
		}
		if token != nil {
			r.tokens = append(r.tokens, device{token: *token, platform: *platform})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load recipients: %w", err)
	}
	return out, nil
}

// fanout turns a domain EVENT_CREATED into per-member jobs for the store's
// followers, if the event's issue window is open; one that opens later is
// announced when it does (Announcer). Jobs carry up to 500 members each,
// one SendEach worth.
func (w *Worker) fanout(ctx context.Context, pj *pending, now time.Time) ([]outgoing, error) {
	var storeID int64
	var open bool
	err := w.db.QueryRow(ctx, `
		SELECT store_id, status = 'ACTIVE' AND issue_starts_at <= $2 AND issue_ends_at > $2
		FROM coupon_events WHERE id = $1`, pj.p.EventID, now).Scan(&storeID, &open)
	if errors.Is(err, pgx.ErrNoRows) {
		w.m.result("empty", 1)
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("event %d: %w", pj.p.EventID, err)
	}
	if !open {
		w.m.result("empty", 1)
		return nil, nil
	}
	if _, err := w.db.Exec(ctx, `INSERT INTO event_announcements (event_id) VALUES ($1) ON CONFLICT DO NOTHING`, pj.p.EventID); err != nil {
		return nil, fmt.Errorf("record announcement: %w", err)
	}
	var out []outgoing
	after := int64(0)
	for {
		// store_subscriptions_store_idx (store_id, member_id): each page
		// is one index range scan, however many followers the store has.
		rows, _ := w.db.Query(ctx, `
			SELECT member_id FROM store_subscriptions
			WHERE store_id = $1 AND member_id > $2
			ORDER BY member_id LIMIT $3`, storeID, after, maxPerCall)
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return nil, fmt.Errorf("followers of store %d: %w", storeID, err)
		}
		if len(ids) == 0 {
			break
		}
		j := pj.job
		j.Targets = make([]Target, len(ids))
		for i, id := range ids {
			j.Targets[i] = Target{MemberID: id}
		}
		out = append(out, outgoing{queue: w.cfg.Topology.Queue, job: j})
		w.m.fanout.Add(float64(len(ids)))
		after = ids[len(ids)-1]
		if len(ids) < maxPerCall {
			break
		}
	}
	return out, nil
}

// recordHistory deletes dead tokens and upserts the batch's notification
// rows in one statement each.
func (w *Worker) recordHistory(ctx context.Context, st *batchState) error {
	if len(st.gone) > 0 {
		if _, err := w.db.Exec(ctx, `DELETE FROM devices WHERE token = ANY($1)`, st.gone); err != nil {
			return fmt.Errorf("delete unregistered tokens: %w", err)
		}
	}
	if len(st.history) == 0 {
		return nil
	}
	hs := make([]*history, 0, len(st.history))
	for _, h := range st.history {
		hs = append(hs, h)
	}
	// One order for every batch, so two batches upserting the same rows
	// lock them in the same order and cannot deadlock.
	slices.SortFunc(hs, func(a, b *history) int {
		if c := strings.Compare(a.trace, b.trace); c != 0 {
			return c
		}
		return cmp.Compare(a.member, b.member)
	})
	n := len(hs)
	members, attempts := make([]int64, n), make([]int32, n)
	traces, kinds, titles, bodies, datas, statuses, errs := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	after := make([]*time.Time, n)
	for i, h := range hs {
		members[i], traces[i], kinds[i] = h.member, h.trace, h.c.kind
		titles[i], bodies[i], statuses[i] = h.c.title, h.c.body, h.status
		attempts[i], errs[i], after[i] = int32(h.attempts), h.lastError, h.deliverAfter
		b, err := jsonMarshal(h.c.data)
		if err != nil {
			return err
		}
		datas[i] = string(b)
	}
	// The join on members drops rows of members deleted meanwhile instead
	// of failing the whole statement on the foreign key. A row already SENT
	// stays SENT: a later duplicate or a retry of another device does not
	// make the member's history worse.
	_, err := w.db.Exec(ctx, `
		INSERT INTO notifications (member_id, trace_id, kind, title, body, data, status, attempts, last_error, deliver_after, sent_at)
		SELECT u.member_id, u.trace_id, u.kind, u.title, u.body, u.data::jsonb, u.status, u.attempts,
		       nullif(u.last_error, ''), u.deliver_after, CASE WHEN u.status = 'SENT' THEN now() END
		FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::int[], $9::text[], $10::timestamptz[])
		     AS u(member_id, trace_id, kind, title, body, data, status, attempts, last_error, deliver_after)
		JOIN members m ON m.id = u.member_id
		ORDER BY u.trace_id, u.member_id
		ON CONFLICT (trace_id, member_id) DO UPDATE SET
			status        = CASE WHEN notifications.status = 'SENT' THEN 'SENT' ELSE EXCLUDED.status END,
			attempts      = greatest(notifications.attempts, EXCLUDED.attempts),
			last_error    = coalesce(EXCLUDED.last_error, notifications.last_error),
			deliver_after = CASE WHEN EXCLUDED.status = 'DEFERRED' THEN EXCLUDED.deliver_after END,
			sent_at       = coalesce(notifications.sent_at, EXCLUDED.sent_at),
			updated_at    = now()`,
		members, traces, kinds, titles, bodies, datas, statuses, attempts, errs, after)
	if err != nil {
		return fmt.Errorf("upsert notifications: %w", err)
	}
	return nil
}
