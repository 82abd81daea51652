package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/couponpop/couponpop/internal/outbox"
	"github.com/couponpop/couponpop/internal/postgres/pgtest"
	"github.com/couponpop/couponpop/internal/push/fcmfake"
)

// childEnv marks a test binary started as the worker itself, so a test can
// run the real deployable in its own process and kill it.
const childEnv = "COUPONPOP_WORKER_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		err := run(ctx, []string{"worker"}, os.Getenv, os.Stdout)
		stop()
		if err != nil {
			fmt.Fprintln(os.Stderr, "worker:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestHelp(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"worker", "--help"}, func(string) string { return "" }, &out))
	for _, want := range []string{"DATABASE_URL", "RABBITMQ_URL", "FCM_ENDPOINT", "FCM_CREDENTIALS_FILE", "PUSH_LOCK_TTL", "METRICS_ADDR"} {
		assert.Contains(t, out.String(), want)
	}
}

func TestBadWorkerSetting(t *testing.T) {
	env := map[string]string{"PUSH_LOCK_TTL": "soon"}
	err := run(context.Background(), []string{"worker"}, func(k string) string { return env[k] }, &bytes.Buffer{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "PUSH_LOCK_TTL")
}

// vhost creates a RabbitMQ virtual host for one test, so the real
// deployable, which declares the production queue names, runs beside
// everything else on the broker without touching it.
func vhost(t *testing.T) string {
	t.Helper()
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := "cptest-worker-" + hex.EncodeToString(b[:])
	for _, args := range [][]string{{"add_vhost", name}, {"set_permissions", "-p", name, "guest", ".*", ".*", ".*"}} {
		out, err := exec.Command("rabbitmqctl", args...).CombinedOutput()
		require.NoError(t, err, "rabbitmqctl %v: %s", args, out)
	}
	t.Cleanup(func() { _ = exec.Command("rabbitmqctl", "delete_vhost", name).Run() })
	return name
}

type child struct {
	cmd *exec.Cmd
	out *bytes.Buffer
}

func startWorker(t *testing.T, env []string) *child {
	t.Helper()
	c := &child{cmd: exec.Command(os.Args[0], "-test.run=^$"), out: &bytes.Buffer{}}
	c.cmd.Env = append(os.Environ(), append(env, childEnv+"=1")...)
	c.cmd.Stdout, c.cmd.Stderr = c.out, c.out
	require.NoError(t, c.cmd.Start())
	t.Cleanup(func() {
		if c.cmd.ProcessState == nil {
			_ = c.cmd.Process.Kill()
			_ = c.cmd.Wait()
		}
		if t.Failed() {
			t.Logf("worker output:\n%s", c.out)
		}
	})
	return c
}

func waitFor(t *testing.T, d time.Duration, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestKilledMidSendDeliversOnce kills the worker (SIGKILL, no cleanup)
// while its send to FCM is in flight. RabbitMQ redelivers the message to a
// new worker, which waits out the dead worker's Redis lock and sends it:
// one push, not zero, not two. The new worker then stops cleanly on
// SIGTERM.
func TestKilledMidSendDeliversOnce(t *testing.T) {
	ctx := context.Background()
	pool, dsn, err := pgtest.Open("worker", 5)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	fcm := fcmfake.Start(t, fcmfake.WithProject("couponpop-test"))
	fcm.SetLatency(time.Minute) // every send hangs until the test says

	var b [4]byte
	_, _ = rand.Read(b[:])
	token := "tok-killed-" + hex.EncodeToString(b[:])
	trace := "COUPON_ISSUED:1:" + hex.EncodeToString(b[:])
	var member int64
	require.NoError(t, pool.QueryRow(ctx, `INSERT INTO members (email, password_hash, nickname, role) VALUES ('k@example.com', 'x', 'k', 'CUSTOMER') RETURNING id`).Scan(&member))
	_, err = pool.Exec(ctx, `INSERT INTO devices (member_id, token, platform, device_id) VALUES ($1, $2, 'IOS', 'phone')`, member, token)
	require.NoError(t, err)
	require.NoError(t, pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		return outbox.Add(ctx, tx, outbox.Message{Kind: outbox.CouponIssued, TraceID: trace, Payload: map[string]any{"coupon_id": 1, "member_id": member}})
	}))

	env := []string{
		"DATABASE_URL=" + dsn,
		"RABBITMQ_URL=amqp://guest:guest@127.0.0.1:5672/" + vhost(t),
		"FCM_ENDPOINT=" + fcm.Endpoint(),
		"FCM_PROJECT_ID=couponpop-test",
		"PUSH_LOCK_TTL=3s",
		"ANNOUNCE_INTERVAL=1h",
		"LOG_LEVEL=debug",
	}
	first := startWorker(t, env)
	waitFor(t, 30*time.Second, func() bool { return fcm.Requests() >= 1 }, "the first worker's send to reach FCM")
	require.NoError(t, first.cmd.Process.Kill())
	_ = first.cmd.Wait()
	assert.Zero(t, fcm.Count(), "FCM accepted the send of the killed worker")

	fcm.SetLatency(0)
	second := startWorker(t, env)
	waitFor(t, 30*time.Second, func() bool { return fcm.CountData("trace_id", trace) >= 1 }, "the push to be delivered")
	time.Sleep(2 * time.Second)
	assert.Equal(t, 1, fcm.CountData("trace_id", trace), "deliveries")
	assert.Equal(t, 1, fcm.CountFor(token), "deliveries to the device")

	require.NoError(t, second.cmd.Process.Signal(syscall.SIGTERM))
	done := make(chan error, 1)
	go func() { done <- second.cmd.Wait() }()
	select {
	case err := <-done:
		require.NoError(t, err, "worker exit after SIGTERM")
	case <-time.After(30 * time.Second):
		t.Fatal("worker did not stop within 30 s of SIGTERM")
	}
	assert.True(t, strings.Contains(second.out.String(), "worker stopped"), "logged its stop")
	var status string
	require.NoError(t, pool.QueryRow(ctx, `SELECT status FROM notifications WHERE trace_id = $1`, trace).Scan(&status))
	assert.Equal(t, "SENT", status)
}
