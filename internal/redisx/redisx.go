// Package redisx opens the Redis client every deployable shares.
//
// One comma-separated address selects Redis Cluster; one address a single
// server. Domain code takes redis.UniversalClient and hash-tags its keys
// ({...}) so every Lua script and multi-key command stays in one slot, so
// the same code runs on both.
package redisx

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/go-redsync/redsync/v4"
	redsyncredis "github.com/go-redsync/redsync/v4/redis"
	"github.com/go-redsync/redsync/v4/redis/goredis/v9"
	"github.com/redis/go-redis/v9"
)

// Open connects and pings. poolSize 0 takes go-redis' default.
func Open(ctx context.Context, addrs, password string, poolSize int) (redis.UniversalClient, error) {
	list := strings.Split(addrs, ",")
	for i := range list {
		list[i] = strings.TrimSpace(list[i])
	}
	opts := &redis.UniversalOptions{
		Addrs:        list,
		Password:     password,
		PoolSize:     poolSize,
		DialTimeout:  2 * time.Second,
		ReadTimeout:  time.Second,
		WriteTimeout: time.Second,
		// Fail fast while Redis is down so callers can fall back to
		// PostgreSQL instead of queueing behind a dead pool.
		MaxRetries: 1,
	}
	if len(list) > 1 {
		opts.IsClusterMode = true
	}
	rdb := redis.NewUniversalClient(opts)
	if err := rdb.Ping(ctx).Err(); err != nil {
		rdb.Close()
		return nil, fmt.Errorf("ping redis %s: %w", addrs, err)
	}
	return rdb, nil
}

// Redsync returns the distributed-lock client: over the independent
// servers in lockAddrs (Redlock, quorum n/2+1) when given, else over rdb.
// The lock servers must be independent masters, not a cluster's nodes.
func Redsync(ctx context.Context, rdb redis.UniversalClient, lockAddrs, password string) (*redsync.Redsync, func(), error) {
	if strings.TrimSpace(lockAddrs) == "" {
		return redsync.New(goredis.NewPool(rdb)), func() {}, nil
	}
	var pools []redsyncredis.Pool
	var clients []*redis.Client
	closeAll := func() {
		for _, c := range clients {
			c.Close()
		}
	}
	for _, a := range strings.Split(lockAddrs, ",") {
		c := redis.NewClient(&redis.Options{Addr: strings.TrimSpace(a), Password: password,
			DialTimeout: 500 * time.Millisecond, ReadTimeout: 500 * time.Millisecond, WriteTimeout: 500 * time.Millisecond, MaxRetries: -1})
		clients = append(clients, c)
		pools = append(pools, goredis.NewPool(c))
	}
	return redsync.New(pools...), closeAll, nil
}
