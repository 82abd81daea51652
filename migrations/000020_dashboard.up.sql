-- Merchant dashboards read rollups, never the coupons table: a 30-day window
-- over a store with a million coupons must answer in milliseconds, and the
-- coupons table has (on purpose) no store/time index that would slow
-- issuance down. See docs/DASHBOARD.md for the whole design.
--
-- Granularity is a 15-minute UTC slot. Every time zone in use today has an
-- offset that is a whole number of quarter hours (+09:00, -05:00, +05:30,
-- +05:45, +12:45), so the local hour, day and week edges of any zone fall on
-- slot edges and every bucket is an exact sum of slots.
--
-- Writes take two steps so that issuance never waits on a shared row:
--
--  1. Statement-level triggers on coupons append one pre-aggregated row per
--     (store, slot) a statement touched to dashboard_deltas. Appends take no
--     row locks, so concurrent issuance, redeem and cancel-use transactions
--     never queue behind each other here, whatever order they lock coupons
--     and coupon_events in.
--  2. A folder (dashboard.Service.Fold, run by every API instance, one at a
--     time under an advisory lock) moves deltas into dashboard_slots and
--     dashboard_cells. It is their only writer.
--
-- Readers sum folded rows and the few deltas not folded yet, in one
-- snapshot: a fold deletes deltas and adds them to the rollups in the same
-- transaction, so no snapshot sees a delta twice or not at all.

-- The 15-minute UTC slot a timestamp falls in. IMMUTABLE and a single
-- expression, so the planner inlines it.
CREATE FUNCTION dashboard_slot(t timestamptz) RETURNS timestamptz
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN date_bin('15 minutes', t, timestamptz '2000-01-01 00:00:00+00');

-- Whole minutes from issue to use: the unit of the median.
CREATE FUNCTION dashboard_minutes(issued_at timestamptz, used_at timestamptz) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN floor(extract(epoch FROM used_at - issued_at) / 60)::integer;

-- Unfolded changes. A row holds signed counts for one (store, slot) from one
-- statement, and the raw material for the distinct-member and median cells.
CREATE TABLE dashboard_deltas (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    store_id      bigint      NOT NULL,
    slot          timestamptz NOT NULL,
    issued        integer     NOT NULL DEFAULT 0,
    used          integer     NOT NULL DEFAULT 0,
    canceled      integer     NOT NULL DEFAULT 0,
    -- coupons whose expires_at is in this slot and that are not used (status
    -- ISSUED or EXPIRED): the "expired" series once the slot is past.
    expiring      integer     NOT NULL DEFAULT 0,
    members       bigint[],   -- members issued a coupon in this slot, with repeats
    use_minutes   integer[],  -- minutes-to-use of coupons used in this slot
    unuse_minutes integer[]   -- ... of uses undone (cancel-use) from this slot
);
CREATE INDEX dashboard_deltas_store_slot_idx ON dashboard_deltas (store_id, slot);
-- An issuance batch of 500 puts a 4 KB members array in one row. Compressing
-- it (the default above 2 KB) doubled the trigger's cost for a row that
-- lives a few seconds: keep rows up to a page inline and never compress.
ALTER TABLE dashboard_deltas ALTER COLUMN members SET STORAGE EXTERNAL, SET (toast_tuple_target = 8160);

-- Folded counts per (store, slot). A 30-day window is at most 2,880 rows of
-- this primary key, whatever the number of coupons.
CREATE TABLE dashboard_slots (
    store_id bigint      NOT NULL,
    slot     timestamptz NOT NULL,
    issued   integer     NOT NULL DEFAULT 0,
    used     integer     NOT NULL DEFAULT 0,
    canceled integer     NOT NULL DEFAULT 0,
    expiring integer     NOT NULL DEFAULT 0,
    PRIMARY KEY (store_id, slot)
);

-- What cannot be summed: the members seen (as two roaring64 bitmaps: once =
-- at least one coupon, twice = at least two in this cell) and a histogram of
-- whole minutes-to-use (parallel arrays, minutes ascending). Kept at two
-- grains: SLOT (15 minutes) for the ragged edges of a window and DAY (UTC)
-- for its middle, so a 30-day window merges ~30 day cells and at most ~190
-- slot cells.
CREATE TABLE dashboard_cells (
    store_id      bigint      NOT NULL,
    grain         text        NOT NULL CHECK (grain IN ('SLOT', 'DAY')),
    start         timestamptz NOT NULL,
    members_once  bytea       NOT NULL,
    members_twice bytea       NOT NULL,
    minutes       integer[]   NOT NULL DEFAULT '{}',
    minute_counts integer[]   NOT NULL DEFAULT '{}',
    PRIMARY KEY (store_id, grain, start)
);
-- A busy day's bitmaps are tens of kilobytes of scattered ids: pglz gains
-- little on them and would cost every fold and every read. Out of line,
-- uncompressed.
ALTER TABLE dashboard_cells
    ALTER COLUMN members_once SET STORAGE EXTERNAL,
    ALTER COLUMN members_twice SET STORAGE EXTERNAL,
    ALTER COLUMN minutes SET STORAGE EXTERNAL,
    ALTER COLUMN minute_counts SET STORAGE EXTERNAL;

-- Issuance inserts hundreds of coupons per statement; this runs once per
-- statement and writes about two rows (the issue slot and the expiry slot),
-- so its cost is a few hundred microseconds per batch, not per coupon.
CREATE FUNCTION dashboard_coupons_inserted() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO dashboard_deltas (store_id, slot, issued, used, expiring, members, use_minutes)
    SELECT store_id, dashboard_slot(issued_at), count(*), 0, 0, array_agg(member_id), NULL::integer[]
    FROM new_coupons GROUP BY 1, 2
    UNION ALL
    SELECT store_id, dashboard_slot(expires_at), 0, 0, count(*), NULL, NULL
    FROM new_coupons WHERE status IN ('ISSUED', 'EXPIRED') GROUP BY 1, 2
    UNION ALL
    SELECT store_id, dashboard_slot(used_at), 0, count(*), 0, NULL, array_agg(dashboard_minutes(issued_at, used_at))
    FROM new_coupons WHERE status = 'USED' AND used_at IS NOT NULL GROUP BY 1, 2;
    RETURN NULL;
END
$$;

-- Redeem (ISSUED -> USED), cancel-use (USED -> ISSUED), the expiry batch
-- (ISSUED -> EXPIRED, which changes nothing here) and cancellation
-- (-> CANCELED). Each old row is taken back and each new row added, per
-- slot; rows whose status, used_at and expires_at did not change are
-- skipped. issued_at, member_id and store_id never change after issue.
CREATE FUNCTION dashboard_coupons_updated() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO dashboard_deltas (store_id, slot, used, canceled, expiring, use_minutes, unuse_minutes)
    SELECT c.store_id, v.slot, sum(v.used), sum(v.canceled), sum(v.expiring),
           array_agg(v.minutes) FILTER (WHERE v.used > 0),
           array_agg(v.minutes) FILTER (WHERE v.used < 0)
    FROM (
        SELECT n.store_id, o.status AS old_status, n.status AS new_status,
               o.used_at AS old_used_at, n.used_at AS new_used_at,
               o.expires_at AS old_expires_at, n.expires_at AS new_expires_at,
               dashboard_minutes(o.issued_at, o.used_at) AS old_minutes,
               dashboard_minutes(n.issued_at, n.used_at) AS new_minutes
        FROM old_coupons o JOIN new_coupons n ON n.id = o.id
        WHERE o.status <> n.status OR o.used_at IS DISTINCT FROM n.used_at OR o.expires_at <> n.expires_at
    ) c
    CROSS JOIN LATERAL (VALUES
        (CASE WHEN c.old_status = 'USED' THEN dashboard_slot(c.old_used_at) END, -1, 0, 0, c.old_minutes),
        (CASE WHEN c.new_status = 'USED' THEN dashboard_slot(c.new_used_at) END, 1, 0, 0, c.new_minutes),
        (CASE WHEN c.old_status = 'USED' AND c.new_status = 'ISSUED' THEN dashboard_slot(now()) END, 0, 1, 0, NULL),
        (CASE WHEN c.old_status IN ('ISSUED', 'EXPIRED') THEN dashboard_slot(c.old_expires_at) END, 0, 0, -1, NULL),
        (CASE WHEN c.new_status IN ('ISSUED', 'EXPIRED') THEN dashboard_slot(c.new_expires_at) END, 0, 0, 1, NULL)
    ) AS v (slot, used, canceled, expiring, minutes)
    WHERE v.slot IS NOT NULL
    GROUP BY c.store_id, v.slot
    HAVING sum(v.used) <> 0 OR sum(v.canceled) <> 0 OR sum(v.expiring) <> 0 OR count(v.minutes) > 0;
    RETURN NULL;
END
$$;

-- Coupons are not deleted in normal operation; if some are (a data fix),
-- their counts and minutes are taken back. Members stay in the bitmaps:
-- dashboard.Service.Rebuild recomputes a store from scratch when that
-- matters.
CREATE FUNCTION dashboard_coupons_deleted() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO dashboard_deltas (store_id, slot, issued, used, expiring, unuse_minutes)
    SELECT store_id, dashboard_slot(issued_at), -count(*), 0, 0, NULL::integer[]
    FROM old_coupons GROUP BY 1, 2
    UNION ALL
    SELECT store_id, dashboard_slot(expires_at), 0, 0, -count(*), NULL
    FROM old_coupons WHERE status IN ('ISSUED', 'EXPIRED') GROUP BY 1, 2
    UNION ALL
    SELECT store_id, dashboard_slot(used_at), 0, -count(*), 0, array_agg(dashboard_minutes(issued_at, used_at))
    FROM old_coupons WHERE status = 'USED' AND used_at IS NOT NULL GROUP BY 1, 2;
    RETURN NULL;
END
$$;

-- TRUNCATE coupons (test suites, a wiped environment) leaves nothing to
-- count and nothing to remember.
CREATE FUNCTION dashboard_coupons_truncated() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM dashboard_deltas;
    DELETE FROM dashboard_slots;
    DELETE FROM dashboard_cells;
    RETURN NULL;
END
$$;

CREATE TRIGGER dashboard_coupons_inserted AFTER INSERT ON coupons
    REFERENCING NEW TABLE AS new_coupons
    FOR EACH STATEMENT EXECUTE FUNCTION dashboard_coupons_inserted();
CREATE TRIGGER dashboard_coupons_updated AFTER UPDATE ON coupons
    REFERENCING OLD TABLE AS old_coupons NEW TABLE AS new_coupons
    FOR EACH STATEMENT EXECUTE FUNCTION dashboard_coupons_updated();
CREATE TRIGGER dashboard_coupons_deleted AFTER DELETE ON coupons
    REFERENCING OLD TABLE AS old_coupons
    FOR EACH STATEMENT EXECUTE FUNCTION dashboard_coupons_deleted();
CREATE TRIGGER dashboard_coupons_truncated AFTER TRUNCATE ON coupons
    FOR EACH STATEMENT EXECUTE FUNCTION dashboard_coupons_truncated();

-- Coupons issued before this migration become deltas like any others; the
-- next fold turns them into rollups. (Undone uses before this point were
-- never recorded anywhere, so their "canceled" history starts now.)
INSERT INTO dashboard_deltas (store_id, slot, issued, used, expiring, members, use_minutes)
SELECT store_id, dashboard_slot(issued_at), count(*), 0, 0, array_agg(member_id), NULL::integer[]
FROM coupons GROUP BY 1, 2
UNION ALL
SELECT store_id, dashboard_slot(expires_at), 0, 0, count(*), NULL, NULL
FROM coupons WHERE status IN ('ISSUED', 'EXPIRED') GROUP BY 1, 2
UNION ALL
SELECT store_id, dashboard_slot(used_at), 0, count(*), 0, NULL, array_agg(dashboard_minutes(issued_at, used_at))
FROM coupons WHERE status = 'USED' AND used_at IS NOT NULL GROUP BY 1, 2;
