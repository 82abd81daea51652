// Command migrate applies the database migrations (ECS runs it as a one-off
// task before each deploy).
//
//	migrate up        apply every pending migration (the default)
//	migrate down N    roll back N migrations
//	migrate version   print the current version
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/couponpop/couponpop/internal/config"
	"github.com/couponpop/couponpop/internal/postgres"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "migrate:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	cmd := "up"
	if len(args) > 1 {
		cmd = args[1]
	}
	if cmd == "--help" || cmd == "-h" || cmd == "help" {
		fmt.Fprintln(stdout, "usage: migrate [up | down N | version]")
		config.Usage(stdout, "migrate", "applies the numbered SQL migrations in migrations/ (embedded)")
		return nil
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	pool, err := postgres.Open(ctx, cfg.DatabaseURL, 2)
	if err != nil {
		return err
	}
	defer pool.Close()
	switch cmd {
	case "up":
		err = postgres.Migrate(ctx, pool, 0)
	case "down":
		if len(args) < 3 {
			return fmt.Errorf("down needs a number of steps")
		}
		n, perr := strconv.Atoi(args[2])
		if perr != nil || n < 1 {
			return fmt.Errorf("down: steps must be a positive integer")
		}
		err = postgres.Migrate(ctx, pool, -n)
	case "version":
	default:
		return fmt.Errorf("unknown command %q (want up, down N or version)", cmd)
	}
	if err != nil {
		return err
	}
	v, dirty, err := postgres.Version(pool)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "schema version %d (dirty=%v)\n", v, dirty)
	return nil
}
