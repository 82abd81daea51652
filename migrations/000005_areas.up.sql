-- Areas are named hot spots (Hongdae, Gangnam Station, ...) drawn as
-- polygons. Reporting a location inside one records an entry at most once
-- per member, area and local day, and that entry is what may push "coupons
-- near Hongdae" (internal/geo, docs/GEO.md).
CREATE TABLE areas (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug       text        NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    name       text        NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    -- Rings are counterclockwise (RFC 7946) and closed; geography so that
    -- "is this point inside" is answered on the ellipsoid like every other
    -- geographic question here.
    polygon    geography(Polygon, 4326) NOT NULL CHECK (ST_IsValid(polygon::geometry)),
    created_at timestamptz NOT NULL DEFAULT now()
);
-- ST_Covers(polygon, point) for a reported location probes this index.
CREATE INDEX areas_polygon_gix ON areas USING gist (polygon);

-- One row per member, area and day (the member's local day): the primary
-- key is what makes "at most once a day" a database fact even when two
-- location reports race.
CREATE TABLE area_entries (
    member_id  bigint      NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    area_id    bigint      NOT NULL REFERENCES areas (id) ON DELETE CASCADE,
    day        date        NOT NULL,
    entered_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (member_id, area_id, day)
);
CREATE INDEX area_entries_area_day_idx ON area_entries (area_id, day);

-- The map viewport asks for stores inside a longitude/latitude rectangle.
-- A geography box has great-circle edges, not parallels, so the rectangle
-- is a geometry question; this expression index answers `location::geometry
-- && envelope` without touching the table's other rows.
CREATE INDEX stores_location_geom_gix ON stores USING gist ((location::geometry)) WHERE deleted_at IS NULL;

-- The five hot spots of the demo city, ~0.7–0.9 km across (octagons around
-- each station or street; counterclockwise, first point repeated last).
INSERT INTO areas (slug, name, polygon) VALUES
('hongdae', '홍대', ST_GeogFromText('SRID=4326;POLYGON((126.928307 37.55761, 126.92555 37.559463, 126.92165 37.559463, 126.918893 37.55761, 126.918893 37.55499, 126.92165 37.553137, 126.92555 37.553137, 126.928307 37.55499, 126.928307 37.55761))')),
('gangnam-station', '강남역', ST_GeogFromText('SRID=4326;POLYGON((127.031572 37.499452, 127.029245 37.501646, 127.025955 37.501646, 127.023628 37.499452, 127.023628 37.496348, 127.025955 37.494154, 127.029245 37.494154, 127.031572 37.496348, 127.031572 37.499452))')),
('jamsil', '잠실', ST_GeogFromText('SRID=4326;POLYGON((127.104804 37.514748, 127.102049 37.516796, 127.098151 37.516796, 127.095396 37.514748, 127.095396 37.511852, 127.098151 37.509804, 127.102049 37.509804, 127.104804 37.511852, 127.104804 37.514748))')),
('myeongdong', '명동', ST_GeogFromText('SRID=4326;POLYGON((126.990875 37.564772, 126.988547 37.56643, 126.985253 37.56643, 126.982925 37.564772, 126.982925 37.562428, 126.985253 37.56077, 126.988547 37.56077, 126.990875 37.562428, 126.990875 37.564772))')),
('seongsu', '성수', ST_GeogFromText('SRID=4326;POLYGON((127.060502 37.545841, 127.057806 37.547597, 127.053994 37.547597, 127.051298 37.545841, 127.051298 37.543359, 127.053994 37.541603, 127.057806 37.541603, 127.060502 37.543359, 127.060502 37.545841))'));
