package geo

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/go-redsync/redsync/v4"
	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

// The Redis index, all under one hash tag so that one Lua script may touch
// every key on Redis Cluster too:
//
//	geo:{stores}:all        GEO set: stores with events that are or may become issuable
//	geo:{stores}:cat:CAFE   GEO set: the same, one per category
//	geo:{stores}:sum        hash: store id → summary (summary.go)
//
// A GEO member is the store id, a zero byte and the store's summary, so
// that GEOSEARCH alone returns everything an answer needs: no second
// lookup per store on the hot path. The summary hash is the writers' record
// of which member string is in the sets (to remove it on the next write).
//
//	geo:{stores}:ver        hash: store id → "version:category" of the last write
//	geo:{stores}:lock:build redsync lock of the rebuild
//	geo:{stores}:reconciled marker: some instance reconciled within ReconcileEvery
//
// Every GEO set and the summary hash hold a sentinel member "_" (at 0°,
// 0°) written when a rebuild completes. A missing sentinel means the index
// is missing or incomplete (Redis restarted empty, FLUSHALL, eviction, or
// invalidate after a failed write): readers then answer from PostGIS and
// ask for a rebuild. An index with no store at all still has its sentinels,
// so "empty" and "missing" are never confused.
type keys struct {
	all, sum, ver, lock, reconciled string
	cats                            []string // in Categories order
	catIndex                        map[string]int
}

func newKeys(prefix string) keys {
	base := prefix + ":{stores}"
	k := keys{
		all: base + ":all", sum: base + ":sum", ver: base + ":ver",
		lock: base + ":lock:build", reconciled: base + ":reconciled",
		catIndex: make(map[string]int, len(Categories)),
	}
	for i, c := range Categories {
		k.cats = append(k.cats, base+":cat:"+c)
		k.catIndex[c] = i + 1
	}
	return k
}

// set is the GEO set a search reads: every store, or one category's.
func (k keys) set(category string) string {
	if i := k.catIndex[category]; i > 0 {
		return k.cats[i-1]
	}
	return k.all
}

// writeKeys are the KEYS of writeScript.
func (k keys) writeKeys() []string {
	return append([]string{k.all, k.sum, k.ver}, k.cats...)
}

const sentinel = "_"

// Redis GEO cannot hold points beyond these latitudes (Web Mercator's
// limit). Stores there are left out of the index and nearby questions
// that reach them are answered by PostGIS.
const maxRedisLat = 85.05112878

// writeScript writes a batch of stores, each only if the write's version
// is not older than the last one written for that store. KEYS = all, sum,
// ver, then the category sets in Categories order. ARGV[1] = version
// (Unix microseconds of the PostgreSQL snapshot the batch was read from);
// then five per store: id, category index (0 = remove from the index),
// lng, lat, summary (for a removal: the exact member to remove, or "").
//
// The version check is what keeps the index in step when writes race: two
// API instances re-indexing one store after two quick changes may reach
// Redis in either order, and a rebuild reading a snapshot taken before a
// change must not undo it. The newer snapshot always wins.
var writeScript = redis.NewScript(`
local ver = tonumber(ARGV[1])
local ncat = #KEYS - 3
local written = 0
for i = 2, #ARGV, 5 do
  local id = ARGV[i]
  local cur = redis.call('HGET', KEYS[3], id)
  local curVer, curCat = 0, -1
  if cur then
    local v, c = string.match(cur, '^(%d+):(%d+)$')
    curVer, curCat = tonumber(v), tonumber(c)
  end
  if ver >= curVer then
    local cat = tonumber(ARGV[i+1])
    -- Take out the member as it is now: the one the summary hash names,
    -- and for a removal the exact member the caller saw, if any.
    local olds = {}
    local oldsum = redis.call('HGET', KEYS[2], id)
    if oldsum then olds[#olds + 1] = id .. '\0' .. oldsum end
    if cat == 0 and ARGV[i+4] ~= '' then olds[#olds + 1] = ARGV[i+4] end
    for _, m in ipairs(olds) do
      redis.call('ZREM', KEYS[1], m)
      if curCat > 0 then
        redis.call('ZREM', KEYS[3+curCat], m)
      else
        for k = 1, ncat do redis.call('ZREM', KEYS[3+k], m) end
      end
    end
    if cat == 0 then
      redis.call('HDEL', KEYS[2], id)
    else
      local m = id .. '\0' .. ARGV[i+4]
      redis.call('GEOADD', KEYS[1], ARGV[i+2], ARGV[i+3], m)
      redis.call('GEOADD', KEYS[3+cat], ARGV[i+2], ARGV[i+3], m)
      redis.call('HSET', KEYS[2], id, ARGV[i+4])
    end
    redis.call('HSET', KEYS[3], id, ARGV[1] .. ':' .. cat)
    written = written + 1
  end
end
return written
`)

// indexRow is one (store, event) row read from PostgreSQL for the index.
// The event columns are NULL for a store with nothing to index.
type indexRow struct {
	storeID            int64
	name, cat, address *string
	lat, lng           *float64
	eventID            *int64
	title, discType    *string
	discValue, remain  *int
	starts, ends       *time.Time
}

// indexable is the SQL condition for an event the index keeps: ACTIVE,
// window not over, stock left. Events not yet open are kept (the request
// checks the window); suspended, ended and sold-out ones come back through
// EventChanged if they ever become issuable again.
const indexable = `e.status = 'ACTIVE' AND e.issue_ends_at > statement_timestamp() AND e.issued_count < e.total_quantity`

// syncStores re-reads stores from PostgreSQL and writes what it finds to
// the index: the listeners' path. A failure marks the index stale; Run
// repairs it.
func (s *Service) syncStores(ctx context.Context, ids ...int64) error {
	if s.opts.NoRedis {
		return nil
	}
	err := s.syncStoresOnce(ctx, ids)
	if err != nil {
		s.m.syncErrors.Inc()
		s.stale.Store(true)
		return fmt.Errorf("index stores %v: %w", ids, err)
	}
	return nil
}

func (s *Service) syncStoresOnce(ctx context.Context, ids []int64) error {
	// One statement, so one snapshot: the version stamped on the write
	// describes exactly what was read.
	rows, err := s.db.Query(ctx, `
		SELECT i.id, s.name, s.category, s.address,
		       ST_Y(s.location::geometry), ST_X(s.location::geometry),
		       e.id, e.title, e.discount_type, e.discount_value, e.total_quantity - e.issued_count,
		       e.issue_starts_at, e.issue_ends_at,
		       (extract(epoch FROM statement_timestamp()) * 1000000)::bigint
		FROM unnest($1::bigint[]) AS i(id)
		LEFT JOIN stores s ON s.id = i.id AND s.deleted_at IS NULL
		LEFT JOIN coupon_events e ON e.store_id = s.id AND `+indexable+`
		ORDER BY i.id, e.issue_ends_at, e.id`, ids)
	if err != nil {
		return err
	}
	w := s.newIndexWriter(0)
	var ver int64
	var r indexRow
	_, err = pgx.ForEachRow(rows, []any{&r.storeID, &r.name, &r.cat, &r.address, &r.lat, &r.lng,
		&r.eventID, &r.title, &r.discType, &r.discValue, &r.remain, &r.starts, &r.ends, &ver}, func() error {
		w.version = ver
		return w.add(ctx, &r)
	})
	if err != nil {
		return err
	}
	return w.flush(ctx)
}

// indexWriter groups rows into stores and stores into batches of writes.
type indexWriter struct {
	s       *Service
	version int64
	cur     *summary
	curID   int64
	args    []any
	seen    map[int64]bool // rebuild only: every store written
	buf     []byte
}

func (s *Service) newIndexWriter(version int64) *indexWriter {
	return &indexWriter{s: s, version: version}
}

const writeBatch = 500 // stores per writeScript call

func (w *indexWriter) add(ctx context.Context, r *indexRow) error {
	if w.cur != nil && w.curID != r.storeID {
		if err := w.finish(ctx); err != nil {
			return err
		}
	}
	if w.cur == nil {
		w.curID = r.storeID
		w.cur = &summary{}
		if r.name != nil {
			w.cur.name, w.cur.category, w.cur.address = *r.name, *r.cat, *r.address
			w.cur.lat, w.cur.lng = *r.lat, *r.lng
		}
	}
	if r.eventID != nil && r.name != nil {
		w.cur.events = append(w.cur.events, cachedEvent{
			id: *r.eventID, title: *r.title, discountType: *r.discType, discountValue: *r.discValue,
			remaining: *r.remain, starts: r.starts.UnixMicro(), ends: r.ends.UnixMicro(),
		})
	}
	return nil
}

// finish queues the current store: its summary, or its removal when it
// has nothing to offer (deleted, no indexable events, beyond Redis' range).
func (w *indexWriter) finish(ctx context.Context) error {
	sm, id := w.cur, w.curID
	w.cur = nil
	cat := w.s.keys.catIndex[sm.category]
	if len(sm.events) == 0 || cat == 0 || math.Abs(sm.lat) > maxRedisLat {
		cat = 0
	}
	if w.seen != nil && cat > 0 {
		w.seen[id] = true
	}
	var sumArg any = ""
	if cat > 0 {
		w.buf = sm.encode(w.buf[:0])
		sumArg = string(w.buf)
	}
	w.args = append(w.args, id, cat, sm.lng, sm.lat, sumArg)
	if len(w.args) >= 5*writeBatch {
		return w.send(ctx)
	}
	return nil
}

func (w *indexWriter) flush(ctx context.Context) error {
	if w.cur != nil {
		if err := w.finish(ctx); err != nil {
			return err
		}
	}
	return w.send(ctx)
}

func (w *indexWriter) send(ctx context.Context) error {
	if len(w.args) == 0 {
		return nil
	}
	args := append([]any{w.version}, w.args...)
	w.args = w.args[:0]
	if err := writeScript.Run(ctx, w.s.rdb, w.s.keys.writeKeys(), args...).Err(); err != nil {
		return fmt.Errorf("write index: %w", err)
	}
	return nil
}

// errRebuildRunning: another holder of the lock is rebuilding right now.
var errRebuildRunning = errors.New("geo: an index rebuild is already running")

// Rebuild reloads the whole index from PostgreSQL now (operators,
// benchmarks, tests that write SQL directly); Run does it on its own when
// needed. If another rebuild holds the lock, it waits for it and then
// rebuilds again, since that one may have read PostgreSQL before the
// caller's changes.
func (s *Service) Rebuild(ctx context.Context) error {
	if s.opts.NoRedis {
		return nil
	}
	for {
		err := s.rebuild(ctx, false)
		if !errors.Is(err, errRebuildRunning) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// rebuild loads every store with indexable events from PostgreSQL into
// the index and drops the stores that no longer belong, under a redsync
// lock so that a thousand requests finding the index gone (Redis
// restarted empty) cause one rebuild across all API instances, not a
// thousand. With onlyIfMissing it does nothing when the index is there
// (someone built it while we waited), and a lock held elsewhere means
// that holder is building: nothing to do either.
//
// Readers are not blocked meanwhile: while the sentinels are missing they
// answer from PostGIS. Listener writes during the rebuild carry newer
// versions than the rebuild's snapshot and are not overwritten.
func (s *Service) rebuild(ctx context.Context, onlyIfMissing bool) error {
	m := s.rs.NewMutex(s.keys.lock, redsync.WithExpiry(2*time.Minute), redsync.WithTries(1))
	if err := m.TryLockContext(ctx); err != nil {
		var taken *redsync.ErrTaken
		if errors.As(err, &taken) || errors.Is(err, redsync.ErrFailed) {
			if onlyIfMissing {
				return nil
			}
			return errRebuildRunning
		}
		return fmt.Errorf("lock index rebuild: %w", err)
	}
	defer func() {
		uctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, _ = m.UnlockContext(uctx)
	}()
	if onlyIfMissing {
		ok, err := s.ready(ctx)
		if err != nil || ok {
			return err
		}
	}
	s.m.rebuilds.Inc()
	start := time.Now()

	// The version of everything this rebuild writes is taken before its
	// snapshot: anything a listener wrote from a later snapshot wins.
	var version int64
	if err := s.db.QueryRow(ctx, `SELECT (extract(epoch FROM statement_timestamp()) * 1000000)::bigint`).Scan(&version); err != nil {
		return fmt.Errorf("rebuild index: %w", err)
	}
	rows, err := s.db.Query(ctx, `
		SELECT s.id, s.name, s.category, s.address,
		       ST_Y(s.location::geometry), ST_X(s.location::geometry),
		       e.id, e.title, e.discount_type, e.discount_value, e.total_quantity - e.issued_count,
		       e.issue_starts_at, e.issue_ends_at
		FROM stores s
		JOIN coupon_events e ON e.store_id = s.id AND `+indexable+`
		WHERE s.deleted_at IS NULL
		ORDER BY s.id, e.issue_ends_at, e.id`)
	if err != nil {
		return fmt.Errorf("rebuild index: %w", err)
	}
	w := s.newIndexWriter(version)
	w.seen = make(map[int64]bool)
	var r indexRow
	_, err = pgx.ForEachRow(rows, []any{&r.storeID, &r.name, &r.cat, &r.address, &r.lat, &r.lng,
		&r.eventID, &r.title, &r.discType, &r.discValue, &r.remain, &r.starts, &r.ends}, func() error {
		return w.add(ctx, &r)
	})
	if err == nil {
		err = w.flush(ctx)
	}
	if err != nil {
		return fmt.Errorf("rebuild index: %w", err)
	}

	// Drop what is indexed but no longer belongs (deleted stores, events
	// over, a store whose change notification was lost in a crash).
	members, err := s.rdb.ZRange(ctx, s.keys.all, 0, -1).Result()
	if err != nil {
		return fmt.Errorf("rebuild index: list members: %w", err)
	}
	for _, mem := range members {
		id, _, ok := splitMember(mem)
		if !ok || w.seen[id] {
			continue
		}
		w.args = append(w.args, id, 0, 0, 0, mem)
		if len(w.args) >= 5*writeBatch {
			if err := w.send(ctx); err != nil {
				return fmt.Errorf("rebuild index: %w", err)
			}
		}
	}
	if err := w.send(ctx); err != nil {
		return fmt.Errorf("rebuild index: %w", err)
	}

	// The sentinels last: from now on readers trust the index.
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.GeoAdd(ctx, s.keys.all, &redis.GeoLocation{Name: sentinel})
		for _, k := range s.keys.cats {
			p.GeoAdd(ctx, k, &redis.GeoLocation{Name: sentinel})
		}
		p.HSet(ctx, s.keys.sum, sentinel, "built "+time.Now().UTC().Format(time.RFC3339))
		// A fresh index needs no reconcile for a while.
		p.Set(ctx, s.keys.reconciled, time.Now().UTC().Format(time.RFC3339), s.opts.ReconcileEvery)
		return nil
	})
	if err != nil {
		return fmt.Errorf("rebuild index: sentinels: %w", err)
	}
	s.log.InfoContext(ctx, "geo index rebuilt", "stores", len(w.seen), "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// splitMember parses a GEO member: the store id, a zero byte, the
// summary. The sentinel is not a member of this form.
func splitMember(m string) (int64, string, bool) {
	i := strings.IndexByte(m, 0)
	if i < 0 {
		return 0, "", false
	}
	id, err := strconv.ParseInt(m[:i], 10, 64)
	return id, m[i+1:], err == nil
}

// ready reports whether the index is in service.
func (s *Service) ready(ctx context.Context) (bool, error) {
	var hex *redis.BoolCmd
	var ex *redis.IntCmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		hex = p.HExists(ctx, s.keys.sum, sentinel)
		ex = p.Exists(ctx, s.keys.all)
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("check index: %w", err)
	}
	return hex.Val() && ex.Val() == 1, nil
}

// invalidate takes the index out of service until the next rebuild.
func (s *Service) invalidate(ctx context.Context) error {
	if err := s.rdb.HDel(ctx, s.keys.sum, sentinel).Err(); err != nil {
		return fmt.Errorf("invalidate index: %w", err)
	}
	return nil
}
