// Command worker is the push deployable: it relays the transactional outbox
// to RabbitMQ, sends pushes from RabbitMQ to FCM, and announces events whose
// issue window has opened.
//
// The outbox relay runs here rather than in the API so that the API's
// latency never carries it and so that it scales with the tasks that
// consume what it publishes; several relays run safely side by side.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"

	"github.com/couponpop/couponpop/internal/config"
	"github.com/couponpop/couponpop/internal/logx"
	"github.com/couponpop/couponpop/internal/outbox"
	"github.com/couponpop/couponpop/internal/postgres"
	"github.com/couponpop/couponpop/internal/push"
	"github.com/couponpop/couponpop/internal/redisx"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(1)
	}
}

// workerVars are the worker's own knobs, beyond the platform's Config.
var workerVars = []struct{ name, def, help string }{
	{"METRICS_ADDR", "", "address to serve /metrics and /healthz on; empty serves nothing"},
	{"PUSH_BATCH_SIZE", "500", "deliveries handled per batch (one SendEach call)"},
	{"PUSH_PROCESSORS", "4", "batches handled at once"},
	{"PUSH_MAX_ATTEMPTS", "10", "FCM attempts per device before a push is dead-lettered"},
	{"PUSH_LOCK_TTL", "90s", "how long a device's send is held in Redis; must outlast a send (30 s)"},
	{"ANNOUNCE_INTERVAL", "15s", "how often events whose issue window opened are announced"},
}

type workerConfig struct {
	metricsAddr            string
	batch, procs, attempts int
	lockTTL, announceEvery time.Duration
}

func loadWorkerConfig(getenv func(string) string) (workerConfig, error) {
	get := func(name string) string {
		if v := getenv(name); v != "" {
			return v
		}
		for _, v := range workerVars {
			if v.name == name {
				return v.def
			}
		}
		return ""
	}
	var c workerConfig
	var err error
	c.metricsAddr = get("METRICS_ADDR")
	for _, p := range []struct {
		name string
		dst  *int
	}{{"PUSH_BATCH_SIZE", &c.batch}, {"PUSH_PROCESSORS", &c.procs}, {"PUSH_MAX_ATTEMPTS", &c.attempts}} {
		if *p.dst, err = strconv.Atoi(get(p.name)); err != nil || *p.dst <= 0 {
			return c, fmt.Errorf("config: %s=%q: want a positive integer", p.name, get(p.name))
		}
	}
	for _, p := range []struct {
		name string
		dst  *time.Duration
	}{{"PUSH_LOCK_TTL", &c.lockTTL}, {"ANNOUNCE_INTERVAL", &c.announceEvery}} {
		if *p.dst, err = time.ParseDuration(get(p.name)); err != nil || *p.dst <= 0 {
			return c, fmt.Errorf("config: %s=%q: want a positive duration", p.name, get(p.name))
		}
	}
	return c, nil
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) > 1 && (args[1] == "--help" || args[1] == "-h" || args[1] == "help") {
		config.Usage(stdout, "worker", "relays the outbox to RabbitMQ and sends pushes from RabbitMQ to FCM")
		fmt.Fprintln(stdout, "\nWorker settings:")
		for _, v := range workerVars {
			def := v.def
			if def == "" {
				def = "(empty)"
			}
			fmt.Fprintf(stdout, "  %-22s %s\n  %-22s default: %s\n", v.name, v.help, "", def)
		}
		return nil
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	wc, err := loadWorkerConfig(getenv)
	if err != nil {
		return err
	}
	log := logx.New(stdout, cfg.LogLevel)
	log.Info("starting worker", cfg.LogValues(getenv)...)

	pool, err := postgres.Open(ctx, cfg.DatabaseURL, 32)
	if err != nil {
		return err
	}
	defer pool.Close()
	rdb, err := redisx.Open(ctx, cfg.RedisAddr, cfg.RedisPassword, 64)
	if err != nil {
		return err
	}
	defer rdb.Close()
	sender, err := push.NewSender(ctx, push.FCMConfig{
		ProjectID:       cfg.FCMProjectID,
		CredentialsFile: cfg.FCMCredentialsFile,
		Endpoint:        cfg.FCMEndpoint,
	}, log)
	if err != nil {
		return err
	}

	// The push queue must be bound before the relay publishes anything, or
	// the exchange drops the first messages of a fresh broker as
	// unroutable. RabbitMQ may still be starting (ECS starts everything at
	// once), so wait for it rather than fail.
	for {
		err := push.DeclareTopology(cfg.RabbitMQURL, push.DefaultTopology())
		if err == nil {
			break
		}
		log.Warn("declare push topology; retrying", "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(2 * time.Second):
		}
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	relay := outbox.NewRelay(pool, outbox.RelayConfig{URL: cfg.RabbitMQURL, Log: log, Registerer: reg})
	worker := push.NewWorker(pool, rdb, sender, push.WorkerConfig{
		URL:         cfg.RabbitMQURL,
		BatchSize:   wc.batch,
		Processors:  wc.procs,
		MaxAttempts: wc.attempts,
		LockTTL:     wc.lockTTL,
		SendTimeout: min(30*time.Second, wc.lockTTL*2/3),
		Log:         log,
		Registerer:  reg,
	})

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return ignoreCanceled(relay.Run(gctx)) })
	g.Go(func() error { return worker.Run(gctx) })
	g.Go(func() error { return push.RunAnnouncer(gctx, pool, wc.announceEvery, log) })
	if wc.metricsAddr != "" {
		mux := http.NewServeMux()
		mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
		mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
		srv := &http.Server{Addr: wc.metricsAddr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		g.Go(func() error {
			if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("metrics server: %w", err)
			}
			return nil
		})
		g.Go(func() error {
			<-gctx.Done()
			shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return srv.Shutdown(shut)
		})
	}
	err = g.Wait()
	log.Info("worker stopped")
	return err
}

func ignoreCanceled(err error) error {
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}
