-- Pushes: devices, follows, preferences, the notification history and the
-- bookkeeping that makes the "new event" announcement and the expiry
-- reminder happen once.

-- FCM registration tokens. A token identifies one app install; it belongs to
-- whoever registered it last (a shared tablet moves between members), so the
-- token alone is unique.
CREATE TABLE devices (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    member_id  bigint      NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    token      text        NOT NULL CHECK (length(token) BETWEEN 1 AND 4096),
    platform   text        NOT NULL CHECK (platform IN ('ANDROID', 'IOS', 'WEB')),
    device_id  text        NOT NULL CHECK (length(device_id) BETWEEN 1 AND 200),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX devices_token_key ON devices (token);
-- The worker loads the devices of a batch of members with member_id = ANY.
CREATE INDEX devices_member_idx ON devices (member_id, device_id);

-- Follows. The primary key serves "do I follow it"; the second index serves
-- the fan-out of a new event to a store's followers, in member order.
CREATE TABLE store_subscriptions (
    member_id  bigint      NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    store_id   bigint      NOT NULL REFERENCES stores (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (member_id, store_id)
);
CREATE INDEX store_subscriptions_store_idx ON store_subscriptions (store_id, member_id);

-- Quiet hours in minutes after local midnight, in timezone. Both NULL (the
-- default, and no row at all) means no quiet hours. start > end wraps
-- midnight (22:00–07:00).
CREATE TABLE notification_preferences (
    member_id   bigint      PRIMARY KEY REFERENCES members (id) ON DELETE CASCADE,
    quiet_start smallint    CHECK (quiet_start BETWEEN 0 AND 1439),
    quiet_end   smallint    CHECK (quiet_end BETWEEN 0 AND 1439),
    timezone    text        NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CHECK ((quiet_start IS NULL) = (quiet_end IS NULL)),
    CHECK (quiet_start IS NULL OR quiet_start <> quiet_end)
);

-- One row per push per member: the member's history, and what happened to
-- the push. Delivery itself is deduplicated per device in Redis; this row
-- is the durable record a person reads.
CREATE TABLE notifications (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    member_id     bigint      NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    trace_id      text        NOT NULL,
    kind          text        NOT NULL,
    title         text        NOT NULL,
    body          text        NOT NULL,
    data          jsonb       NOT NULL DEFAULT '{}',
    status        text        NOT NULL CHECK (status IN ('SENT', 'DEFERRED', 'RETRYING', 'FAILED', 'NO_DEVICE')),
    attempts      integer     NOT NULL DEFAULT 0,
    last_error    text,
    deliver_after timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    sent_at       timestamptz
);
CREATE UNIQUE INDEX notifications_trace_member_key ON notifications (trace_id, member_id);
-- The history, newest first, keyset-paged by id.
CREATE INDEX notifications_member_idx ON notifications (member_id, id DESC);

-- Events whose "new event" push has been enqueued. An event created with its
-- window already open is announced by the worker when EVENT_CREATED
-- arrives; one whose window opens later is found by the announcer once it
-- opens. The row makes that happen once.
CREATE TABLE event_announcements (
    event_id     bigint      PRIMARY KEY REFERENCES coupon_events (id),
    announced_at timestamptz NOT NULL DEFAULT now()
);

-- Coupons whose "expires tomorrow" reminder has been written to the outbox.
CREATE TABLE coupon_reminders (
    coupon_id  bigint      PRIMARY KEY REFERENCES coupons (id),
    created_at timestamptz NOT NULL DEFAULT now()
);
