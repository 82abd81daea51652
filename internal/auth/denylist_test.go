package auth_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/couponpop/couponpop/internal/auth"
	"github.com/couponpop/couponpop/internal/redisx/redistest"
)

// Redis database 10 belongs to this package's tests.
var rdb *redis.Client

func TestMain(m *testing.M) {
	var err error
	if rdb, err = redistest.Open(10); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// A logout in one process denies the token in another that answers from
// memory, and a process that starts later loads what was denied before.
func TestDenyListAcrossProcesses(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, b := auth.NewRedisDenyList(rdb), auth.NewRedisDenyList(rdb)
	go a.Run(ctx)
	go b.Run(ctx)

	before := "jti-before-start"
	require.NoError(t, a.Deny(ctx, before, time.Now().Add(time.Minute)))

	require.NoError(t, a.Deny(ctx, "jti-1", time.Now().Add(time.Minute)))
	assert.Eventually(t, func() bool { d, _ := b.Denied(ctx, "jti-1"); return d }, 2*time.Second, 5*time.Millisecond,
		"the other process sees the logout")
	d, err := b.Denied(ctx, "jti-unknown")
	require.NoError(t, err)
	assert.False(t, d)

	late := auth.NewRedisDenyList(rdb)
	go late.Run(ctx)
	assert.Eventually(t, func() bool { d, _ := late.Denied(ctx, before); return d }, 2*time.Second, 5*time.Millisecond,
		"a process started later loads earlier logouts")

	// Tokens verify until denied, and not after.
	tokens := auth.NewTokens("s", "", time.Minute, a)
	raw, _, err := tokens.Issue(7, auth.Customer)
	require.NoError(t, err)
	p, err := tokens.Verify(ctx, raw)
	require.NoError(t, err)
	require.NoError(t, tokens.Revoke(ctx, p))
	_, err = tokens.Verify(ctx, raw)
	assert.ErrorIs(t, err, auth.ErrInvalidToken)
}
