package main

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    config
		wantErr bool
	}{
		{
			name: "defaults",
			args: []string{"fcmfake"},
			want: config{addr: "127.0.0.1:8095", messageLimit: 100000},
		},
		{
			name: "environment",
			args: []string{"fcmfake"},
			env:  map[string]string{"FCMFAKE_ADDR": "127.0.0.1:9000", "FCM_PROJECT_ID": "p", "FCMFAKE_LATENCY": "20ms", "FCMFAKE_MESSAGE_LIMIT": "0"},
			want: config{addr: "127.0.0.1:9000", project: "p", latency: 20 * time.Millisecond},
		},
		{
			name: "flags beat environment",
			args: []string{"fcmfake", "-addr", "127.0.0.1:1", "-latency", "1s"},
			env:  map[string]string{"FCMFAKE_ADDR": "127.0.0.1:9000"},
			want: config{addr: "127.0.0.1:1", latency: time.Second, messageLimit: 100000},
		},
		{
			name:    "bad latency",
			args:    []string{"fcmfake"},
			env:     map[string]string{"FCMFAKE_LATENCY": "soon"},
			wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseConfig(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if tt.wantErr {
				assert.Error(t, err, "parseConfig = %+v, want an error", got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestRunStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"fcmfake", "-addr", "127.0.0.1:0"}, func(string) string { return "" })
	}()
	cancel()
	select {
	case err := <-done:
		assert.NoError(t, err, "run after cancel")
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return 10s after its context ended")
	}
}
