CREATE TABLE stores (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    owner_id    bigint      NOT NULL REFERENCES members (id),
    name        text        NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    category    text        NOT NULL CHECK (category IN ('CAFE', 'FOOD', 'BAKERY', 'BAR', 'CONVENIENCE',
                                                         'BEAUTY', 'FASHION', 'ENTERTAINMENT', 'ETC')),
    description text        NOT NULL DEFAULT '',
    address     text        NOT NULL DEFAULT '',
    phone       text,
    timezone    text        NOT NULL DEFAULT 'Asia/Seoul',
    location    geography(Point, 4326) NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    deleted_at  timestamptz
);
-- Every geographic query (nearby, viewport, geofence) filters live stores by
-- ST_DWithin / && on location: a partial GiST index over live rows serves all.
CREATE INDEX stores_location_gix ON stores USING gist (location) WHERE deleted_at IS NULL;
CREATE INDEX stores_owner_idx ON stores (owner_id) WHERE deleted_at IS NULL;
