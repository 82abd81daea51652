package ecs_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/couponpop/couponpop/deploy/internal/awsmodel"
	"github.com/couponpop/couponpop/deploy/internal/toolchain"
)

// runRender runs deploy/ecs/render.sh (what the pipeline runs) with exactly env.
func runRender(t *testing.T, file string, env map[string]string) (stdout, stderr string, err error) {
	t.Helper()
	for _, tool := range []string{"bash", "envsubst", "jq"} {
		_, lerr := exec.LookPath(tool)
		require.NoError(t, lerr, "render.sh needs %s: %s", tool, toolchain.EnsureHint)
	}
	cmd := exec.Command("bash", "render.sh", file)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	return out.String(), errb.String(), err
}

func TestRenderScriptMatchesWhatTheTestsValidate(t *testing.T) {
	for _, f := range files(t) {
		t.Run(f.name, func(t *testing.T) {
			out, stderr, err := runRender(t, f.name, sampleEnv)
			require.NoError(t, err, "render.sh %s: %s", f.name, stderr)
			got, err := awsmodel.Decode([]byte(out))
			require.NoError(t, err, "render.sh output")
			want, err := awsmodel.Decode(f.rendered)
			require.NoError(t, err)
			assert.Equal(t, want, got, "render.sh output differs from the document the model check validated")
			assert.NotContains(t, out, "${", "placeholders left after rendering")
		})
	}
}

func TestRenderScriptKnowsEveryPlaceholder(t *testing.T) {
	src, err := os.ReadFile("render.sh")
	require.NoError(t, err)
	m := regexp.MustCompile(`(?s)PLACEHOLDERS=\((.*?)\)`).FindSubmatch(src)
	require.NotNil(t, m, "render.sh has no PLACEHOLDERS=( ... ) list")
	got := strings.Fields(string(m[1]))
	var want []string
	for k := range sampleEnv {
		want = append(want, k)
	}
	slices.Sort(got)
	slices.Sort(want)
	assert.Equal(t, want, got, "render.sh's placeholders vs the ones the files use")
}

func TestRenderScriptLeavesOtherDollarsAlone(t *testing.T) {
	out, stderr, err := runRender(t, "worker.taskdef.json", sampleEnv)
	require.NoError(t, err, stderr)
	assert.Contains(t, out, `\"$FCM_CREDENTIALS_JSON\"`, "the init container's own shell variable must survive envsubst")
}

func TestRenderScriptRefusesBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
		return p
	}
	without := func(name string) map[string]string {
		env := map[string]string{}
		for k, v := range sampleEnv {
			if k != name {
				env[k] = v
			}
		}
		return env
	}
	withValue := func(name, value string) map[string]string {
		env := without(name)
		env[name] = value
		return env
	}
	tests := []struct {
		name, body string
		env        map[string]string
		wantErr    string
	}{
		{"unknown placeholder", `{"a": "${NOT_A_PLACEHOLDER}"}`, sampleEnv, "does not know"},
		{"unset placeholder", `{"image": "${IMAGE}"}`, without("IMAGE"), "needs IMAGE"},
		{"empty placeholder", `{"image": "${IMAGE}"}`, withValue("IMAGE", ""), "needs IMAGE"},
		{"value injecting a member", `{"image": "${IMAGE}"}`, withValue("IMAGE", `x", "evil": "y`), "must not contain"},
		{"value with a backslash", `{"image": "${IMAGE}"}`, withValue("IMAGE", `a\b`), "must not contain"},
		{"value with a newline", `{"image": "${IMAGE}"}`, withValue("IMAGE", "a\nb"), "must not contain"},
		{"not JSON at all", `{"a": 1,}`, sampleEnv, "not valid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := write(strings.ReplaceAll(tt.name, " ", "-")+".json", tt.body)
			_, stderr, err := runRender(t, p, tt.env)
			assert.Error(t, err, "got success, want failure %q", tt.wantErr)
			assert.Contains(t, stderr, tt.wantErr)
		})
	}
}
