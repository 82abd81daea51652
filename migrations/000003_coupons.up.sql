CREATE TABLE coupon_events (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    store_id            bigint      NOT NULL REFERENCES stores (id),
    title               text        NOT NULL CHECK (length(title) BETWEEN 1 AND 100),
    description         text        NOT NULL DEFAULT '',
    discount_type       text        NOT NULL CHECK (discount_type IN ('AMOUNT', 'PERCENT')),
    discount_value      integer     NOT NULL CHECK (discount_value > 0),
    min_order_amount    integer     CHECK (min_order_amount >= 0),
    max_discount_amount integer     CHECK (max_discount_amount > 0),
    total_quantity      integer     NOT NULL CHECK (total_quantity BETWEEN 1 AND 1000000),
    -- The last line of defence against overselling (DESIGN.md invariant 1):
    -- whatever the application does, PostgreSQL refuses an issued_count above
    -- the quantity.
    issued_count        integer     NOT NULL DEFAULT 0 CHECK (issued_count >= 0 AND issued_count <= total_quantity),
    -- Kept in the redeem / cancel-use transactions so an event's summary is
    -- one row read, not a count over its coupons.
    used_count          integer     NOT NULL DEFAULT 0 CHECK (used_count >= 0 AND used_count <= issued_count),
    issue_starts_at     timestamptz NOT NULL,
    issue_ends_at       timestamptz NOT NULL,
    valid_until         timestamptz,
    valid_hours         integer     CHECK (valid_hours BETWEEN 1 AND 8784),
    per_member_limit    integer     NOT NULL DEFAULT 1 CHECK (per_member_limit BETWEEN 1 AND 100),
    geofence_m          integer     NOT NULL DEFAULT 0 CHECK (geofence_m BETWEEN 0 AND 100000),
    status              text        NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('ACTIVE', 'SUSPENDED', 'ENDED')),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT coupon_events_percent_check CHECK (discount_type <> 'PERCENT' OR discount_value <= 100),
    CONSTRAINT coupon_events_window_check CHECK (issue_ends_at > issue_starts_at),
    CONSTRAINT coupon_events_validity_check CHECK ((valid_until IS NULL) <> (valid_hours IS NULL))
);
CREATE INDEX coupon_events_store_idx ON coupon_events (store_id, id);
-- Nearby and the expiry batch look for events whose window is open.
CREATE INDEX coupon_events_live_idx ON coupon_events (issue_ends_at) WHERE status = 'ACTIVE';

CREATE TABLE coupons (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id    bigint      NOT NULL REFERENCES coupon_events (id),
    -- Copied from the event so redeem, dashboards and "my coupons" need no
    -- join to learn whose store a coupon belongs to.
    store_id    bigint      NOT NULL,
    member_id   bigint      NOT NULL REFERENCES members (id),
    -- The member's n-th coupon of this event, 1..per_member_limit. With the
    -- unique index below it is what makes the per-member limit a database
    -- fact (DESIGN.md invariant 2).
    seq         smallint    NOT NULL CHECK (seq >= 1),
    code        text        NOT NULL CHECK (code ~ '^[A-Z0-9]{16}$'),
    status      text        NOT NULL DEFAULT 'ISSUED' CHECK (status IN ('ISSUED', 'USED', 'EXPIRED', 'CANCELED')),
    issued_at   timestamptz NOT NULL DEFAULT now(),
    used_at     timestamptz,
    expires_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX coupons_member_limit_key ON coupons (event_id, member_id, seq);
CREATE UNIQUE INDEX coupons_code_key ON coupons (code);
-- "My coupons", newest first, keyset-paged by id.
CREATE INDEX coupons_member_idx ON coupons (member_id, id DESC);
-- The expiry batch scans only coupons still ISSUED.
CREATE INDEX coupons_expiry_idx ON coupons (expires_at) WHERE status = 'ISSUED';

-- Transactional outbox: a domain change that must notify someone writes a
-- row here in its own transaction; relays publish rows to RabbitMQ.
CREATE TABLE outbox (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind         text        NOT NULL,
    trace_id     text        NOT NULL,
    payload      jsonb       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
CREATE INDEX outbox_unpublished_idx ON outbox (id) WHERE published_at IS NULL;
