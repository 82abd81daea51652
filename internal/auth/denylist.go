package auth

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisDenyList keeps logged-out token ids in Redis until they expire.
// Keys: auth:deny:{jti} → "1" with the token's remaining lifetime as TTL.
type RedisDenyList struct{ rdb redis.UniversalClient }

// NewRedisDenyList returns a deny-list on rdb.
func NewRedisDenyList(rdb redis.UniversalClient) *RedisDenyList { return &RedisDenyList{rdb: rdb} }

// Deny records tokenID until until.
func (d *RedisDenyList) Deny(ctx context.Context, tokenID string, until time.Time) error {
	ttl := time.Until(until)
	if ttl <= 0 {
		return nil
	}
	return d.rdb.Set(ctx, "auth:deny:"+tokenID, "1", ttl).Err()
}

// Denied reports whether tokenID was logged out.
func (d *RedisDenyList) Denied(ctx context.Context, tokenID string) (bool, error) {
	n, err := d.rdb.Exists(ctx, "auth:deny:"+tokenID).Result()
	return n > 0, err
}
