// Command seed loads the demo data (stores and coupon events around Seoul,
// their owners and a customer) through the domain services. It is
// idempotent: running it again changes nothing.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/couponpop/couponpop/internal/api"
	"github.com/couponpop/couponpop/internal/auth"
	"github.com/couponpop/couponpop/internal/config"
	"github.com/couponpop/couponpop/internal/demo"
	"github.com/couponpop/couponpop/internal/geo"
	"github.com/couponpop/couponpop/internal/issue"
	"github.com/couponpop/couponpop/internal/logx"
	"github.com/couponpop/couponpop/internal/member"
	"github.com/couponpop/couponpop/internal/postgres"
	"github.com/couponpop/couponpop/internal/redisx"
	"github.com/couponpop/couponpop/internal/store"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "seed:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) > 1 && (args[1] == "--help" || args[1] == "-h" || args[1] == "help") {
		config.Usage(stdout, "seed", "loads the demo stores, events and accounts around Seoul (idempotent)")
		return nil
	}
	if len(args) > 1 {
		return fmt.Errorf("unexpected argument %q (seed takes none; see --help)", args[1])
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	log := logx.New(os.Stderr, cfg.LogLevel)

	pool, err := postgres.Open(ctx, cfg.DatabaseURL, 4)
	if err != nil {
		return err
	}
	defer pool.Close()
	rdb, err := redisx.Open(ctx, cfg.RedisAddr, cfg.RedisPassword, 0)
	if err != nil {
		return err
	}
	defer rdb.Close()
	rs, closeLocks, err := redisx.Redsync(ctx, rdb, cfg.RedisLockAddrs, cfg.RedisPassword)
	if err != nil {
		return err
	}
	defer closeLocks()

	// The same services the API runs, so the demo data passes the same
	// validation and leaves the same outbox rows and Redis state.
	tokens := auth.NewTokens(cfg.JWTSecret, cfg.JWTSecretPrevious, cfg.AccessTokenTTL, nil)
	onErr := func(ctx context.Context, what string, err error) { log.WarnContext(ctx, what, "err", err) }
	members := member.NewService(pool, tokens, cfg.RefreshTokenTTL)
	stores := store.NewService(pool, onErr)
	reg := prometheus.NewRegistry()
	issuing := issue.NewService(pool, rdb, rs, stores, log, reg, issue.Options{})
	// The same listeners as cmd/api, so the map's Redis index sees the demo
	// stores and events as they are written.
	nearby := geo.NewService(pool, rdb, rs, issuing, log, reg, geo.Options{})
	stores.AddListener(api.GeoStores{Geo: nearby})
	issuing.AddListener(nearby)
	defer issuing.Close()

	r, err := demo.Load(ctx, demo.Deps{DB: pool, Members: members, Stores: stores, Issue: issuing})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "demo data: %s\n", r)
	fmt.Fprintf(stdout, "demo logins (password %s):\n", demo.Password)
	for _, a := range append(append([]demo.Account{}, demo.Owners...), demo.Customer) {
		fmt.Fprintf(stdout, "  %-8s %-28s %s\n", a.Role, a.Email, a.Nickname)
	}
	return nil
}
