package geo

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/twpayne/go-geom"
	"github.com/twpayne/go-geom/encoding/ewkb"
	"github.com/twpayne/go-geom/encoding/geojson"
)

// GeoJSONType is the media type of RFC 7946 GeoJSON.
const GeoJSONType = "application/geo+json"

// FeatureCollection is an RFC 7946 FeatureCollection. Geometries are
// encoded by go-geom; the wrapper is ours because go-geom's Feature has a
// string id, and the contract's feature id is the store id, a number.
type FeatureCollection struct {
	Type     string    `json:"type"` // "FeatureCollection"
	BBox     []float64 `json:"bbox,omitempty"`
	Features []Feature `json:"features"`
}

// Feature is an RFC 7946 Feature.
type Feature struct {
	Type       string            `json:"type"` // "Feature"
	ID         *int64            `json:"id,omitempty"`
	Geometry   *geojson.Geometry `json:"geometry"`
	Properties map[string]any    `json:"properties"`
}

func point(lat, lng float64) (*geojson.Geometry, error) {
	// GeoJSON positions are [longitude, latitude] (RFC 7946 §3.1.1).
	return geojson.Encode(geom.NewPointFlat(geom.XY, []float64{lng, lat}))
}

// GeoJSON returns the viewport as a FeatureCollection: a Point feature per
// store (feature id and properties.store_id = the store id) and per
// cluster (properties.cluster true and count). Its bbox is the asked box,
// west > east when it crosses the antimeridian (RFC 7946 §5.2).
func (v Viewport) GeoJSON(box BBox) (FeatureCollection, error) {
	fc := FeatureCollection{
		Type:     "FeatureCollection",
		BBox:     []float64{box.MinLng, box.MinLat, box.MaxLng, box.MaxLat},
		Features: make([]Feature, 0, len(v.Items)+len(v.Clusters)),
	}
	for _, c := range v.Clusters {
		g, err := point(c.Lat, c.Lng)
		if err != nil {
			return FeatureCollection{}, fmt.Errorf("encode cluster: %w", err)
		}
		fc.Features = append(fc.Features, Feature{Type: "Feature", Geometry: g, Properties: map[string]any{
			"cluster": true, "count": c.Count, "with_coupons": c.WithCoupons,
		}})
	}
	for _, st := range v.Items {
		g, err := point(st.Lat, st.Lng)
		if err != nil {
			return FeatureCollection{}, fmt.Errorf("encode store %d: %w", st.ID, err)
		}
		id := st.ID
		fc.Features = append(fc.Features, Feature{Type: "Feature", ID: &id, Geometry: g, Properties: map[string]any{
			"store_id": st.ID, "name": st.Name, "category": st.Category, "address": st.Address,
			"cluster": false, "event_count": st.EventCount, "remaining": st.Remaining,
		}})
	}
	return fc, nil
}

// AreasGeoJSON returns the named areas as Polygon features (feature id =
// area id; properties slug and name), exterior rings counterclockwise as
// RFC 7946 asks.
func (s *Service) AreasGeoJSON(ctx context.Context) (FeatureCollection, error) {
	rows, err := s.db.Query(ctx, `
		SELECT id, slug, name, ST_AsEWKB(ST_ForcePolygonCCW(polygon::geometry))
		FROM areas ORDER BY id`)
	if err != nil {
		return FeatureCollection{}, fmt.Errorf("list areas: %w", err)
	}
	fc := FeatureCollection{Type: "FeatureCollection", Features: []Feature{}}
	var id int64
	var slug, name string
	var wkb []byte
	_, err = pgx.ForEachRow(rows, []any{&id, &slug, &name, &wkb}, func() error {
		g, err := ewkb.Unmarshal(wkb)
		if err != nil {
			return fmt.Errorf("area %d: %w", id, err)
		}
		gj, err := geojson.Encode(g)
		if err != nil {
			return fmt.Errorf("area %d: %w", id, err)
		}
		aid := id
		fc.Features = append(fc.Features, Feature{Type: "Feature", ID: &aid, Geometry: gj,
			Properties: map[string]any{"area_id": id, "slug": slug, "name": name}})
		return nil
	})
	if err != nil {
		return FeatureCollection{}, fmt.Errorf("list areas: %w", err)
	}
	return fc, nil
}
