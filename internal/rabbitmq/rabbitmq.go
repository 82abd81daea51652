// Package rabbitmq holds the AMQP plumbing shared by the outbox relay and the
// workers.
package rabbitmq

import (
	"context"
	"fmt"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Ping dials the broker and closes the connection; readiness probes use it.
func Ping(ctx context.Context, url string) error {
	d := 2 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		d = time.Until(dl)
	}
	conn, err := amqp.DialConfig(url, amqp.Config{Dial: amqp.DefaultDial(d)})
	if err != nil {
		return fmt.Errorf("dial rabbitmq: %w", err)
	}
	return conn.Close()
}
