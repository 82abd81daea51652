package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/couponpop/couponpop/internal/postgres/pgtest"
	"github.com/couponpop/couponpop/internal/search"
	"github.com/couponpop/couponpop/internal/search/corpus"
)

func TestHelp(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"indexer", "--help"}, func(string) string { return "" }, &out))
	for _, want := range []string{"DATABASE_URL", "OPENSEARCH_URL", "RABBITMQ_URL", "EMBEDDINGS_URL", "EMBEDDINGS_MODEL", "reindex", "-alias"} {
		assert.Contains(t, out.String(), want)
	}
}

func TestBadArguments(t *testing.T) {
	for _, args := range [][]string{{"indexer", "rebuild"}, {"indexer", "run", "-nope"}, {"indexer", "reindex", "-alias"}} {
		err := run(context.Background(), args, func(string) string { return "" }, &bytes.Buffer{})
		assert.Error(t, err, strings.Join(args, " "))
	}
}

// syncBuffer is a bytes.Buffer safe for the logger and the test at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestReindexAndRun runs the deployable against the real services with its
// own alias and queue: `reindex` builds and exits; `run` consumes until its
// context ends (SIGTERM in production) and stops cleanly. The fallback
// embedder (EMBEDDINGS_URL empty) keeps it fast.
func TestReindexAndRun(t *testing.T) {
	ctx := context.Background()
	db, dsn, err := pgtest.Open("indexer", 4)
	require.NoError(t, err)
	defer db.Close()
	_, err = corpus.Load(ctx, db, corpus.Generate(50, 3), time.Now())
	require.NoError(t, err)

	var b [4]byte
	_, _ = rand.Read(b[:])
	alias := "cptest-indexer-" + hex.EncodeToString(b[:])
	queue := alias + ".sync"
	env := map[string]string{"DATABASE_URL": dsn, "EMBEDDINGS_URL": "", "LOG_LEVEL": "warn"}
	for _, k := range []string{"OPENSEARCH_URL", "RABBITMQ_URL"} {
		env[k] = os.Getenv(k)
	}
	getenv := func(k string) string { return env[k] }
	osURL := "http://127.0.0.1:9200"
	if env["OPENSEARCH_URL"] != "" {
		osURL = env["OPENSEARCH_URL"]
	}
	t.Cleanup(func() {
		req, _ := http.NewRequest(http.MethodDelete, osURL+"/"+alias+"-*", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
		rmq := "amqp://guest:guest@127.0.0.1:5672/"
		if env["RABBITMQ_URL"] != "" {
			rmq = env["RABBITMQ_URL"]
		}
		if conn, err := amqp.Dial(rmq); err == nil {
			if ch, err := conn.Channel(); err == nil {
				_, _ = ch.QueueDelete(queue, false, false, false)
			}
			conn.Close()
		}
	})
	count := func() int {
		resp, err := http.Get(osURL + "/" + alias + "/_count")
		require.NoError(t, err)
		defer resp.Body.Close()
		var c struct {
			Count int `json:"count"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&c)
		return c.Count
	}

	require.NoError(t, run(ctx, []string{"indexer", "reindex", "-alias", alias}, getenv, &bytes.Buffer{}))
	assert.Equal(t, 50, count())

	out := &syncBuffer{}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- run(rctx, []string{"indexer", "-alias", alias, "-queue", queue}, getenv, out) }()
	time.Sleep(1500 * time.Millisecond) // declared, ensured, consuming
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("indexer did not stop within 10 s of its context ending")
	}
	assert.Equal(t, 50, count(), "an up-to-date index is kept at start")
	assert.NotContains(t, out.String(), `"level":"ERROR"`)
	_ = search.DefaultAlias
}
