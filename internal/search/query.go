package search

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/opensearch-project/opensearch-go/v2"
	"github.com/opensearch-project/opensearch-go/v2/opensearchapi"

	"github.com/couponpop/couponpop/internal/derrors"
	"github.com/couponpop/couponpop/internal/geo"
)

// Mode is how a search matches.
type Mode string

// The modes of GET /api/v1/search.
const (
	Hybrid Mode = "hybrid" // BM25 and kNN, fused
	BM25   Mode = "bm25"   // keywords only
	KNN    Mode = "knn"    // meaning only
)

// ParseMode validates a mode; empty is Hybrid.
func ParseMode(s string) (Mode, error) {
	switch Mode(s) {
	case "":
		return Hybrid, nil
	case Hybrid, BM25, KNN:
		return Mode(s), nil
	}
	return "", derrors.Invalidf("mode", "must be hybrid, bm25 or knn")
}

// Fusion is how hybrid mode merges the two ranked lists.
type Fusion string

// The fusions. docs/SEARCH.md has the measurements behind the default.
const (
	// RRF is reciprocal rank fusion: Σ 1/(k + rank). Only ranks count, so
	// the incomparable scales of BM25 and cosine similarity don't matter.
	RRF Fusion = "rrf"
	// Convex is min-max normalized score combination:
	// α·bm25' + (1-α)·knn', each normalized to [0, 1] over its own list.
	Convex Fusion = "convex"
)

// ErrUnavailable is the answer when OpenSearch is down or the index is not
// built: a 503 the client may retry, never a 500.
var ErrUnavailable = derrors.New(derrors.Unavailable, "SEARCH_UNAVAILABLE", "search is temporarily unavailable; retry later")

// Options tune the Service; zero values take the defaults in parentheses.
type Options struct {
	Alias  string // DefaultAlias
	Fusion Fusion // Convex
	// Alpha is BM25's weight in Convex fusion (0.3: the best of the
	// weights measured on the relevance set, see docs/SEARCH.md).
	Alpha float64
	// RRFK is the k of RRF (60, as in the paper and in OpenSearch).
	RRFK int
	// Window is how many candidates the BM25 leg fetches (50): fusion can
	// only promote what one of the lists found.
	Window int
	// KNNWindow is the k of the kNN leg (30). HNSW work grows with k, and
	// faster under a geo filter, where most of the graph is filtered out;
	// on the relevance set 30 scores as 50 does (docs/SEARCH.md).
	KNNWindow int
	// IssuableBoost multiplies the score of stores with a coupon that can be
	// issued right now by 1+IssuableBoost (0.1; negative turns it off):
	// enough to move such a store above a neighbour of similar relevance,
	// not above a better match.
	IssuableBoost float64
	// EmbedTimeout bounds the query embedding (300 ms); slower means degraded.
	EmbedTimeout time.Duration
	// SearchTimeout bounds the OpenSearch call (3 s).
	SearchTimeout time.Duration
	Log           *slog.Logger
}

// Service answers searches and suggestions.
type Service struct {
	os   *opensearch.Client
	emb  Embedder
	db   *pgxpool.Pool
	opts Options
}

// NewService returns the search service. db is PostgreSQL, where results
// get their store details and live coupon events.
func NewService(os *opensearch.Client, emb Embedder, db *pgxpool.Pool, o Options) *Service {
	if o.Alias == "" {
		o.Alias = DefaultAlias
	}
	if o.Fusion == "" {
		o.Fusion = Convex
	}
	if o.Alpha == 0 {
		o.Alpha = 0.3
	}
	if o.RRFK == 0 {
		o.RRFK = 60
	}
	if o.Window == 0 {
		o.Window = 50
	}
	if o.KNNWindow == 0 {
		o.KNNWindow = 30
	}
	if o.IssuableBoost == 0 {
		o.IssuableBoost = 0.1
	}
	if o.EmbedTimeout == 0 {
		o.EmbedTimeout = 300 * time.Millisecond
	}
	if o.SearchTimeout == 0 {
		o.SearchTimeout = 3 * time.Second
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &Service{os: os, emb: emb, db: db, opts: o}
}

// Request is one search.
type Request struct {
	Text string
	Mode Mode
	// Near, when set, adds distance_m to every item; with RadiusM > 0 only
	// stores within RadiusM metres are returned.
	Near    *geo.Point
	RadiusM float64
	Limit   int
}

// Result is the search response body.
type Result struct {
	Items []Item `json:"items"`
	// Mode is the mode that produced the items: bm25 when a kNN or hybrid
	// search had to fall back to keywords.
	Mode Mode `json:"mode"`
	// Degraded says that the requested mode could not be served (the
	// embedding model failed) and keyword results were returned instead.
	Degraded bool `json:"degraded"`
}

// Item is one ranked store.
type Item struct {
	Store     StoreSummary `json:"store"`
	Score     float64      `json:"score"`
	DistanceM *float64     `json:"distance_m,omitempty"`
	Events    []Event      `json:"events"`
}

// StoreSummary is the store as search results show it (the nearby shape).
// It comes from PostgreSQL, so a rename shows at once even before the
// index has it.
type StoreSummary struct {
	ID       int64   `json:"id"`
	Name     string  `json:"name"`
	Category string  `json:"category"`
	Address  string  `json:"address"`
	Lat      float64 `json:"lat"`
	Lng      float64 `json:"lng"`
}

// Event is an issuable coupon event of a result (the nearby shape).
type Event struct {
	ID            int64     `json:"id"`
	Title         string    `json:"title"`
	DiscountType  string    `json:"discount_type"`
	DiscountValue int       `json:"discount_value"`
	Remaining     int       `json:"remaining"`
	IssueEndsAt   time.Time `json:"issue_ends_at"`
}

// Search runs one search.
//
// OpenSearch only ranks: each leg returns store ids (from doc values) and
// scores, no stored fields, which is most of what a search costs the node
// (loading and decompressing 50 stored documents costs more than the
// query). The stores that can still make the page are then read from
// PostgreSQL in one statement, with their live issuable events; those get
// the boost, and the page is cut.
func (s *Service) Search(ctx context.Context, r Request) (Result, error) {
	if r.Limit <= 0 {
		r.Limit = 20
	}
	res := Result{Mode: r.Mode, Items: []Item{}}
	var vec []float32
	if r.Mode != BM25 {
		ectx, cancel := context.WithTimeout(ctx, s.opts.EmbedTimeout)
		vs, err := s.emb.Embed(ectx, Query, []string{r.Text})
		cancel()
		if err != nil || len(vs) != 1 {
			// Meaning search without a meaning: answer with keywords and
			// say so, rather than fail a search that BM25 can serve.
			s.opts.Log.WarnContext(ctx, "query embedding failed; degrading to bm25", "err", err)
			res.Mode, res.Degraded = BM25, true
		} else {
			vec = vs[0]
		}
	}

	window, knnWindow := max(s.opts.Window, r.Limit), max(s.opts.KNNWindow, r.Limit)
	var lists [][]hit
	var err error
	switch res.Mode {
	case BM25:
		lists, err = s.msearch(ctx, s.bm25Body(r, window))
	case KNN:
		lists, err = s.msearch(ctx, s.knnBody(r, vec, knnWindow))
	default:
		lists, err = s.msearch(ctx, s.bm25Body(r, window), s.knnBody(r, vec, knnWindow))
	}
	if err != nil {
		return Result{}, err
	}

	var cands []candidate
	switch res.Mode {
	case Hybrid:
		if s.opts.Fusion == RRF {
			cands = fuseRRF(lists[0], lists[1], s.opts.RRFK)
		} else {
			cands = fuseConvex(lists[0], lists[1], s.opts.Alpha)
		}
	default:
		// One list, normalized like each list of the fusion: BM25 scores
		// have no scale and cosine scores crowd into a band a few hundredths
		// wide, where a ×1.1 boost would overrule the ranking instead of
		// breaking near-ties.
		cands = fuseConvex(lists[0], nil, 1)
	}
	sortCandidates(cands)
	cands = contenders(cands, r.Limit, s.opts.IssuableBoost)

	ids := make([]int64, len(cands))
	for i, c := range cands {
		ids[i] = c.id
	}
	rows, err := storeRows(ctx, s.db, ids)
	if err != nil {
		if errors.Is(ctx.Err(), context.Canceled) {
			return Result{}, ctx.Err()
		}
		return Result{}, fmt.Errorf("%w (%v)", ErrUnavailable, err)
	}
	kept := cands[:0]
	for _, c := range cands {
		row, ok := rows[c.id]
		if !ok {
			continue // deleted since it was indexed; the sync will catch up
		}
		c.row = row
		if len(row.Events) > 0 && s.opts.IssuableBoost > 0 {
			c.score *= 1 + s.opts.IssuableBoost
		}
		kept = append(kept, c)
	}
	sortCandidates(kept)
	if len(kept) > r.Limit {
		kept = kept[:r.Limit]
	}
	for _, c := range kept {
		it := Item{Store: c.row.Store, Score: c.score, Events: c.row.Events}
		if it.Events == nil {
			it.Events = []Event{}
		}
		if r.Near != nil {
			d := geo.Distance(*r.Near, geo.Point{Lat: c.row.Store.Lat, Lng: c.row.Store.Lng})
			it.DistanceM = &d
		}
		res.Items = append(res.Items, it)
	}
	return res, nil
}

// sortCandidates orders by score, then store id, so equal scores come back
// in the same order every time (pagination, tests, caches).
func sortCandidates(cs []candidate) {
	sort.SliceStable(cs, func(i, j int) bool {
		if cs[i].score != cs[j].score {
			return cs[i].score > cs[j].score
		}
		return cs[i].id < cs[j].id
	})
}

// contenders keeps the sorted candidates that can still make a page of
// limit: the boost multiplies a score by at most 1+boost, so anything below
// the limit-th score divided by that can never pass it. A few more are
// kept in case some of the page turn out to be deleted.
func contenders(cs []candidate, limit int, boost float64) []candidate {
	if len(cs) <= limit {
		return cs
	}
	floor := cs[limit-1].score / (1 + max(boost, 0))
	n := limit
	for n < len(cs) && cs[n].score >= floor {
		n++
	}
	return cs[:min(n+5, len(cs))]
}

// idOnly makes a leg return store ids and scores only: no _source, no
// stored fields at all (not even _id), store_id from doc values.
func idOnly(body map[string]any) map[string]any {
	body["_source"] = false
	body["stored_fields"] = "_none_"
	body["docvalue_fields"] = []string{"store_id"}
	return body
}

// bm25Fields weigh where a keyword matched: the name says most about a
// store, the bilingual category labels next, then description, events and
// address. Every text field is searched twice, through the Korean analyzer
// and the English one (.en, stemmed).
var bm25Fields = []string{
	"name^3", "name.en^3",
	"category_text^2", "category_text.en^2",
	"description", "description.en",
	"event_text", "event_text.en",
	"address", "address.en",
}

func (s *Service) bm25Body(r Request, size int) map[string]any {
	b := map[string]any{
		"multi_match": map[string]any{
			// most_fields adds up the fields that match, so "조용한 카페"
			// scores a store with 카페 in its category and 조용 in its
			// description above one that has only one of them.
			"query": r.Text, "type": "most_fields", "fields": bm25Fields,
		},
	}
	q := map[string]any{"bool": map[string]any{"must": b, "filter": geoFilter(r)}}
	return idOnly(map[string]any{
		"size": size,
		// No total count: lets Lucene skip blocks that cannot make the top
		// (block-max WAND), and nobody pages through 10,000 stores.
		"track_total_hits": false,
		"query":            q,
	})
}

func (s *Service) knnBody(r Request, vec []float32, size int) map[string]any {
	knn := map[string]any{"vector": vec, "k": size}
	if f := geoFilter(r); len(f) > 0 {
		// Lucene filters during the graph search (exact search when the
		// filter is very selective), so a radius never starves the k.
		knn["filter"] = map[string]any{"bool": map[string]any{"filter": f}}
	}
	return idOnly(map[string]any{
		"size":  size,
		"query": map[string]any{"knn": map[string]any{"embedding": knn}},
	})
}

func geoFilter(r Request) []any {
	if r.Near == nil || r.RadiusM <= 0 {
		return []any{}
	}
	return []any{map[string]any{"geo_distance": map[string]any{
		"distance": strconv.FormatFloat(r.RadiusM, 'f', -1, 64) + "m",
		// arc: the exact great-circle test, not the faster plane
		// approximation, so the filter agrees with distance_m at the edge.
		"distance_type": "arc",
		"location":      map[string]any{"lat": r.Near.Lat, "lon": r.Near.Lng},
	}}}
}

// hit is one search hit: a score and, from doc values, the store id; or,
// for suggestions, a small _source.
type hit struct {
	Score  float64 `json:"_score"`
	Fields struct {
		StoreID []int64 `json:"store_id"`
	} `json:"fields"`
	Source *Suggestion `json:"_source"`
}

func (h hit) storeID() int64 {
	if len(h.Fields.StoreID) > 0 {
		return h.Fields.StoreID[0]
	}
	if h.Source != nil {
		return h.Source.StoreID
	}
	return 0
}

type searchResponse struct {
	Hits struct {
		Hits []hit `json:"hits"`
	} `json:"hits"`
}

// msearch runs the bodies in one _msearch round trip (OpenSearch runs them in
// parallel on its search pool) and returns one hit list per body.
func (s *Service) msearch(ctx context.Context, bodies ...map[string]any) ([][]hit, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, b := range bodies {
		_ = enc.Encode(map[string]any{})
		if err := enc.Encode(b); err != nil {
			return nil, fmt.Errorf("encode search: %w", err)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.SearchTimeout)
	defer cancel()
	var res struct {
		Responses []struct {
			searchResponse
			Status int             `json:"status"`
			Error  json.RawMessage `json:"error"`
		} `json:"responses"`
	}
	err := call(ctx, s.os, opensearchapi.MsearchRequest{Index: []string{s.opts.Alias}, Body: &buf}, &res)
	if err == nil && len(res.Responses) != len(bodies) {
		err = fmt.Errorf("opensearch: %d answers to %d searches", len(res.Responses), len(bodies))
	}
	if err == nil {
		for _, r := range res.Responses {
			if len(r.Error) > 0 {
				err = decodeError(r.Status, bytes.NewReader([]byte(`{"error":`+string(r.Error)+`}`)))
				break
			}
		}
	}
	if err != nil {
		if errors.Is(ctx.Err(), context.Canceled) {
			return nil, ctx.Err() // the client went away; nothing to report
		}
		detail := "search is temporarily unavailable; retry later"
		if isIndexMissing(err) {
			detail = "the search index is not built yet; retry later"
		}
		// %v, not %w, for the cause: a timeout inside must not turn into the
		// generic SERVICE_UNAVAILABLE; clients switch on SEARCH_UNAVAILABLE.
		return nil, fmt.Errorf("search %s: %w (%v)", s.opts.Alias, ErrUnavailable.WithDetail("%s", detail), err)
	}
	out := make([][]hit, len(bodies))
	for i, r := range res.Responses {
		out[i] = r.Hits.Hits
	}
	return out, nil
}

// candidate is a store on its way into the result.
type candidate struct {
	id    int64
	score float64
	row   storeRow
}

// fuseRRF is reciprocal rank fusion (Cormack et al., 2009): a store's score
// is the sum over the lists that contain it of 1/(k + rank), rank from 1.
// A large k flattens the difference between the first ranks.
func fuseRRF(bm25, knn []hit, k int) []candidate {
	f := newFusion(len(bm25) + len(knn))
	for _, hits := range [][]hit{bm25, knn} {
		for i, h := range hits {
			f.add(h.storeID(), 1/float64(k+i+1))
		}
	}
	return f.out
}

// fuseConvex normalizes each list's scores to [0, 1] by its own min and max
// and adds them with weights alpha (BM25) and 1-alpha (kNN); a store missing
// from a list gets 0 from it. BM25 scores have no fixed scale (they grow with
// query length and term rarity) and cosine scores cluster in a narrow band,
// so raw scores cannot be added; min-max makes "best in its list" worth the
// same in both.
func fuseConvex(bm25, knn []hit, alpha float64) []candidate {
	f := newFusion(len(bm25) + len(knn))
	for _, l := range []struct {
		hits []hit
		w    float64
	}{{bm25, alpha}, {knn, 1 - alpha}} {
		if len(l.hits) == 0 {
			continue
		}
		lo, hi := l.hits[0].Score, l.hits[0].Score
		for _, h := range l.hits {
			lo, hi = min(lo, h.Score), max(hi, h.Score)
		}
		for _, h := range l.hits {
			n := 1.0
			if hi > lo {
				n = (h.Score - lo) / (hi - lo)
			}
			f.add(h.storeID(), l.w*n)
		}
	}
	return f.out
}

// fusion sums scores per store, keeping first-seen order.
type fusion struct {
	at  map[int64]int
	out []candidate
}

func newFusion(n int) *fusion {
	return &fusion{at: make(map[int64]int, n), out: make([]candidate, 0, n)}
}

func (f *fusion) add(id int64, score float64) {
	if id <= 0 {
		return
	}
	i, ok := f.at[id]
	if !ok {
		i = len(f.out)
		f.at[id] = i
		f.out = append(f.out, candidate{id: id})
	}
	f.out[i].score += score
}

// Suggestion is one autocomplete entry.
type Suggestion struct {
	StoreID  int64  `json:"store_id"`
	Name     string `json:"name"`
	Category string `json:"category"`
}

// Suggest completes a prefix of a store name: "스타" → 스타벅스 강남역점, ….
// Names are deduplicated (one entry per distinct name).
func (s *Service) Suggest(ctx context.Context, prefix string, limit int) ([]Suggestion, error) {
	if limit <= 0 {
		limit = 10
	}
	body := map[string]any{
		"size": limit, "_source": []string{"store_id", "name", "category"},
		"track_total_hits": false,
		"query": map[string]any{"bool": map[string]any{
			"must": map[string]any{"match": map[string]any{"name.ac": map[string]any{"query": prefix, "operator": "and"}}},
			"should": []any{
				// An exact name first, then names whose words match whole.
				map[string]any{"term": map[string]any{"name.kw": map[string]any{"value": prefix, "boost": 10}}},
				map[string]any{"match": map[string]any{"name": map[string]any{"query": prefix, "boost": 2}}},
			},
		}},
		"collapse": map[string]any{"field": "name.kw"},
	}
	lists, err := s.msearch(ctx, body)
	if err != nil {
		return nil, err
	}
	out := make([]Suggestion, 0, len(lists[0]))
	for _, h := range lists[0] {
		if h.Source != nil {
			out = append(out, *h.Source)
		}
	}
	return out, nil
}
