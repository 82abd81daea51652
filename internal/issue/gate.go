package issue

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/go-redsync/redsync/v4"
	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/couponpop/couponpop/internal/geo"
)

// The gate: Redis keys per event, hash-tagged so that both live in one
// Redis Cluster slot and one Lua script may touch them.
//
//	issue:{ev:ID}     hash: total, reserved, limit, status, gen
//	issue:{ev:ID}:m   hash: member id → coupons reserved or held
//
// "reserved" counts coupons committed or on their way to PostgreSQL. The
// keys are a cache of PostgreSQL rebuilt on demand (buildGate); gen
// changes with each rebuild so that a reservation taken before a rebuild is
// never given back into the new counts.
func gateKeys(eventID int64) []string {
	tag := "issue:{ev:" + strconv.FormatInt(eventID, 10) + "}"
	return []string{tag, tag + ":m"}
}

func lockKey(eventID int64, what string) string {
	return "issue:{ev:" + strconv.FormatInt(eventID, 10) + "}:lock:" + what
}

// reserveScript reserves for a whole batch in one round trip.
// KEYS = gate keys, ARGV = member ids in arrival order.
// Returns {-3} when there is no gate (rebuild it), {-4, gen} when the event
// is suspended, {-5, gen} when it has ended, else {0, gen, o1, o2, ...} with
// one outcome per member: > 0 the member's coupon number, -1 already at the
// limit, -2 sold out.
var reserveScript = redis.NewScript(`
local gen = redis.call('HGET', KEYS[1], 'gen')
if not gen then return {-3} end
local status = redis.call('HGET', KEYS[1], 'status')
if status == 'SUSPENDED' then return {-4, gen} end
if status ~= 'ACTIVE' then return {-5, gen} end
local limit = tonumber(redis.call('HGET', KEYS[1], 'limit'))
local total = tonumber(redis.call('HGET', KEYS[1], 'total'))
local reserved = tonumber(redis.call('HGET', KEYS[1], 'reserved'))
local out = {0, gen}
for i = 1, #ARGV do
  local n = tonumber(redis.call('HGET', KEYS[2], ARGV[i]) or '0')
  if n >= limit then
    out[#out + 1] = -1
  elseif reserved >= total then
    out[#out + 1] = -2
  else
    reserved = reserved + 1
    redis.call('HSET', KEYS[2], ARGV[i], n + 1)
    out[#out + 1] = n + 1
  end
end
redis.call('HSET', KEYS[1], 'reserved', reserved)
return out
`)

// settleScript gives back a reservation PostgreSQL refused, only within the
// generation it was taken in. ARGV: member, gen, how ("release", "soldout"
// or "already"). "soldout" marks the event sold out (PostgreSQL said so);
// "already" keeps the member at the limit.
var settleScript = redis.NewScript(`
if redis.call('HGET', KEYS[1], 'gen') ~= ARGV[2] then return 0 end
local r = tonumber(redis.call('HGET', KEYS[1], 'reserved'))
if ARGV[3] == 'soldout' then
  redis.call('HSET', KEYS[1], 'reserved', redis.call('HGET', KEYS[1], 'total'))
elseif r > 0 then
  redis.call('HINCRBY', KEYS[1], 'reserved', -1)
end
if ARGV[3] == 'already' then
  redis.call('HSET', KEYS[2], ARGV[1], redis.call('HGET', KEYS[1], 'limit'))
else
  local n = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
  if n > 0 then redis.call('HINCRBY', KEYS[2], ARGV[1], -1) end
end
return 1
`)

// syncScript copies an event's changed settings into an existing gate.
// ARGV: total, limit, status.
var syncScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'total', ARGV[1], 'limit', ARGV[2], 'status', ARGV[3])
return 1
`)

type reservation struct {
	eventID, memberID int64
	gen               string
}

// gate runs a batch through the Redis gate: it answers the requests Redis
// refuses (duplicates, sold out, suspended) at once and returns the ones it
// admitted, each holding a reservation. One Lua call serves the whole
// batch. If Redis cannot be reached, every request goes on to PostgreSQL
// without a reservation.
func (s *Service) gate(ctx context.Context, eventID int64, batch []*request) []*request {
	keys := gateKeys(eventID)
	args := make([]any, len(batch))
	for i, r := range batch {
		args[i] = r.memberID
	}
	for attempt := 0; ; attempt++ {
		v, err := reserveScript.Run(ctx, s.rdb, keys, args...).Slice()
		if err != nil {
			s.metrics.gateBypass.Add(float64(len(batch)))
			return batch
		}
		switch head, _ := v[0].(int64); head {
		case -4, -5:
			why := ErrEventSuspended
			if head == -5 {
				why = ErrNotInWindow
			}
			for _, r := range batch {
				r.done <- result{err: why}
			}
			return nil
		case -3:
			if attempt >= 2 {
				s.log.Warn("issue gate still missing after rebuild; going to PostgreSQL", "event_id", eventID)
				return batch
			}
			if err := s.buildGate(ctx, eventID); err != nil {
				if errors.Is(err, ErrEventNotFound) {
					for _, r := range batch {
						r.done <- result{err: err}
					}
					return nil
				}
				s.log.Warn("build issue gate; going to PostgreSQL", "event_id", eventID, "err", err)
				s.metrics.gateBypass.Add(float64(len(batch)))
				return batch
			}
			continue
		}
		gen, _ := v[1].(string)
		admitted := batch[:0:0]
		for i, r := range batch {
			switch o, _ := v[2+i].(int64); {
			case o > 0:
				r.reservation = &reservation{eventID: eventID, memberID: r.memberID, gen: gen}
				admitted = append(admitted, r)
			case o == -1:
				r.done <- result{err: ErrAlreadyIssued}
			default:
				r.done <- result{err: ErrSoldOut}
			}
		}
		return admitted
	}
}

// settle gives a reservation back after PostgreSQL refused or failed the
// request. how is "release", "soldout" or "already".
func (s *Service) settle(r *reservation, how string) {
	if r == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := settleScript.Run(ctx, s.rdb, gateKeys(r.eventID), r.memberID, r.gen, how).Err(); err != nil {
		// Redis now counts one coupon too many: the event may look sold out
		// a coupon early until the gate is rebuilt. It never oversells.
		s.log.Warn("give back reservation", "event_id", r.eventID, "member_id", r.memberID, "err", err)
	}
}

func (s *Service) release(req *request) { s.settle(req.reservation, "release") }

// buildGate loads an event's stock and per-member counts from PostgreSQL
// into Redis. A redsync lock makes it happen once when a thousand requests
// find the gate missing at the same moment (after a Redis restart or
// FLUSHALL); the others wait for the lock and then find the gate built.
func (s *Service) buildGate(ctx context.Context, eventID int64) error {
	keys := gateKeys(eventID)
	m := s.rs.NewMutex(lockKey(eventID, "build"), redsync.WithExpiry(15*time.Second))
	// Whoever takes the lock builds; the others poll for the built gate
	// instead of queueing for the lock one by one.
	for {
		err := m.TryLockContext(ctx)
		if err == nil {
			break
		}
		var taken *redsync.ErrTaken
		if !errors.As(err, &taken) {
			return fmt.Errorf("lock gate build: %w", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
		if n, err := s.rdb.Exists(ctx, keys[0]).Result(); err != nil || n > 0 {
			return err
		}
	}
	defer func() {
		uctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, _ = m.UnlockContext(uctx)
	}()
	if n, err := s.rdb.Exists(ctx, keys[0]).Result(); err != nil || n > 0 {
		return err // built by whoever held the lock before us
	}
	s.metrics.gateBuilds.Inc()

	var total, issued, limit int
	var status string
	var ends time.Time
	err := s.db.QueryRow(ctx, `
		SELECT total_quantity, issued_count, per_member_limit, status, issue_ends_at
		FROM coupon_events WHERE id = $1`, eventID).Scan(&total, &issued, &limit, &status, &ends)
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrEventNotFound
	}
	if err != nil {
		return fmt.Errorf("load event %d for gate: %w", eventID, err)
	}
	rows, err := s.db.Query(ctx, `SELECT member_id, count(*) FROM coupons WHERE event_id = $1 GROUP BY member_id`, eventID)
	if err != nil {
		return fmt.Errorf("load holders of event %d: %w", eventID, err)
	}
	members := make([]any, 0, 1024)
	var mid, n int64
	_, err = pgx.ForEachRow(rows, []any{&mid, &n}, func() error {
		members = append(members, mid, n)
		return nil
	})
	if err != nil {
		return fmt.Errorf("load holders of event %d: %w", eventID, err)
	}

	var b [8]byte
	_, _ = rand.Read(b[:])
	gen := hex.EncodeToString(b[:])
	ttl := time.Until(ends) + 24*time.Hour
	if ttl < time.Hour {
		ttl = time.Hour
	}
	// The member hash first, the event hash (whose existence means "built")
	// last, in one MULTI so nobody sees half a gate.
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, keys[1])
		for i := 0; i < len(members); i += 2000 {
			p.HSet(ctx, keys[1], members[i:min(i+2000, len(members))]...)
		}
		p.Expire(ctx, keys[1], ttl)
		p.HSet(ctx, keys[0], "total", total, "reserved", issued, "limit", limit, "status", status, "gen", gen)
		p.Expire(ctx, keys[0], ttl)
		return nil
	})
	if err != nil {
		return fmt.Errorf("write gate of event %d: %w", eventID, err)
	}
	return nil
}

// syncGate pushes an event's new total, limit and status into its gate, if
// the gate exists (if not, the next request builds it from PostgreSQL).
func (s *Service) syncGate(ctx context.Context, ev Event) error {
	return syncScript.Run(ctx, s.rdb, gateKeys(ev.ID), ev.TotalQuantity, ev.PerMemberLimit, ev.Status).Err()
}

// Remaining returns the stock left per event as the gate sees it — the
// same state issuance uses — for events whose gate exists. Events missing
// from the answer have no gate yet; their remaining is total − issued from
// PostgreSQL.
func (s *Service) Remaining(ctx context.Context, eventIDs []int64) (map[int64]int, error) {
	if len(eventIDs) == 0 {
		return map[int64]int{}, nil
	}
	cmds := make([]*redis.SliceCmd, len(eventIDs))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range eventIDs {
			cmds[i] = p.HMGet(ctx, gateKeys(id)[0], "total", "reserved")
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("read gates: %w", err)
	}
	out := make(map[int64]int, len(eventIDs))
	for i, c := range cmds {
		v := c.Val()
		if len(v) != 2 || v[0] == nil || v[1] == nil {
			continue
		}
		t, _ := strconv.Atoi(v[0].(string))
		r, _ := strconv.Atoi(v[1].(string))
		out[eventIDs[i]] = max(t-r, 0)
	}
	return out, nil
}

// snapshot is what issuance needs to refuse a request without I/O.
type snapshot struct {
	id, storeID int64
	status      string
	starts      time.Time
	ends        time.Time
	geofenceM   int
	store       geo.Point
	loaded      time.Time
}

func (sn *snapshot) check(now time.Time, at geo.Point) error {
	switch {
	case sn.status == Suspended:
		return ErrEventSuspended
	case sn.status == Ended, now.Before(sn.starts), !now.Before(sn.ends):
		return ErrNotInWindow
	case sn.geofenceM > 0 && geo.Distance(at, sn.store) > float64(sn.geofenceM):
		return ErrOutOfRange.WithDetail("this event only issues within %d m of the store", sn.geofenceM)
	}
	return nil
}

type snapEntry struct {
	mu   sync.Mutex
	snap *snapshot
}

// snapshot returns the event's snapshot, at most SnapshotTTL old. One
// request per event refreshes it; the others wait for that one.
func (s *Service) snapshot(ctx context.Context, id int64, now time.Time) (*snapshot, error) {
	s.snapMu.Lock()
	e := s.snaps[id]
	if e == nil {
		e = &snapEntry{}
		s.snaps[id] = e
	}
	s.snapMu.Unlock()

	e.mu.Lock()
	defer e.mu.Unlock()
	if e.snap != nil && now.Sub(e.snap.loaded) < s.opts.SnapshotTTL {
		return e.snap, nil
	}
	sn := &snapshot{id: id, loaded: now}
	var lat, lng float64
	err := s.db.QueryRow(ctx, `
		SELECT e.store_id, e.status, e.issue_starts_at, e.issue_ends_at, e.geofence_m,
		       ST_Y(st.location::geometry), ST_X(st.location::geometry)
		FROM coupon_events e JOIN stores st ON st.id = e.store_id AND st.deleted_at IS NULL
		WHERE e.id = $1`, id).Scan(&sn.storeID, &sn.status, &sn.starts, &sn.ends, &sn.geofenceM, &lat, &lng)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrEventNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("load event %d: %w", id, err)
	}
	sn.store = geo.Point{Lat: lat, Lng: lng}
	e.snap = sn
	return sn, nil
}

func (s *Service) forgetSnapshot(id int64) {
	s.snapMu.Lock()
	delete(s.snaps, id)
	s.snapMu.Unlock()
}
