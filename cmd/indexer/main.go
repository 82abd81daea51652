// Command indexer keeps the OpenSearch store index in sync with PostgreSQL.
//
//	indexer [run]      consume store.* and event.* from the outbox stream and
//	                   apply them (building the index first if it is missing
//	                   or outdated); runs until SIGTERM
//	indexer reindex    rebuild the index from PostgreSQL into a new index,
//	                   move the alias to it, and exit
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/couponpop/couponpop/internal/config"
	"github.com/couponpop/couponpop/internal/logx"
	"github.com/couponpop/couponpop/internal/postgres"
	"github.com/couponpop/couponpop/internal/search"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "indexer:", err)
		os.Exit(1)
	}
}

const what = "keeps the OpenSearch store index in sync with PostgreSQL from the outbox stream\n\n" +
	"Usage:\n" +
	"  indexer [run] [flags]      consume store.* and event.* messages; build the index first if missing or outdated\n" +
	"  indexer reindex [flags]    rebuild the index into a new one, swap the alias, exit\n\n" +
	"Flags:\n" +
	"  -alias NAME   index alias to maintain (default " + search.DefaultAlias + ")\n" +
	"  -queue NAME   RabbitMQ queue to consume (default " + search.SyncQueue + ")"

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	cmd, rest := "run", args[1:]
	if len(rest) > 0 && (rest[0] == "--help" || rest[0] == "-h" || rest[0] == "help") {
		config.Usage(stdout, "indexer", what)
		return nil
	}
	if len(rest) > 0 && rest[0] != "" && rest[0][0] != '-' {
		cmd, rest = rest[0], rest[1:]
	}
	fs := flag.NewFlagSet("indexer "+cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	// Another alias and queue let a staging indexer, or a test, run beside
	// the real one on the same cluster and broker.
	alias := fs.String("alias", search.DefaultAlias, "")
	queue := fs.String("queue", search.SyncQueue, "")
	if err := fs.Parse(rest); err != nil {
		return fmt.Errorf("%w (see indexer --help)", err)
	}
	if cmd != "run" && cmd != "reindex" {
		return fmt.Errorf("unknown command %q (want run or reindex; see indexer --help)", cmd)
	}

	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	log := logx.New(stdout, cfg.LogLevel)
	log.Info("starting indexer", append([]any{"command", cmd, "alias", *alias}, cfg.LogValues(getenv)...)...)

	pool, err := postgres.Open(ctx, cfg.DatabaseURL, 8)
	if err != nil {
		return err
	}
	defer pool.Close()
	osc, err := search.NewClient(cfg.OpenSearchURL)
	if err != nil {
		return err
	}
	if err := search.Ping(ctx, osc); err != nil {
		return fmt.Errorf("opensearch at %s: %w", cfg.OpenSearchURL, err)
	}
	emb := search.NewEmbedder(cfg.EmbeddingsURL, cfg.EmbeddingsModel)
	if cfg.EmbeddingsURL == "" {
		log.Warn("EMBEDDINGS_URL is empty: using the deterministic hashed fallback embedder; kNN and hybrid search will not understand meaning")
	}
	ix := search.NewIndexer(pool, osc, emb, search.IndexerOptions{Alias: *alias, Log: log})

	if cmd == "reindex" {
		st, err := ix.Reindex(ctx)
		if err != nil {
			return fmt.Errorf("reindex: %w", err)
		}
		log.Info("reindexed", "index", st.Index, "docs", st.Docs, "caught_up", st.CaughtUp, "old", st.Old, "took", st.Took)
		return nil
	}

	syncer := search.NewSyncer(cfg.RabbitMQURL, ix, search.SyncerOptions{Queue: *queue, Log: log})
	// The queue first, the index second: messages published while a first
	// build runs wait in the queue instead of being lost.
	if err := syncer.Declare(ctx); err != nil {
		return err
	}
	if _, err := ix.Ensure(ctx); err != nil {
		if errors.Is(ctx.Err(), context.Canceled) {
			return nil
		}
		return fmt.Errorf("ensure index: %w", err)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return syncer.Run(gctx) })
	g.Go(func() error { return ix.RepairLoop(gctx, 15*time.Second) })
	// The safety net under the outbox: stores PostgreSQL says changed that
	// the index has not caught up with, every 10 s.
	g.Go(func() error { return ix.ReconcileLoop(gctx, 10*time.Second) })
	err = g.Wait()
	log.Info("indexer stopped")
	return err
}
