DROP INDEX IF EXISTS stores_location_geom_gix;
DROP TABLE IF EXISTS area_entries;
DROP TABLE IF EXISTS areas;
