package config_test

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/couponpop/couponpop/internal/config"
)

// env is a getenv over a map, as the mains' run functions take.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadDefaults(t *testing.T) {
	c, err := config.Load(env(nil))
	require.NoError(t, err)
	want := config.Config{
		HTTPAddr:        "127.0.0.1:8080",
		DatabaseURL:     "postgres://couponpop:couponpop@127.0.0.1:5432/couponpop?sslmode=disable",
		RedisAddr:       "127.0.0.1:6379",
		RabbitMQURL:     "amqp://guest:guest@127.0.0.1:5672/",
		OpenSearchURL:   "http://127.0.0.1:9200",
		EmbeddingsURL:   "http://127.0.0.1:8089",
		EmbeddingsModel: "multilingual-e5-small",
		JWTSecret:       "dev-only-secret-change-me",
		AccessTokenTTL:  15 * time.Minute,
		RefreshTokenTTL: 720 * time.Hour,
		FCMProjectID:    "couponpop-local",
		LogLevel:        "info",
	}
	assert.Equal(t, want, c)
}

func TestLoadOverrides(t *testing.T) {
	c, err := config.Load(env(map[string]string{
		"HTTP_ADDR":        ":9000",
		"ACCESS_TOKEN_TTL": "90s",
		"FCM_ENDPOINT":     "http://127.0.0.1:9999/v1",
		"REDIS_LOCK_ADDRS": "127.0.0.1:7001,127.0.0.1:7002",
	}))
	require.NoError(t, err)
	assert.Equal(t, ":9000", c.HTTPAddr)
	assert.Equal(t, 90*time.Second, c.AccessTokenTTL)
	assert.Equal(t, "http://127.0.0.1:9999/v1", c.FCMEndpoint)
	assert.Equal(t, "127.0.0.1:7001,127.0.0.1:7002", c.RedisLockAddrs)
	assert.Equal(t, 720*time.Hour, c.RefreshTokenTTL, "unset variables keep their defaults")
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string
	}{
		{"bad duration", map[string]string{"ACCESS_TOKEN_TTL": "fifteen minutes"}, "ACCESS_TOKEN_TTL"},
		{"duration without unit", map[string]string{"REFRESH_TOKEN_TTL": "720"}, "REFRESH_TOKEN_TTL"},
		{"zero duration", map[string]string{"ACCESS_TOKEN_TTL": "0s"}, "must be positive"},
		{"negative duration", map[string]string{"REFRESH_TOKEN_TTL": "-1h"}, "must be positive"},
		{"unparsable database url", map[string]string{"DATABASE_URL": "postgres://a b@%zz/x"}, "DATABASE_URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Load(env(tt.env))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
}

func TestLogValuesMasksSecrets(t *testing.T) {
	e := env(map[string]string{
		"DATABASE_URL":        "postgres://app:s3cr3t-pw@db.internal:5432/couponpop",
		"RABBITMQ_URL":        "amqp://worker:rabbit-pw@mq.internal:5672/",
		"OPENSEARCH_URL":      "https://search.internal:9200",
		"JWT_SECRET":          "jwt-signing-key-0123456789",
		"JWT_SECRET_PREVIOUS": "old-jwt-key",
		"REDIS_PASSWORD":      "redis-pw",
		"HTTP_ADDR":           ":8080",
	})
	c, err := config.Load(e)
	require.NoError(t, err)
	kv := c.LogValues(e)
	require.Equal(t, 0, len(kv)%2, "key/value pairs")

	got := map[string]string{}
	for i := 0; i < len(kv); i += 2 {
		got[kv[i].(string)] = fmt.Sprint(kv[i+1])
	}
	line := fmt.Sprint(kv...)
	for _, secret := range []string{"s3cr3t-pw", "rabbit-pw", "jwt-signing-key", "old-jwt-key", "redis-pw"} {
		assert.NotContains(t, line, secret)
	}
	tests := []struct {
		key, want string
	}{
		// URLs keep everything an operator needs to see but the password.
		{"database_url", "postgres://app:xxxxx@db.internal:5432/couponpop"},
		{"rabbitmq_url", "amqp://worker:xxxxx@mq.internal:5672/"},
		{"jwt_secret", "***(26 chars)"},
		{"redis_password", "***(8 chars)"},
		{"http_addr", ":8080"},
		{"opensearch_url", "https://search.internal:9200"},
		{"redis_addr", "127.0.0.1:6379"},
		{"fcm_credentials_file", ""},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, got[tt.key], tt.key)
	}
	assert.Len(t, got, len(config.Vars()), "every variable is logged once")
}

func TestLogValuesMasksPasswordInQuery(t *testing.T) {
	// pgx reads the password from the query string too.
	e := env(map[string]string{"DATABASE_URL": "postgres://app@db.internal/couponpop?password=q-secret&sslmode=require"})
	c, err := config.Load(e)
	require.NoError(t, err)
	line := fmt.Sprint(c.LogValues(e)...)
	assert.NotContains(t, line, "q-secret")
	assert.Contains(t, line, "postgres://app@db.internal/couponpop?password=xxxxx&sslmode=require")
}

func TestUsageListsEveryVariable(t *testing.T) {
	var b bytes.Buffer
	config.Usage(&b, "api", "serves the API")
	out := b.String()
	assert.True(t, strings.HasPrefix(out, "api — serves the API\n"), out)
	for _, v := range config.Vars() {
		assert.Contains(t, out, v.Name)
		assert.Contains(t, out, v.Help)
	}
	assert.Contains(t, out, "default: 15m")
	assert.Contains(t, out, "default: (empty)")
}

// TestREADMEConfigurationTable keeps README.md's table of variables true:
// the same names, in the same order, with the same defaults.
func TestREADMEConfigurationTable(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	row := regexp.MustCompile("(?m)^\\| `([A-Z0-9_]+)` \\| (?:`([^`]*)`)? *\\| (.*) \\|$")
	var got []string
	for _, m := range row.FindAllStringSubmatch(string(readme), -1) {
		got = append(got, m[1]+"="+m[2]+" ("+m[3]+")")
	}
	var want []string
	for _, v := range config.Vars() {
		want = append(want, v.Name+"="+v.Default+" ("+v.Help+")")
	}
	assert.Equal(t, want, got, "regenerate README.md's Configuration table from `go run ./cmd/api --help`")
}
