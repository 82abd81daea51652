// Package redistest hands each test package its own Redis database on the
// server `make test` started, flushed at start. A missing Redis fails the
// run; it never skips.
package redistest

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/redis/go-redis/v9"
)

// Addr is REDIS_ADDR or the loopback default.
func Addr() string {
	if a := os.Getenv("REDIS_ADDR"); a != "" {
		return a
	}
	return "127.0.0.1:6379"
}

// Open connects to database db (each test package uses its own number, so
// packages running in parallel cannot flush each other) and flushes it.
func Open(db int) (*redis.Client, error) {
	c := redis.NewClient(&redis.Options{Addr: Addr(), DB: db, PoolSize: 256})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.FlushDB(ctx).Err(); err != nil {
		c.Close()
		return nil, fmt.Errorf("redis %s db %d (run `make services`): %w", Addr(), db, err)
	}
	return c, nil
}
