package push

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync/atomic"

	firebase "firebase.google.com/go/v4"
	"firebase.google.com/go/v4/messaging"
	"google.golang.org/api/option"
)

// Sender sends up to 500 messages, one result per message in order. The
// firebase *messaging.Client is one: its SendEach posts each message on
// its own (50 at a time), retrying network errors and 503 by itself.
type Sender interface {
	SendEach(ctx context.Context, msgs []*messaging.Message) (*messaging.BatchResponse, error)
}

// maxPerCall is FCM's (and SendEach's) limit on messages per call.
const maxPerCall = 500

// FCMConfig says where pushes go.
type FCMConfig struct {
	ProjectID string
	// CredentialsFile is a service-account JSON file.
	CredentialsFile string
	// Endpoint is the FCM HTTP v1 base URL; set, it sends there even
	// without credentials (a local FCM-compatible server).
	Endpoint string
}

// NewSender builds the sender the configuration asks for: the real FCM
// client when credentials or an endpoint are set, else a sender that only
// logs what it would send (so the platform runs offline).
func NewSender(ctx context.Context, cfg FCMConfig, log *slog.Logger) (Sender, error) {
	if cfg.CredentialsFile == "" && cfg.Endpoint == "" {
		log.Warn("no FCM_CREDENTIALS_FILE or FCM_ENDPOINT: pushes are logged, not sent")
		return &LogSender{Log: log}, nil
	}
	var opts []option.ClientOption
	if cfg.Endpoint != "" {
		opts = append(opts, option.WithEndpoint(cfg.Endpoint))
	}
	if cfg.CredentialsFile != "" {
		opts = append(opts, option.WithCredentialsFile(cfg.CredentialsFile))
	} else {
		opts = append(opts, option.WithoutAuthentication())
	}
	app, err := firebase.NewApp(ctx, &firebase.Config{ProjectID: cfg.ProjectID}, opts...)
	if err != nil {
		return nil, fmt.Errorf("firebase app: %w", err)
	}
	client, err := app.Messaging(ctx)
	if err != nil {
		return nil, fmt.Errorf("firebase messaging: %w", err)
	}
	return client, nil
}

// LogSender accepts every message and logs it at info.
type LogSender struct {
	Log *slog.Logger
	n   atomic.Int64
}

// SendEach logs msgs and reports them all sent.
func (s *LogSender) SendEach(ctx context.Context, msgs []*messaging.Message) (*messaging.BatchResponse, error) {
	br := &messaging.BatchResponse{SuccessCount: len(msgs), Responses: make([]*messaging.SendResponse, len(msgs))}
	for i, m := range msgs {
		title, body := "", ""
		if m.Notification != nil {
			title, body = m.Notification.Title, m.Notification.Body
		}
		s.Log.InfoContext(ctx, "push (not sent: no FCM configured)",
			"token", shorten(m.Token), "title", title, "body", body, "data", m.Data)
		br.Responses[i] = &messaging.SendResponse{Success: true, MessageID: "logged/" + strconv.FormatInt(s.n.Add(1), 10)}
	}
	return br, nil
}

func shorten(token string) string {
	if len(token) > 12 {
		return token[:12] + "…"
	}
	return token
}
