// Command batch runs one batch job and exits (ECS runs it as a scheduled
// task; running a job twice, or from two tasks at once, is safe).
//
//	batch expire     mark ISSUED coupons past their validity EXPIRED and
//	                 events past their window ENDED
//	batch remind     write "expires tomorrow" reminders, once per coupon
//	batch announce   announce events whose issue window has opened
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/couponpop/couponpop/internal/config"
	"github.com/couponpop/couponpop/internal/issue"
	"github.com/couponpop/couponpop/internal/logx"
	"github.com/couponpop/couponpop/internal/postgres"
	"github.com/couponpop/couponpop/internal/push"
	"github.com/couponpop/couponpop/internal/redisx"
	"github.com/couponpop/couponpop/internal/store"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "batch:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	job := ""
	if len(args) > 1 {
		job = args[1]
	}
	switch job {
	case "expire", "remind", "announce":
	case "--help", "-h", "help":
		fmt.Fprintln(stdout, "usage: batch expire | remind | announce")
		config.Usage(stdout, "batch", "runs one batch job and exits")
		return nil
	default:
		return fmt.Errorf("unknown job %q (want expire, remind or announce; see --help)", job)
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	log := logx.New(stdout, cfg.LogLevel)
	pool, err := postgres.Open(ctx, cfg.DatabaseURL, 4)
	if err != nil {
		return err
	}
	defer pool.Close()

	start := time.Now()
	var out any
	switch job {
	case "expire":
		// Ending events also refreshes their Redis gates, so the issue
		// service is built in full.
		rdb, err := redisx.Open(ctx, cfg.RedisAddr, cfg.RedisPassword, 4)
		if err != nil {
			return err
		}
		defer rdb.Close()
		rs, closeLocks, err := redisx.Redsync(ctx, rdb, cfg.RedisLockAddrs, cfg.RedisPassword)
		if err != nil {
			return err
		}
		defer closeLocks()
		stores := store.NewService(pool, func(context.Context, string, error) {})
		svc := issue.NewService(pool, rdb, rs, stores, log, prometheus.NewRegistry(), issue.Options{})
		out, err = svc.Expire(ctx, 0)
		if err != nil {
			return err
		}
	case "remind":
		n, err := push.RemindExpiring(ctx, pool, time.Now())
		if err != nil {
			return err
		}
		out = map[string]int{"reminders": n}
	case "announce":
		n, err := push.AnnounceOpened(ctx, pool, time.Now())
		if err != nil {
			return err
		}
		out = map[string]int{"announced": n}
	}
	b, _ := json.Marshal(out)
	log.Info("batch done", "job", job, "result", json.RawMessage(b), "took", time.Since(start))
	return nil
}
