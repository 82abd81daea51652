// Package config reads the deployables' configuration from the environment.
//
// Every deployable shares one Config so that an operator sets a variable once
// for the whole platform; each main reads the fields it needs. Defaults point
// at the loopback services that scripts/services.sh starts.
package config

import (
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Config is the platform configuration.
type Config struct {
	HTTPAddr           string
	DatabaseURL        string
	RedisAddr          string
	RedisPassword      string
	RedisLockAddrs     string
	RabbitMQURL        string
	OpenSearchURL      string
	EmbeddingsURL      string
	EmbeddingsModel    string
	JWTSecret          string
	JWTSecretPrevious  string
	AccessTokenTTL     time.Duration
	RefreshTokenTTL    time.Duration
	FCMCredentialsFile string
	FCMProjectID       string
	FCMEndpoint        string
	LogLevel           string
}

// Var documents one environment variable.
type Var struct {
	Name, Default, Help string
	Secret              bool
	set                 func(*Config, string) error
}

func str(f func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error { *f(c) = v; return nil }
}

func dur(f func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil {
			return err
		}
		if d <= 0 {
			return fmt.Errorf("must be positive")
		}
		*f(c) = d
		return nil
	}
}

// Vars lists every variable, in the order --help prints them.
func Vars() []Var {
	return []Var{
		{"HTTP_ADDR", "127.0.0.1:8080", "address the HTTP API listens on", false, str(func(c *Config) *string { return &c.HTTPAddr })},
		{"DATABASE_URL", "postgres://couponpop:couponpop@127.0.0.1:5432/couponpop?sslmode=disable", "PostgreSQL (with PostGIS) connection URL", true, str(func(c *Config) *string { return &c.DatabaseURL })},
		{"REDIS_ADDR", "127.0.0.1:6379", "Redis address; a comma-separated list selects Redis Cluster", false, str(func(c *Config) *string { return &c.RedisAddr })},
		{"REDIS_LOCK_ADDRS", "", "comma-separated independent Redis servers for the redsync (Redlock) issuance lock; empty uses REDIS_ADDR", false, str(func(c *Config) *string { return &c.RedisLockAddrs })},
		{"REDIS_PASSWORD", "", "Redis password", true, str(func(c *Config) *string { return &c.RedisPassword })},
		{"RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/", "RabbitMQ AMQP URL", true, str(func(c *Config) *string { return &c.RabbitMQURL })},
		{"OPENSEARCH_URL", "http://127.0.0.1:9200", "OpenSearch base URL", false, str(func(c *Config) *string { return &c.OpenSearchURL })},
		{"EMBEDDINGS_URL", "http://127.0.0.1:8089", "OpenAI-compatible embeddings server base URL; empty uses the deterministic fallback embedder", false, str(func(c *Config) *string { return &c.EmbeddingsURL })},
		{"EMBEDDINGS_MODEL", "multilingual-e5-small", "embedding model name sent to EMBEDDINGS_URL", false, str(func(c *Config) *string { return &c.EmbeddingsModel })},
		{"JWT_SECRET", "dev-only-secret-change-me", "HMAC secret that signs access tokens", true, str(func(c *Config) *string { return &c.JWTSecret })},
		{"JWT_SECRET_PREVIOUS", "", "previous JWT secret, still accepted for verification while rotating", true, str(func(c *Config) *string { return &c.JWTSecretPrevious })},
		{"ACCESS_TOKEN_TTL", "15m", "lifetime of access tokens", false, dur(func(c *Config) *time.Duration { return &c.AccessTokenTTL })},
		{"REFRESH_TOKEN_TTL", "720h", "lifetime of refresh tokens", false, dur(func(c *Config) *time.Duration { return &c.RefreshTokenTTL })},
		{"FCM_CREDENTIALS_FILE", "", "Firebase service-account JSON; with neither it nor FCM_ENDPOINT the worker only logs pushes", true, str(func(c *Config) *string { return &c.FCMCredentialsFile })},
		{"FCM_PROJECT_ID", "couponpop-local", "Firebase project id", false, str(func(c *Config) *string { return &c.FCMProjectID })},
		{"FCM_ENDPOINT", "", "FCM HTTP v1 base URL (default https://fcm.googleapis.com/v1); set it to send to an FCM-compatible local server", false, str(func(c *Config) *string { return &c.FCMEndpoint })},
		{"LOG_LEVEL", "info", "debug, info, warn or error", false, str(func(c *Config) *string { return &c.LogLevel })},
	}
}

// Load reads the configuration through getenv (os.Getenv in production, a
// map in tests). Unset variables take their defaults.
func Load(getenv func(string) string) (Config, error) {
	var c Config
	for _, v := range Vars() {
		val, ok := getenv(v.Name), true
		if val == "" {
			val, ok = v.Default, false
		}
		if err := v.set(&c, val); err != nil {
			return Config{}, fmt.Errorf("config: %s=%q: %w (set=%v)", v.Name, val, err, ok)
		}
	}
	if _, err := url.Parse(c.DatabaseURL); err != nil {
		return Config{}, fmt.Errorf("config: DATABASE_URL: %w", err)
	}
	return c, nil
}

// Usage writes the --help text for a deployable.
func Usage(w io.Writer, name, what string) {
	fmt.Fprintf(w, "%s — %s\n\nConfiguration (environment variables):\n", name, what)
	for _, v := range Vars() {
		def := v.Default
		if def == "" {
			def = "(empty)"
		}
		fmt.Fprintf(w, "  %-22s %s\n  %-22s default: %s\n", v.Name, v.Help, "", def)
	}
}

// LogValues returns the configuration as key/value pairs for a start-up log
// line, with secrets masked (and passwords inside URLs too).
func (c Config) LogValues(getenv func(string) string) []any {
	var out []any
	for _, v := range Vars() {
		val := getenv(v.Name)
		if val == "" {
			val = v.Default
		}
		if v.Secret && val != "" {
			val = mask(val)
		}
		out = append(out, strings.ToLower(v.Name), val)
	}
	return out
}

func mask(v string) string {
	if u, err := url.Parse(v); err == nil && u.Scheme != "" && u.Host != "" {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
		// libpq and pgx also take the password as a query parameter.
		if q := u.Query(); q.Has("password") {
			q.Set("password", "xxxxx")
			u.RawQuery = q.Encode()
		}
		return u.String()
	}
	return "***(" + strconv.Itoa(len(v)) + " chars)"
}
