// Package search finds stores by what people type: keyword (BM25) search
// with Korean morphological analysis, meaning (kNN) search over multilingual
// embeddings, and a hybrid of both fused in Go.
//
// The index is a projection of PostgreSQL: one document per live store with
// its issuable coupon events. The indexer deployable (cmd/indexer) keeps it in
// sync from the outbox stream on RabbitMQ and rebuilds it into a fresh index
// behind an alias, so searches never see an empty or half-built index. The
// API only reads. See docs/SEARCH.md for the mapping, the analyzers and how
// the fusion was chosen.
package search

import "strings"

// Doc is one store as the index holds it. The document id is the store id.
type Doc struct {
	StoreID      int64    `json:"store_id"`
	Name         string   `json:"name"`
	Category     string   `json:"category"`
	CategoryText string   `json:"category_text"`
	Description  string   `json:"description"`
	Address      string   `json:"address"`
	Location     GeoPoint `json:"location"`
	EventText    string   `json:"event_text"`
	// Events are the store's current events; their titles are indexed
	// (event_text). Whether one can be issued right now, and how many are
	// left, is read from PostgreSQL at query time, not from the index.
	Events       []EventDoc `json:"-"`
	Embedding    []float32  `json:"embedding,omitempty"`
	HasEmbedding bool       `json:"has_embedding"`

	// Version orders writes of the same store: the latest updated_at of the
	// store and its events, in microseconds. The index refuses a write older
	// than what it holds (external_gte versioning), so two indexers, or a
	// reindex racing the sync, never put an older state back.
	Version int64 `json:"-"`
	// Deleted means the store is gone (soft-deleted or never existed): the
	// document must go.
	Deleted bool `json:"-"`
}

// GeoPoint is OpenSearch's geo_point object form.
type GeoPoint struct {
	Lat float64 `json:"lat"`
	Lon float64 `json:"lon"`
}

// EventDoc is what the index needs of a coupon event: its title.
type EventDoc struct {
	ID    int64  `json:"id"`
	Title string `json:"title"`
}

// categoryLabels are indexed with every store of the category (field
// category_text), in Korean and English, so "카페", "cafe" and "coffee" all
// find cafés by keyword even when the name and description don't say so.
var categoryLabels = map[string]string{
	"CAFE":          "카페 커피 cafe coffee",
	"FOOD":          "음식점 식당 맛집 restaurant food",
	"BAKERY":        "베이커리 빵집 제과점 bakery bread",
	"BAR":           "술집 바 주점 bar pub drinks",
	"CONVENIENCE":   "편의점 convenience store",
	"BEAUTY":        "뷰티 미용 beauty salon",
	"FASHION":       "패션 의류 옷가게 fashion clothing",
	"ENTERTAINMENT": "놀거리 오락 entertainment",
	"ETC":           "기타 etc",
}

// CategoryText is the bilingual label text of a category.
func CategoryText(category string) string { return categoryLabels[category] }

// EmbeddingText is what the model reads for a store: the text fields a person
// would read, most telling first. Events are part of it: "치킨 반값" is what a
// store is about this week.
func (d *Doc) EmbeddingText() string {
	parts := make([]string, 0, 5)
	for _, p := range []string{d.Name, d.CategoryText, d.Description, d.Address, d.EventText} {
		if p = strings.TrimRight(strings.TrimSpace(p), ". "); p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, ". ")
}

// eventText joins the titles of events into one searchable field.
func eventText(evs []EventDoc) string {
	titles := make([]string, len(evs))
	for i, e := range evs {
		titles[i] = e.Title
	}
	return strings.Join(titles, " / ")
}
