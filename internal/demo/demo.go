// Package demo loads the demo data `make run` serves: forty stores around
// five Seoul hot spots, their owners, a customer, and coupon events that
// show every state the map app draws (live, sold out, upcoming,
// geofenced).
//
// Everything goes through the domain services — member signup,
// store.Service.Create, issue.Service.CreateEvent and Issue — so the same
// validation, outbox rows, Redis gate and listeners run as for a real
// merchant. Load is idempotent: each thing has a stable key (an account's
// email, a store's owner and name, an event's store and title while its
// window lasts) and is created only when nothing has that key, so a second
// run changes nothing.
package demo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/couponpop/couponpop/internal/auth"
	"github.com/couponpop/couponpop/internal/geo"
	"github.com/couponpop/couponpop/internal/issue"
	"github.com/couponpop/couponpop/internal/member"
	"github.com/couponpop/couponpop/internal/store"
)

// MemberService is what Load needs of the member domain.
type MemberService interface {
	Signup(ctx context.Context, in member.SignupInput) (member.Member, error)
}

// StoreService is what Load needs of the store domain.
type StoreService interface {
	Create(ctx context.Context, p auth.Principal, in store.Input) (store.Store, error)
	ListOwned(ctx context.Context, ownerID int64) ([]store.Store, error)
}

// IssueService is what Load needs of the issuance domain.
type IssueService interface {
	CreateEvent(ctx context.Context, p auth.Principal, storeID int64, in issue.EventInput) (issue.Event, error)
	ListStoreEvents(ctx context.Context, storeID int64) ([]issue.Event, error)
	Issue(ctx context.Context, p auth.Principal, eventID int64, at geo.Point) (issue.Coupon, error)
	Redeem(ctx context.Context, p auth.Principal, code, qrToken string) (issue.Coupon, error)
}

// Deps are the services Load creates data through. DB is only read, to
// find an account by email (the member service has no such lookup: the
// API never needs one).
type Deps struct {
	DB      *pgxpool.Pool
	Members MemberService
	Stores  StoreService
	Issue   IssueService
}

// Report counts what exists after Load and what this run created.
type Report struct {
	Accounts, NewAccounts int
	Stores, NewStores     int
	Events, NewEvents     int
	NewCoupons            int // issued by this run (sold-out events, the demo customer's)
	NewRedeems            int
}

func (r Report) String() string {
	return fmt.Sprintf("%d accounts (%d new), %d stores (%d new), %d events (%d new), %d coupons issued and %d redeemed by this run",
		r.Accounts, r.NewAccounts, r.Stores, r.NewStores, r.Events, r.NewEvents, r.NewCoupons, r.NewRedeems)
}

// Load creates whatever of the demo data is missing.
func Load(ctx context.Context, d Deps) (Report, error) {
	var r Report
	now := time.Now()

	owners := make([]auth.Principal, len(Owners))
	for i, a := range Owners {
		p, err := d.account(ctx, a, &r)
		if err != nil {
			return r, err
		}
		owners[i] = p
	}
	customer, err := d.account(ctx, Customer, &r)
	if err != nil {
		return r, err
	}
	people := make([]auth.Principal, len(crowd))
	for i, a := range crowd {
		if people[i], err = d.account(ctx, a, &r); err != nil {
			return r, err
		}
	}

	stores, err := d.stores(ctx, owners, &r)
	if err != nil {
		return r, err
	}

	events := make(map[string]issue.Event, len(Events))
	for _, e := range Events {
		st := stores[e.Store]
		ev, err := d.event(ctx, owners[ownerOf(e.Store)], st, e, now, &r)
		if err != nil {
			return r, err
		}
		events[e.Title] = ev
		if e.Kind == SoldOut {
			if err := d.sellOut(ctx, ev, st.Point(), people, &r); err != nil {
				return r, err
			}
		}
	}

	for i, title := range customerCoupons {
		e := eventByTitle(title)
		st := stores[e.Store]
		c, err := d.Issue.Issue(ctx, customer, events[title].ID, st.Point())
		if errors.Is(err, issue.ErrAlreadyIssued) {
			continue // a previous run gave it
		}
		if err != nil {
			return r, fmt.Errorf("issue %q to the demo customer: %w", title, err)
		}
		r.NewCoupons++
		if i == 0 {
			// One coupon already used, so "my coupons" shows both states.
			if _, err := d.Issue.Redeem(ctx, owners[ownerOf(e.Store)], c.Code, ""); err != nil {
				return r, fmt.Errorf("redeem the demo customer's %q: %w", title, err)
			}
			r.NewRedeems++
		}
	}
	return r, nil
}

// account finds a by email or signs it up.
func (d Deps) account(ctx context.Context, a Account, r *Report) (auth.Principal, error) {
	r.Accounts++
	id, err := d.memberID(ctx, a.Email)
	if err == nil {
		return auth.Principal{MemberID: id, Role: a.Role}, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return auth.Principal{}, err
	}
	m, err := d.Members.Signup(ctx, member.SignupInput{Email: a.Email, Password: Password, Nickname: a.Nickname, Role: string(a.Role)})
	if errors.Is(err, member.ErrEmailTaken) {
		// Another seed run got there first.
		id, err := d.memberID(ctx, a.Email)
		return auth.Principal{MemberID: id, Role: a.Role}, err
	}
	if err != nil {
		return auth.Principal{}, fmt.Errorf("sign up %s: %w", a.Email, err)
	}
	r.NewAccounts++
	return auth.Principal{MemberID: m.ID, Role: a.Role}, nil
}

func (d Deps) memberID(ctx context.Context, email string) (int64, error) {
	var id int64
	err := d.DB.QueryRow(ctx, `SELECT id FROM members WHERE email = $1`, email).Scan(&id)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return 0, fmt.Errorf("find member %s: %w", email, err)
	}
	return id, err
}

// stores finds or creates every demo store, keyed by name.
func (d Deps) stores(ctx context.Context, owners []auth.Principal, r *Report) (map[string]store.Store, error) {
	byName := make(map[string]store.Store, len(Stores))
	for _, o := range owners {
		owned, err := d.Stores.ListOwned(ctx, o.MemberID)
		if err != nil {
			return nil, err
		}
		for _, s := range owned {
			byName[s.Name] = s
		}
	}
	for _, s := range Stores {
		r.Stores++
		if st, ok := byName[s.Name]; ok && st.OwnerID == owners[s.Owner].MemberID {
			continue
		}
		st, err := d.Stores.Create(ctx, owners[s.Owner], store.Input{
			Name: &s.Name, Category: &s.Category, Description: &s.Description, Address: &s.Address,
			Phone: &s.Phone, Lat: &s.Lat, Lng: &s.Lng,
		})
		if err != nil {
			return nil, fmt.Errorf("create store %q: %w", s.Name, err)
		}
		byName[s.Name] = st
		r.NewStores++
	}
	return byName, nil
}

// event finds e among the store's events whose window has not ended, or
// launches it.
func (d Deps) event(ctx context.Context, owner auth.Principal, st store.Store, e Event, now time.Time, r *Report) (issue.Event, error) {
	r.Events++
	existing, err := d.Issue.ListStoreEvents(ctx, st.ID)
	if err != nil {
		return issue.Event{}, err
	}
	for _, ev := range existing {
		if ev.Title == e.Title && ev.IssueEndsAt.After(now) {
			return ev, nil
		}
	}
	in := e.input(now)
	ev, err := d.Issue.CreateEvent(ctx, owner, st.ID, in)
	if err != nil {
		return issue.Event{}, fmt.Errorf("create event %q at %q: %w", e.Title, st.Name, err)
	}
	r.NewEvents++
	return ev, nil
}

// input is the create body of e for a run at now.
func (e Event) input(now time.Time) issue.EventInput {
	now = now.Truncate(time.Second)
	start := now // in the past by the time it is validated: "from now"
	if e.Kind == Upcoming {
		start = now.Add(e.StartsIn)
	}
	end := start.Add(e.Lasts)
	in := issue.EventInput{
		Title: &e.Title, Description: &e.Description, DiscountType: &e.DiscountType,
		DiscountValue: &e.DiscountValue, TotalQuantity: &e.Quantity,
		IssueStartsAt: &start, IssueEndsAt: &end,
	}
	if e.MaxDiscount > 0 {
		in.MaxDiscountAmount = &e.MaxDiscount
	}
	if e.MinOrder > 0 {
		in.MinOrderAmount = &e.MinOrder
	}
	if e.ValidHours > 0 {
		in.ValidHours = &e.ValidHours
	} else {
		until := end.Add(7 * 24 * time.Hour)
		in.ValidUntil = &until
	}
	if e.PerMemberLimit > 0 {
		in.PerMemberLimit = &e.PerMemberLimit
	}
	if e.GeofenceM > 0 {
		in.GeofenceM = &e.GeofenceM
	}
	return in
}

// sellOut issues ev's remaining coupons to the crowd, through the real
// issuance path, until SOLD_OUT.
func (d Deps) sellOut(ctx context.Context, ev issue.Event, at geo.Point, people []auth.Principal, r *Report) error {
	if ev.Remaining == 0 {
		return nil
	}
	for _, p := range people {
		_, err := d.Issue.Issue(ctx, p, ev.ID, at)
		switch {
		case err == nil:
			r.NewCoupons++
		case errors.Is(err, issue.ErrSoldOut):
			return nil
		case errors.Is(err, issue.ErrAlreadyIssued):
		default:
			return fmt.Errorf("sell out %q: %w", ev.Title, err)
		}
	}
	return nil
}

func ownerOf(storeName string) int {
	for _, s := range Stores {
		if s.Name == storeName {
			return s.Owner
		}
	}
	panic("demo: no store " + storeName) // the data is checked by TestDataIsConsistent
}

func eventByTitle(title string) Event {
	for _, e := range Events {
		if e.Title == title {
			return e
		}
	}
	panic("demo: no event " + title)
}
