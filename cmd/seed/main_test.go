package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/couponpop/couponpop/internal/config"
)

// The loading itself is tested in internal/demo against a scratch
// database; here only what main adds.

func TestHelpListsConfiguration(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"seed", "--help"}, func(string) string { return "" }, &out))
	assert.Contains(t, out.String(), "seed — loads the demo stores")
	for _, v := range config.Vars() {
		assert.Contains(t, out.String(), v.Name)
	}
}

func TestRefusesArguments(t *testing.T) {
	err := run(context.Background(), []string{"seed", "--force"}, func(string) string { return "" }, &bytes.Buffer{})
	assert.ErrorContains(t, err, `unexpected argument "--force"`)
}

func TestBadConfigFails(t *testing.T) {
	env := map[string]string{"ACCESS_TOKEN_TTL": "soon"}
	err := run(context.Background(), []string{"seed"}, func(k string) string { return env[k] }, &bytes.Buffer{})
	assert.ErrorContains(t, err, "ACCESS_TOKEN_TTL")
}
