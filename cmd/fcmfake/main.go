// Command fcmfake serves a fake Firebase Cloud Messaging HTTP v1 endpoint on
// loopback, for benchmarks and `make run` demos: point the push worker at it
// with FCM_ENDPOINT=http://127.0.0.1:8095/v1 and it sends for real, through
// the real SDK, to a server that records every message and can be told to
// fail (see package internal/push/fcmfake and its /_fake/ control API).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/couponpop/couponpop/internal/push/fcmfake"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "fcmfake:", err)
		os.Exit(1)
	}
}

// config is what run needs, from flags with environment defaults.
type config struct {
	addr         string
	project      string
	latency      time.Duration
	messageLimit int
}

const usage = `fcmfake serves a fake FCM HTTP v1 API (POST /v1/projects/{id}/messages:send).

Point the push worker at it with FCM_ENDPOINT=http://ADDR/v1.
Program it over HTTP under /_fake/ (stats, messages, reset, tokens, fail, latency).

Flags (environment variable in brackets):
`

func parseConfig(args []string, getenv func(string) string, out io.Writer) (config, error) {
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprint(out, usage)
		fs.PrintDefaults()
	}
	var cfg config
	fs.StringVar(&cfg.addr, "addr", envOr(getenv, "FCMFAKE_ADDR", "127.0.0.1:8095"),
		"listen address [FCMFAKE_ADDR]")
	fs.StringVar(&cfg.project, "project", getenv("FCM_PROJECT_ID"),
		"only accept sends for this project id; empty accepts any [FCM_PROJECT_ID]")
	latency, err := time.ParseDuration(envOr(getenv, "FCMFAKE_LATENCY", "0s"))
	if err != nil {
		return config{}, fmt.Errorf("FCMFAKE_LATENCY: %w", err)
	}
	fs.DurationVar(&cfg.latency, "latency", latency,
		"delay every send answer by this much, to model FCM's round trip [FCMFAKE_LATENCY]")
	// A bound by default, so a long benchmark cannot grow the process
	// without limit; counts go on past it.
	limit, err := strconv.Atoi(envOr(getenv, "FCMFAKE_MESSAGE_LIMIT", "100000"))
	if err != nil {
		return config{}, fmt.Errorf("FCMFAKE_MESSAGE_LIMIT: %w", err)
	}
	fs.IntVar(&cfg.messageLimit, "message-limit", limit,
		"keep at most this many messages in full; 0 keeps all [FCMFAKE_MESSAGE_LIMIT]")
	if err := fs.Parse(args[1:]); err != nil {
		return config{}, err
	}
	return cfg, nil
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

// run serves until ctx ends, then drains in-flight sends.
func run(ctx context.Context, args []string, getenv func(string) string) error {
	cfg, err := parseConfig(args, getenv, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}

	fake := fcmfake.New(fcmfake.WithProject(cfg.project), fcmfake.WithMessageLimit(cfg.messageLimit))
	fake.SetLatency(cfg.latency)

	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: fake, ReadHeaderTimeout: 5 * time.Second}
	log.Printf("fcmfake: serving FCM v1 on http://%s/v1 (project %q, latency %s, message limit %d)",
		ln.Addr(), cfg.project, cfg.latency, cfg.messageLimit)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}
