// Command api serves the CouponPop HTTP API.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/sync/errgroup"

	"github.com/couponpop/couponpop/internal/api"
	"github.com/couponpop/couponpop/internal/auth"
	"github.com/couponpop/couponpop/internal/config"
	"github.com/couponpop/couponpop/internal/dashboard"
	"github.com/couponpop/couponpop/internal/geo"
	"github.com/couponpop/couponpop/internal/httpapi"
	"github.com/couponpop/couponpop/internal/issue"
	"github.com/couponpop/couponpop/internal/logx"
	"github.com/couponpop/couponpop/internal/member"
	"github.com/couponpop/couponpop/internal/postgres"
	"github.com/couponpop/couponpop/internal/push"
	"github.com/couponpop/couponpop/internal/rabbitmq"
	"github.com/couponpop/couponpop/internal/redisx"
	"github.com/couponpop/couponpop/internal/search"
	"github.com/couponpop/couponpop/internal/store"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "api:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) > 1 && (args[1] == "--help" || args[1] == "-h" || args[1] == "help") {
		config.Usage(stdout, "api", "serves the CouponPop HTTP API (/api/v1, /healthz, /readyz, /metrics, /openapi.yaml)")
		return nil
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	log := logx.New(stdout, cfg.LogLevel)
	log.Info("starting api", cfg.LogValues(getenv)...)

	pool, err := postgres.Open(ctx, cfg.DatabaseURL, 64)
	if err != nil {
		return err
	}
	defer pool.Close()
	rdb, err := redisx.Open(ctx, cfg.RedisAddr, cfg.RedisPassword, 256)
	if err != nil {
		return err
	}
	defer rdb.Close()
	rs, closeLocks, err := redisx.Redsync(ctx, rdb, cfg.RedisLockAddrs, cfg.RedisPassword)
	if err != nil {
		return err
	}
	defer closeLocks()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	deny := auth.NewRedisDenyList(rdb)
	tokens := auth.NewTokens(cfg.JWTSecret, cfg.JWTSecretPrevious, cfg.AccessTokenTTL, deny)
	onErr := func(ctx context.Context, what string, err error) { log.WarnContext(ctx, what, "err", err) }
	members := member.NewService(pool, tokens, cfg.RefreshTokenTTL)
	stores := store.NewService(pool, onErr)
	issuing := issue.NewService(pool, rdb, rs, stores, log, reg, issue.Options{})
	// Runs after the HTTP server has drained: every accepted issue request
	// gets its committed answer before the process exits.
	defer issuing.Close()
	nearby := geo.NewService(pool, rdb, rs, issuing, log, reg, geo.Options{})
	stores.AddListener(api.GeoStores{Geo: nearby})
	issuing.AddListener(nearby)
	pushes := push.NewService(pool, stores)
	members.OnLogout = pushes.RemoveMemberDevices
	stats := dashboard.NewService(pool, stores)
	osc, err := search.NewClient(cfg.OpenSearchURL)
	if err != nil {
		return err
	}
	// Real users repeat queries: a small LRU of query vectors saves the
	// embedding call for the popular ones.
	finder := search.NewService(osc, search.NewCached(search.NewEmbedder(cfg.EmbeddingsURL, cfg.EmbeddingsModel), 10_000),
		pool, search.Options{Log: log})

	srv := api.New(api.Deps{
		Log:      log,
		Registry: reg,
		Checks: []httpapi.Check{
			{Name: "postgres", Ping: pool.Ping},
			{Name: "redis", Ping: func(ctx context.Context) error { return rdb.Ping(ctx).Err() }},
			{Name: "rabbitmq", Ping: func(ctx context.Context) error { return rabbitmq.Ping(ctx, cfg.RabbitMQURL) }},
		},
		Tokens:  tokens,
		Members: members,
		Stores:  stores,
		Issue:   issuing,
		Geo:     nearby,
		Push:    pushes,
		Search:  finder,
		Stats:   stats,
	})

	httpSrv := &http.Server{
		Addr:              cfg.HTTPAddr,
		Handler:           srv.Engine,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return deny.Run(gctx) })
	g.Go(func() error { return nearby.Run(gctx) })
	g.Go(func() error { return stats.RunFolder(gctx, 10*time.Second, log) })
	g.Go(func() error {
		log.Info("listening", "addr", cfg.HTTPAddr)
		if err := httpSrv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		// ECS sends SIGTERM and waits stopTimeout (30 s by default) before
		// SIGKILL: finish in-flight requests well within it.
		shutCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		log.Info("shutting down")
		return httpSrv.Shutdown(shutCtx)
	})
	return g.Wait()
}
