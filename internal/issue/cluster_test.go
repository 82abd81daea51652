package issue_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/couponpop/couponpop/internal/auth"
	"github.com/couponpop/couponpop/internal/issue"
	"github.com/couponpop/couponpop/internal/redisx"
	"github.com/couponpop/couponpop/internal/redisx/redistest"
)

// The same proof on a Redis Cluster (three masters) with redsync taking its
// lock across three independent Redis servers (quorum 2), and one lock
// server killed mid-run: every gate key is hash-tagged to one slot, so the
// Lua scripts run unchanged, and Redlock keeps working with 2 of 3.
func TestIssueOnRedisClusterWithRedlock(t *testing.T) {
	ctx := context.Background()
	cluster := redistest.StartCluster(t, 3)
	locks := []*redistest.Server{redistest.StartServer(t), redistest.StartServer(t), redistest.StartServer(t)}

	rdb, err := redisx.Open(ctx, redistest.Addrs(cluster), "", 256)
	require.NoError(t, err)
	t.Cleanup(func() { rdb.Close() })
	rs, closeLocks, err := redisx.Redsync(ctx, rdb, redistest.Addrs(locks), "")
	require.NoError(t, err)
	t.Cleanup(closeLocks)

	tests := []struct {
		name    string
		servers int
		kill    bool // kill one lock server half way
	}{
		{name: "two servers", servers: 2},
		{name: "lock server killed mid-run", servers: 2, kill: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var servers []*env
			for range tt.servers {
				servers = append(servers, newEnvWith(t, issue.Options{}, rdb, rs))
			}
			f := newFixture(t, servers[0])
			ev := f.event(t, servers[0], 100, nil)
			var mid func()
			var once sync.Once
			if tt.kill {
				mid = func() { once.Do(locks[2].Stop) }
				t.Cleanup(func() { locks[2].Start(t) })
			}
			got := stampede(t, servers, ev.ID, members(t, auth.Customer, 1000), mid)
			assert.Equal(t, 100, got.m["201"], "answers: %v", got.m)
			assert.Equal(t, 900, got.m["SOLD_OUT"], "answers: %v", got.m)
			rows, issued := dbCounts(t, ev.ID)
			assert.Equal(t, 100, rows)
			assert.Equal(t, 100, issued)
		})
	}
}
