package push

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/couponpop/couponpop/internal/outbox"
)

// content is what one push says, the same for every device of a member.
type content struct {
	kind  string // data kind: EVENT_NEW, COUPON_ISSUED, ...
	title string
	body  string
	data  map[string]string
}

// eventInfo is what a push says about a coupon event.
type eventInfo struct {
	Title         string
	DiscountType  string
	DiscountValue int
	StoreName     string
}

// loadEvents reads the events a batch mentions, in one query by primary key.
func loadEvents(ctx context.Context, db *pgxpool.Pool, ids []int64) (map[int64]eventInfo, error) {
	out := make(map[int64]eventInfo, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := db.Query(ctx, `
		SELECT e.id, e.title, e.discount_type, e.discount_value, s.name
		FROM coupon_events e JOIN stores s ON s.id = e.store_id
		WHERE e.id = ANY($1)`, ids)
	if err != nil {
		return nil, fmt.Errorf("load events: %w", err)
	}
	var id int64
	var ev eventInfo
	_, err = pgx.ForEachRow(rows, []any{&id, &ev.Title, &ev.DiscountType, &ev.DiscountValue, &ev.StoreName}, func() error {
		out[id] = ev
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load events: %w", err)
	}
	return out, nil
}

func (e eventInfo) discount() string {
	if e.DiscountType == "PERCENT" {
		return strconv.Itoa(e.DiscountValue) + "% off"
	}
	return strconv.Itoa(e.DiscountValue) + " off"
}

// render writes the push of job j for a member in loc. A missing event
// (deleted since) still gets a push with what the payload says: the news
// happened, and the app can open it by id.
func render(j *Job, p *payload, events map[int64]eventInfo, loc *time.Location) content {
	kind, _ := dataKind(j.Kind)
	c := content{kind: kind, data: map[string]string{"kind": kind, "trace_id": j.TraceID}}
	set := func(k string, v int64) {
		if v > 0 {
			c.data[k] = strconv.FormatInt(v, 10)
		}
	}
	set("coupon_id", p.CouponID)
	set("event_id", p.EventID)
	set("store_id", p.StoreID)
	set("area_id", p.AreaID)
	ev, known := events[p.EventID]
	if !known {
		ev = eventInfo{Title: "A coupon", StoreName: "a store you follow"}
	}
	switch j.Kind {
	case outbox.EventCreated:
		c.title = ev.StoreName + ": new coupon"
		c.body = ev.Title
		if known {
			c.body += " — " + ev.discount()
		}
	case outbox.CouponIssued:
		c.title = "Coupon issued"
		c.body = ev.Title + " at " + ev.StoreName
	case outbox.CouponUsed:
		c.title = "Coupon used"
		c.body = ev.Title + " at " + ev.StoreName + " was redeemed"
	case outbox.CouponExpiring:
		c.title = "Your coupon expires soon"
		c.body = ev.Title + " at " + ev.StoreName
		if !p.ExpiresAt.IsZero() {
			c.data["expires_at"] = p.ExpiresAt.UTC().Format(time.RFC3339)
			c.body += " expires " + p.ExpiresAt.In(loc).Format("Jan 2 15:04")
		}
	case outbox.AreaEntered:
		ids := make([]string, len(p.EventIDs))
		for i, id := range p.EventIDs {
			ids[i] = strconv.FormatInt(id, 10)
		}
		c.data["event_ids"] = strings.Join(ids, ",")
		area := p.AreaName
		if area == "" {
			area = "here"
		}
		c.title = "Coupons near " + area
		if n := len(p.EventIDs); n == 1 {
			c.body = "1 coupon you can get right now"
		} else {
			c.body = strconv.Itoa(n) + " coupons you can get right now"
		}
	}
	return c
}
