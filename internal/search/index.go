package search

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/opensearch-project/opensearch-go/v2"
	"github.com/opensearch-project/opensearch-go/v2/opensearchapi"
)

// Indexer writes PostgreSQL's stores into OpenSearch: single stores as they
// change (Sync) and everything at once into a fresh index (Reindex).
type Indexer struct {
	db      *pgxpool.Pool
	os      *opensearch.Client
	emb     Embedder
	alias   string
	ko      Korean
	float32 bool
	log     *slog.Logger
	// PageSize is the number of stores per page of a full reindex: one SQL
	// query, one embeddings call sequence and one bulk request each.
	PageSize int
	// SyncEmbedTimeout bounds the model call of a Sync (800 ms). A model
	// busy with a full reindex can take seconds; rather than break the 2 s
	// promise, the change is written without a vector (keyword search sees
	// it at once) and RepairEmbeddings adds the vector soon after.
	SyncEmbedTimeout time.Duration

	// Test hooks (export_test.go): run after the bulk pass and just before
	// the alias swap, to put writes exactly where the catch-up passes must
	// find them.
	afterBulk, beforeSwap func()
}

// IndexerOptions configure an Indexer; zero values take defaults.
type IndexerOptions struct {
	Alias  string // DefaultAlias
	Korean Korean // Nori
	// Float32 keeps full-precision vectors in the HNSW graph; by default
	// they are scalar-quantized to int8 (see hnswParameters).
	Float32 bool
	Log     *slog.Logger
}

// NewIndexer returns an Indexer.
func NewIndexer(db *pgxpool.Pool, os *opensearch.Client, emb Embedder, o IndexerOptions) *Indexer {
	if o.Alias == "" {
		o.Alias = DefaultAlias
	}
	if o.Korean == "" {
		o.Korean = Nori
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &Indexer{db: db, os: os, emb: emb, alias: o.Alias, ko: o.Korean, float32: o.Float32, log: o.Log,
		PageSize: 256, SyncEmbedTimeout: 800 * time.Millisecond}
}

// Alias is the alias the indexer maintains.
func (ix *Indexer) Alias() string { return ix.alias }

// Sync brings the documents of stores ids up to date with PostgreSQL:
// indexed when live, removed when deleted. It writes through the alias.
func (ix *Indexer) Sync(ctx context.Context, ids []int64) error {
	return ix.syncInto(ctx, ix.alias, ids, false, ix.SyncEmbedTimeout)
}

// syncInto loads, embeds and writes stores ids into index. Catch-up passes
// of a reindex are strict: they skip a store whose version the index
// already holds, instead of rewriting every store touched in the last minute.
// embedTimeout > 0 bounds the model call.
func (ix *Indexer) syncInto(ctx context.Context, index string, ids []int64, strict bool, embedTimeout time.Duration) error {
	if len(ids) == 0 {
		return nil
	}
	docs, err := loadDocs(ctx, ix.db, ids)
	if err != nil {
		return err
	}
	ectx := ctx
	if embedTimeout > 0 {
		var cancel context.CancelFunc
		ectx, cancel = context.WithTimeout(ctx, embedTimeout)
		defer cancel()
	}
	ix.embed(ectx, docs)
	return ix.write(ctx, index, docs, strict)
}

// embed fills the vectors of live docs. When the model fails the documents
// are written without vectors (has_embedding false): keyword search sees the
// change within the sync deadline, and RepairEmbeddings fills the vectors
// in once the model is back. Blocking the whole sync on the model would make
// a model outage a search outage.
func (ix *Indexer) embed(ctx context.Context, docs []Doc) {
	var texts []string
	var idx []int
	for i := range docs {
		if !docs[i].Deleted {
			texts = append(texts, docs[i].EmbeddingText())
			idx = append(idx, i)
		}
	}
	if len(texts) == 0 {
		return
	}
	vs, err := ix.emb.Embed(ctx, Passage, texts)
	if err != nil {
		ix.log.WarnContext(ctx, "embedding failed; indexing without vectors", "stores", len(texts), "err", err)
		return
	}
	for j, i := range idx {
		docs[i].Embedding = vs[j]
		docs[i].HasEmbedding = true
	}
}

// write sends docs in one bulk request. A version conflict means the index
// already holds a newer state of that store (another indexer, or the sync
// during a reindex, got there first), or with strict the same one: not an
// error.
//
// Sync writes are external_gte, not external: the same version is written
// again, because a document's content can change without a newer
// updated_at (an event sells out or ends; a vector is repaired).
func (ix *Indexer) write(ctx context.Context, index string, docs []Doc, strict bool) error {
	if len(docs) == 0 {
		return nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for i := range docs {
		d := &docs[i]
		meta := map[string]any{"_index": index, "_id": strconv.FormatInt(d.StoreID, 10)}
		if d.Version > 0 {
			meta["version"] = d.Version
			meta["version_type"] = "external_gte"
			if strict {
				meta["version_type"] = "external"
			}
		}
		if d.Deleted {
			_ = enc.Encode(map[string]any{"delete": meta})
			continue
		}
		_ = enc.Encode(map[string]any{"index": meta})
		if err := enc.Encode(d); err != nil {
			return fmt.Errorf("encode store %d: %w", d.StoreID, err)
		}
	}
	var res struct {
		Errors bool `json:"errors"`
		Items  []map[string]struct {
			ID     string          `json:"_id"`
			Status int             `json:"status"`
			Error  json.RawMessage `json:"error"`
		} `json:"items"`
	}
	if err := call(ctx, ix.os, opensearchapi.BulkRequest{Body: &buf}, &res); err != nil {
		return fmt.Errorf("bulk %d docs into %s: %w", len(docs), index, err)
	}
	if !res.Errors {
		return nil
	}
	var failed []string
	for _, item := range res.Items {
		for op, r := range item {
			switch {
			case r.Status < 300, r.Status == http.StatusConflict:
			case op == "delete" && r.Status == http.StatusNotFound:
			default:
				failed = append(failed, fmt.Sprintf("%s %s: %d %s", op, r.ID, r.Status, r.Error))
			}
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("bulk into %s: %d of %d failed, first: %s", index, len(failed), len(docs), failed[0])
	}
	return nil
}

// ReindexStats describes a finished reindex.
type ReindexStats struct {
	Index    string        // the new index, now behind the alias
	Old      []string      // indices that held the alias before (deleted)
	Docs     int           // stores written in the bulk pass
	CaughtUp int           // stores re-synced by the two catch-up passes
	Merge    time.Duration // the force merge to one segment
	Took     time.Duration // the whole rebuild
}

var oneSegment = 1

// catchUpMargin widens the catch-up windows. updated_at is the time a
// transaction started, not when it committed: a transaction that started
// before the window but committed inside it would otherwise be missed.
// A minute is far more than any store or event transaction takes.
const catchUpMargin = time.Minute

// Reindex builds a new index from PostgreSQL and moves the alias to it in one
// atomic _aliases call, so searches read the complete old index until the
// moment they read the complete new one: search never goes dark.
//
// Writes of the sync keep going to the alias (the old index) while the new
// index is loaded. Two catch-up passes re-sync every store changed since the
// pass before started: the first into the new index just before the swap,
// the second through the alias right after it, which covers writes that
// landed in the old index between the first pass and the swap. External
// versions make all of this order-independent: the newest state wins.
func (ix *Indexer) Reindex(ctx context.Context) (ReindexStats, error) {
	start := time.Now()
	st := ReindexStats{Index: ix.alias + "-" + time.Now().UTC().Format("20060102t150405") + "-" + randomSuffix()}
	t0, err := dbNow(ctx, ix.db)
	if err != nil {
		return st, err
	}
	if err := ix.createIndex(ctx, st.Index, "-1"); err != nil {
		return st, err
	}
	swapped := false
	defer func() {
		if !swapped { // a failed build must not leave a half index behind
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			_ = call(dctx, ix.os, opensearchapi.IndicesDeleteRequest{Index: []string{st.Index}}, nil)
		}
	}()

	var after int64
	for {
		docs, err := loadPage(ctx, ix.db, after, ix.PageSize)
		if err != nil {
			return st, err
		}
		if len(docs) == 0 {
			break
		}
		ix.embed(ctx, docs)
		if err := ix.write(ctx, st.Index, docs, false); err != nil {
			return st, err
		}
		st.Docs += len(docs)
		after = docs[len(docs)-1].StoreID
	}

	if ix.afterBulk != nil {
		ix.afterBulk()
	}
	t1, err := dbNow(ctx, ix.db)
	if err != nil {
		return st, err
	}
	n, err := ix.catchUp(ctx, st.Index, t0)
	if err != nil {
		return st, err
	}
	st.CaughtUp += n
	// One segment: each segment is searched on its own, its own HNSW graph
	// included, so a bulk-built index of several segments pays the kNN
	// search several times over (4 segments at 100,000 stores: 2.5 ms of
	// node CPU per kNN search against 1 ms merged). Minutes for a large
	// index, while the old one keeps serving.
	mstart := time.Now()
	fm := opensearchapi.IndicesForcemergeRequest{Index: []string{st.Index}, MaxNumSegments: &oneSegment}
	if err := call(ctx, ix.os, fm, nil); err != nil {
		return st, fmt.Errorf("force merge %s: %w", st.Index, err)
	}
	st.Merge = time.Since(mstart)
	// Back to the normal refresh interval, and make everything visible
	// before the first search hits it.
	if err := ix.setRefresh(ctx, st.Index, "500ms"); err != nil {
		return st, err
	}
	if err := call(ctx, ix.os, opensearchapi.IndicesRefreshRequest{Index: []string{st.Index}}, nil); err != nil {
		return st, fmt.Errorf("refresh %s: %w", st.Index, err)
	}
	old, err := ix.aliasIndices(ctx)
	if err != nil {
		return st, err
	}
	if ix.beforeSwap != nil {
		ix.beforeSwap()
	}
	if err := ix.swap(ctx, old, st.Index); err != nil {
		return st, err
	}
	swapped = true
	st.Old = old
	n, err = ix.catchUp(ctx, ix.alias, t1)
	if err != nil {
		return st, err
	}
	st.CaughtUp += n
	if len(old) > 0 {
		if err := call(ctx, ix.os, opensearchapi.IndicesDeleteRequest{Index: old}, nil); err != nil {
			// The new index serves; an old one left over wastes disk only.
			ix.log.WarnContext(ctx, "deleting old indices", "indices", old, "err", err)
		}
	}
	st.Took = time.Since(start)
	return st, nil
}

func (ix *Indexer) catchUp(ctx context.Context, index string, since time.Time) (int, error) {
	ids, err := changedSince(ctx, ix.db, since.Add(-catchUpMargin))
	if err != nil {
		return 0, err
	}
	for start := 0; start < len(ids); start += ix.PageSize {
		end := min(start+ix.PageSize, len(ids))
		if err := ix.syncInto(ctx, index, ids[start:end], true, 0); err != nil {
			return 0, err
		}
	}
	return len(ids), nil
}

// Ensure makes sure the alias exists and points at an index of the current
// mapping version and embedding model; otherwise it rebuilds. The indexer
// calls it at start, so a new deployment with a changed mapping or model
// reindexes by itself.
func (ix *Indexer) Ensure(ctx context.Context) (rebuilt bool, err error) {
	meta, err := ix.liveMeta(ctx)
	switch {
	case isStatus(err, http.StatusNotFound):
		ix.log.InfoContext(ctx, "no search index yet; building it", "alias", ix.alias)
	case err != nil:
		return false, err
	case meta.MappingVersion != MappingVersion || meta.Embedder != ix.emb.Name() || meta.Korean != string(ix.ko):
		ix.log.InfoContext(ctx, "search index is outdated; rebuilding it", "alias", ix.alias,
			"mapping_version", meta.MappingVersion, "want", MappingVersion, "embedder", meta.Embedder, "want_embedder", ix.emb.Name())
	default:
		return false, nil
	}
	st, err := ix.Reindex(ctx)
	if err != nil {
		return false, err
	}
	ix.log.InfoContext(ctx, "search index built", "index", st.Index, "docs", st.Docs, "took", st.Took)
	return true, nil
}

// RepairEmbeddings re-syncs up to n stores that were indexed without a vector
// because the model was down. It returns how many it found.
func (ix *Indexer) RepairEmbeddings(ctx context.Context, n int) (int, error) {
	var res searchResponse
	body := idOnly(map[string]any{
		"size":  n,
		"query": map[string]any{"term": map[string]any{"has_embedding": false}},
	})
	req := opensearchapi.SearchRequest{Index: []string{ix.alias}, Body: jsonBody(body)}
	if err := call(ctx, ix.os, req, &res); err != nil {
		return 0, fmt.Errorf("stores without vectors: %w", err)
	}
	ids := make([]int64, 0, len(res.Hits.Hits))
	for _, h := range res.Hits.Hits {
		if id := h.storeID(); id > 0 {
			ids = append(ids, id)
		}
	}
	// No model timeout here: this is the slow path that waits for vectors.
	return len(ids), ix.syncInto(ctx, ix.alias, ids, false, 0)
}

// indexMeta is what an index records about how it was built.
type indexMeta struct {
	MappingVersion int    `json:"mapping_version"`
	Embedder       string `json:"embedder"`
	Korean         string `json:"korean"`
	BuiltAt        string `json:"built_at"`
}

func (ix *Indexer) liveMeta(ctx context.Context) (indexMeta, error) {
	var res map[string]struct {
		Mappings struct {
			Meta indexMeta `json:"_meta"`
		} `json:"mappings"`
	}
	if err := call(ctx, ix.os, opensearchapi.IndicesGetMappingRequest{Index: []string{ix.alias}}, &res); err != nil {
		return indexMeta{}, err
	}
	for _, m := range res {
		return m.Mappings.Meta, nil
	}
	return indexMeta{}, &apiError{Status: http.StatusNotFound, Reason: "alias " + ix.alias + " has no index"}
}

func (ix *Indexer) createIndex(ctx context.Context, name, refresh string) error {
	body := indexBody(ix.ko, ix.float32, map[string]any{
		"mapping_version": MappingVersion,
		"embedder":        ix.emb.Name(),
		"korean":          string(ix.ko),
		"built_at":        time.Now().UTC().Format(time.RFC3339),
	})
	// While the bulk pass loads, refreshing would only make segments nobody
	// reads yet.
	body["settings"].(map[string]any)["index"].(map[string]any)["refresh_interval"] = refresh
	if err := call(ctx, ix.os, opensearchapi.IndicesCreateRequest{Index: name, Body: jsonBody(body)}, nil); err != nil {
		return fmt.Errorf("create index %s: %w", name, err)
	}
	return nil
}

func (ix *Indexer) setRefresh(ctx context.Context, index, interval string) error {
	body := map[string]any{"index": map[string]any{"refresh_interval": interval}}
	req := opensearchapi.IndicesPutSettingsRequest{Index: []string{index}, Body: jsonBody(body)}
	if err := call(ctx, ix.os, req, nil); err != nil {
		return fmt.Errorf("refresh interval of %s: %w", index, err)
	}
	return nil
}

// aliasIndices lists the indices the alias points at (none before the
// first build).
func (ix *Indexer) aliasIndices(ctx context.Context) ([]string, error) {
	var res map[string]any
	err := call(ctx, ix.os, opensearchapi.IndicesGetAliasRequest{Name: []string{ix.alias}}, &res)
	if isStatus(err, http.StatusNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("indices of alias %s: %w", ix.alias, err)
	}
	out := make([]string, 0, len(res))
	for name := range res {
		out = append(out, name)
	}
	return out, nil
}

// swap moves the alias from old to index in one atomic request.
func (ix *Indexer) swap(ctx context.Context, old []string, index string) error {
	actions := []map[string]any{}
	for _, o := range old {
		actions = append(actions, map[string]any{"remove": map[string]any{"index": o, "alias": ix.alias}})
	}
	actions = append(actions, map[string]any{"add": map[string]any{"index": index, "alias": ix.alias}})
	req := opensearchapi.IndicesUpdateAliasesRequest{Body: jsonBody(map[string]any{"actions": actions})}
	if err := call(ctx, ix.os, req, nil); err != nil {
		return fmt.Errorf("move alias %s to %s: %w", ix.alias, index, err)
	}
	return nil
}

// DeleteAll removes the alias and every index built for it (alias-*). Tests
// and benchmarks clean up with it; the indexer never calls it.
func (ix *Indexer) DeleteAll(ctx context.Context) error {
	req := opensearchapi.IndicesDeleteRequest{Index: []string{ix.alias + "-*"}}
	if err := call(ctx, ix.os, req, nil); err != nil && !isStatus(err, http.StatusNotFound) {
		return fmt.Errorf("delete %s-*: %w", ix.alias, err)
	}
	return nil
}

func randomSuffix() string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func isIndexMissing(err error) bool {
	var ae *apiError
	return errors.As(err, &ae) && ae.Status == http.StatusNotFound && strings.Contains(ae.Type, "index_not_found")
}

// Reconcile re-syncs the stores that changed in PostgreSQL at or after
// since (minus the catch-up margin) and whose document is missing, older
// than PostgreSQL's state, or should be gone. It returns how many it
// re-synced. Stores already up to date cost one _mget, not a model call.
//
// It is the indexer's safety net, run every few seconds: a writer that
// forgot its outbox row, or a message lost to an operator purging the
// queue, is repaired within one pass instead of waiting for the next
// reindex.
func (ix *Indexer) Reconcile(ctx context.Context, since time.Time) (int, error) {
	rows, _ := ix.db.Query(ctx, `
		WITH changed AS (
			SELECT id FROM stores WHERE updated_at >= $1
			UNION
			SELECT store_id FROM coupon_events WHERE updated_at >= $1
		)
		SELECT s.id, s.deleted_at IS NOT NULL,
		       greatest(s.updated_at, (SELECT max(updated_at) FROM coupon_events WHERE store_id = s.id))
		FROM stores s JOIN changed c ON c.id = s.id`, since.Add(-catchUpMargin))
	type state struct {
		deleted bool
		version int64
	}
	want := map[int64]state{}
	var id int64
	var st state
	var at time.Time
	if _, err := pgx.ForEachRow(rows, []any{&id, &st.deleted, &at}, func() error {
		st.version = at.UnixMicro()
		want[id] = st
		return nil
	}); err != nil {
		return 0, fmt.Errorf("stores changed since %s: %w", since.Format(time.RFC3339), err)
	}
	if len(want) == 0 {
		return 0, nil
	}
	ids := make([]string, 0, len(want))
	for id := range want {
		ids = append(ids, strconv.FormatInt(id, 10))
	}
	var got struct {
		Docs []struct {
			ID      string `json:"_id"`
			Found   bool   `json:"found"`
			Version int64  `json:"_version"`
		} `json:"docs"`
	}
	req := opensearchapi.MgetRequest{Index: ix.alias, Body: jsonBody(map[string]any{"ids": ids}),
		Source: false}
	if err := call(ctx, ix.os, req, &got); err != nil {
		return 0, fmt.Errorf("versions of %d stores: %w", len(ids), err)
	}
	var stale []int64
	for _, d := range got.Docs {
		id, _ := strconv.ParseInt(d.ID, 10, 64)
		w := want[id]
		if (w.deleted && d.Found) || (!w.deleted && (!d.Found || d.Version < w.version)) {
			stale = append(stale, id)
		}
	}
	for start := 0; start < len(stale); start += ix.PageSize {
		if err := ix.Sync(ctx, stale[start:min(start+ix.PageSize, len(stale))]); err != nil {
			return 0, err
		}
	}
	return len(stale), nil
}

// ReconcileLoop runs Reconcile every interval over the changes since the
// previous pass, until ctx ends.
func (ix *Indexer) ReconcileLoop(ctx context.Context, every time.Duration) error {
	since, err := dbNow(ctx, ix.db)
	for err != nil { // PostgreSQL not there yet: wait for it like everything else
		if !sleep(ctx, every) {
			return nil
		}
		since, err = dbNow(ctx, ix.db)
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		now, err := dbNow(ctx, ix.db)
		if err == nil {
			var n int
			n, err = ix.Reconcile(ctx, since)
			if err == nil {
				since = now
				if n > 0 {
					ix.log.InfoContext(ctx, "reconciled stores the sync had missed", "stores", n)
				}
			}
		}
		if err != nil && ctx.Err() == nil {
			ix.log.WarnContext(ctx, "reconcile", "err", err)
		}
	}
}
