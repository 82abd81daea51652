package corpus

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/couponpop/couponpop/internal/search"
)

// VectorCache is a search.Embedder that keeps every vector it has seen in a
// file, so a fixed corpus is embedded once per machine rather than once per
// run. The model is deterministic, so a cached vector is the vector the
// server would return; the key includes the model name and the input type.
//
// Embedding the 2,000-store relevance corpus takes one to three minutes on
// a busy 2-core machine, the 100,000-store benchmark corpus most of an hour:
// the relevance test and the benchmark use this cache. Production never
// does (the indexer embeds each change once anyway).
//
// The file is a sequence of records: 32-byte SHA-256 key, then the vector
// as little-endian float32s. Appends from concurrent processes are single
// O_APPEND writes of one record, and a torn last record is ignored on load.
type VectorCache struct {
	next search.Embedder
	mu   sync.RWMutex
	m    map[[32]byte][]float32
	f    *os.File
	dims int
}

// DefaultVectorCachePath is where the cache lives for next's model:
// $XDG_CACHE_HOME/couponpop/vectors-<model>.bin (or ~/.cache/…).
func DefaultVectorCachePath(next search.Embedder) (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' {
			return r
		}
		return '_'
	}, next.Name())
	return filepath.Join(dir, "couponpop", "vectors-"+name+".bin"), nil
}

// OpenVectorCache loads the cache at path (created if missing) in front of
// next.
func OpenVectorCache(path string, next search.Embedder) (*VectorCache, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	c := &VectorCache{next: next, m: map[[32]byte][]float32{}, f: f, dims: search.Dims}
	rec := make([]byte, 32+4*c.dims)
	r := bufio.NewReaderSize(f, 1<<20)
	for {
		if _, err := io.ReadFull(r, rec); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				break
			}
			f.Close()
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		var k [32]byte
		copy(k[:], rec)
		v := make([]float32, c.dims)
		for i := range v {
			v[i] = math.Float32frombits(binary.LittleEndian.Uint32(rec[32+4*i:]))
		}
		c.m[k] = v
	}
	return c, nil
}

// Close closes the file.
func (c *VectorCache) Close() error { return c.f.Close() }

// Len is the number of cached vectors.
func (c *VectorCache) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}

// Name is the wrapped model's.
func (c *VectorCache) Name() string { return c.next.Name() }

func (c *VectorCache) key(typ search.InputType, text string) [32]byte {
	return sha256.Sum256([]byte(c.next.Name() + "\x00" + string(typ) + "\x00" + text))
}

// Embed returns cached vectors and embeds (and stores) the rest.
func (c *VectorCache) Embed(ctx context.Context, typ search.InputType, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	var miss []int
	c.mu.RLock()
	for i, t := range texts {
		if v, ok := c.m[c.key(typ, t)]; ok {
			out[i] = v
		} else {
			miss = append(miss, i)
		}
	}
	c.mu.RUnlock()
	if len(miss) == 0 {
		return out, nil
	}
	missTexts := make([]string, len(miss))
	for j, i := range miss {
		missTexts[j] = texts[i]
	}
	vs, err := c.next.Embed(ctx, typ, missTexts)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	rec := make([]byte, 32+4*c.dims)
	for j, i := range miss {
		out[i] = vs[j]
		k := c.key(typ, texts[i])
		c.m[k] = vs[j]
		copy(rec, k[:])
		for d, x := range vs[j] {
			binary.LittleEndian.PutUint32(rec[32+4*d:], math.Float32bits(x))
		}
		if _, err := c.f.Write(rec); err != nil {
			return nil, fmt.Errorf("vector cache: %w", err)
		}
	}
	return out, nil
}
