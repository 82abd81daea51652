package auth

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisDenyList keeps logged-out access-token ids until they expire.
//
// Redis holds the truth (auth:deny:{jti} → "1", TTL = the token's remaining
// life) and every logout is also published on auth:deny. Once Run has
// loaded the keys and subscribed, each process answers Denied from memory:
// checking a token then costs no Redis round trip, which matters when every
// authenticated request asks (the issuance hot path does ten thousand a
// second). Until Run is ready — or in a process that never runs it — Denied
// asks Redis directly. A logout reaches other processes as fast as Redis
// pub/sub delivers (milliseconds); after a lost subscription the set is
// reloaded from the keys.
type RedisDenyList struct {
	rdb    redis.UniversalClient
	mu     sync.RWMutex
	denied map[string]time.Time
	ready  atomic.Bool
}

const denyChannel = "auth:deny"

// NewRedisDenyList returns a deny-list on rdb.
func NewRedisDenyList(rdb redis.UniversalClient) *RedisDenyList {
	return &RedisDenyList{rdb: rdb, denied: map[string]time.Time{}}
}

func denyKey(id string) string { return "auth:deny:" + id }

// Deny records tokenID until until, here and in every other process.
func (d *RedisDenyList) Deny(ctx context.Context, tokenID string, until time.Time) error {
	ttl := time.Until(until)
	if ttl <= 0 {
		return nil
	}
	d.remember(tokenID, until)
	if err := d.rdb.Set(ctx, denyKey(tokenID), until.Unix(), ttl).Err(); err != nil {
		return err
	}
	return d.rdb.Publish(ctx, denyChannel, fmt.Sprintf("%s %d", tokenID, until.Unix())).Err()
}

// Denied reports whether tokenID was logged out.
func (d *RedisDenyList) Denied(ctx context.Context, tokenID string) (bool, error) {
	if d.ready.Load() {
		d.mu.RLock()
		until, ok := d.denied[tokenID]
		d.mu.RUnlock()
		return ok && time.Now().Before(until), nil
	}
	n, err := d.rdb.Exists(ctx, denyKey(tokenID)).Result()
	return n > 0, err
}

func (d *RedisDenyList) remember(id string, until time.Time) {
	d.mu.Lock()
	d.denied[id] = until
	d.mu.Unlock()
}

// Run keeps the in-memory set in step with Redis until ctx ends. It
// returns nil on cancellation; Redis errors make it retry, not fail.
func (d *RedisDenyList) Run(ctx context.Context) error {
	for ctx.Err() == nil {
		if err := d.follow(ctx); err != nil && ctx.Err() == nil {
			d.ready.Store(false)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
	return nil
}

// follow subscribes, then loads the existing keys (so nothing published in
// between is missed), then applies messages until the subscription breaks.
func (d *RedisDenyList) follow(ctx context.Context) error {
	sub := d.rdb.Subscribe(ctx, denyChannel)
	defer sub.Close()
	// ReceiveTimeout blocks in a socket read that does not watch ctx, and
	// a timeout loops: closing the subscription is what ends follow (and
	// so Run, and the API's graceful shutdown) when ctx is canceled.
	stop := context.AfterFunc(ctx, func() { _ = sub.Close() })
	defer stop()
	if _, err := sub.Receive(ctx); err != nil {
		return err
	}
	if err := d.load(ctx); err != nil {
		return err
	}
	d.ready.Store(true)
	prune := time.NewTicker(time.Minute)
	defer prune.Stop()
	for {
		msg, err := sub.ReceiveTimeout(ctx, 30*time.Second)
		if err != nil {
			if isTimeout(err) {
				continue
			}
			return err
		}
		if m, ok := msg.(*redis.Message); ok {
			var id string
			var unix int64
			if _, err := fmt.Sscanf(m.Payload, "%s %d", &id, &unix); err == nil {
				d.remember(id, time.Unix(unix, 0))
			}
		}
		select {
		case <-prune.C:
			d.prune()
		default:
		}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func (d *RedisDenyList) load(ctx context.Context) error {
	scan := func(ctx context.Context, c *redis.Client) error {
		it := c.Scan(ctx, 0, "auth:deny:*", 1000).Iterator()
		for it.Next(ctx) {
			key := it.Val()
			unix, err := c.Get(ctx, key).Int64()
			if err != nil {
				continue // expired between SCAN and GET
			}
			d.remember(strings.TrimPrefix(key, "auth:deny:"), time.Unix(unix, 0))
		}
		return it.Err()
	}
	switch c := d.rdb.(type) {
	case *redis.ClusterClient:
		return c.ForEachMaster(ctx, scan)
	case *redis.Client:
		return scan(ctx, c)
	}
	return fmt.Errorf("deny-list: unsupported redis client %T", d.rdb)
}

func (d *RedisDenyList) prune() {
	now := time.Now()
	d.mu.Lock()
	for id, until := range d.denied {
		if now.After(until) {
			delete(d.denied, id)
		}
	}
	d.mu.Unlock()
}
