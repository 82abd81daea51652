// Package deploy_test checks the image recipe (Dockerfile, .dockerignore)
// and the deploy shell scripts. No Docker daemon is needed: the Dockerfile is
// linted with hadolint and its build command is run as-is with the local Go.
package deploy_test

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/couponpop/couponpop/deploy/internal/toolchain"
)

var deployables = []string{"api", "worker", "indexer", "batch", "migrate"}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := toolchain.RepoRoot()
	require.NoError(t, err)
	return root
}

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	line int
	cmd  string // upper-cased keyword
	args string
}

func parseDockerfile(t *testing.T, text string) []instruction {
	t.Helper()
	var out []instruction
	var cur strings.Builder
	start := 0
	for i, raw := range strings.Split(text, "\n") {
		line := strings.TrimSpace(raw)
		if cur.Len() == 0 && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if cur.Len() == 0 {
			start = i + 1
		}
		if strings.HasSuffix(line, `\`) {
			cur.WriteString(strings.TrimSuffix(line, `\`) + " ")
			continue
		}
		cur.WriteString(line)
		full := cur.String()
		cur.Reset()
		kw, rest, _ := strings.Cut(full, " ")
		out = append(out, instruction{line: start, cmd: strings.ToUpper(kw), args: strings.TrimSpace(rest)})
	}
	require.Zero(t, cur.Len(), "Dockerfile ends inside a continued line")
	return out
}

// stages splits instructions at each FROM.
func stages(ins []instruction) (global []instruction, st [][]instruction) {
	for _, in := range ins {
		if in.cmd == "FROM" {
			st = append(st, []instruction{in})
			continue
		}
		if len(st) == 0 {
			global = append(global, in)
			continue
		}
		st[len(st)-1] = append(st[len(st)-1], in)
	}
	return global, st
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}

func TestHadolintPassesTheDockerfile(t *testing.T) {
	hadolint, err := toolchain.Bin("hadolint")
	require.NoError(t, err)
	out, err := exec.Command(hadolint, "--no-color", "--failure-threshold", "style", filepath.Join(repoRoot(t), "Dockerfile")).CombinedOutput()
	assert.NoError(t, err, "got hadolint findings, want none:\n%s", out)
}

func TestHadolintFlagsABadDockerfile(t *testing.T) {
	hadolint, err := toolchain.Bin("hadolint")
	require.NoError(t, err)
	bad := filepath.Join(t.TempDir(), "Dockerfile")
	require.NoError(t, os.WriteFile(bad, []byte("FROM debian:latest\nRUN apt-get install curl\nCMD curl localhost\n"), 0o644))
	out, err := exec.Command(hadolint, "--no-color", "--failure-threshold", "style", bad).CombinedOutput()
	assert.Error(t, err, "got no failure, want hadolint to reject a bad Dockerfile")
	for _, rule := range []string{"DL3007", "DL3008", "DL3025"} { // :latest, unpinned apt, shell-form CMD
		assert.Contains(t, string(out), rule, "got:\n%s\nwant rule %s", out, rule)
	}
}

func TestDockerfileShape(t *testing.T) {
	root := repoRoot(t)
	global, st := stages(parseDockerfile(t, readFile(t, filepath.Join(root, "Dockerfile"))))
	require.Len(t, st, 2, "want a build stage and a run stage")

	goLine := regexp.MustCompile(`(?m)^go (\d+\.\d+(?:\.\d+)?)\s*$`).FindStringSubmatch(readFile(t, filepath.Join(root, "go.mod")))
	require.NotNil(t, goLine, "go.mod has no go line")
	var goVersion string
	for _, in := range global {
		if v, ok := strings.CutPrefix(in.args, "GO_VERSION="); in.cmd == "ARG" && ok {
			goVersion = v
		}
	}
	assert.Equal(t, goLine[1], goVersion, "ARG GO_VERSION vs go.mod's go line")

	build, run := st[0], st[1]
	assert.Regexp(t, `golang:\$\{GO_VERSION\}-bookworm AS build$`, build[0].args, "build stage base")
	var env, buildCmd string
	for _, in := range build {
		switch in.cmd {
		case "ENV":
			env += " " + in.args
		case "RUN":
			if strings.Contains(in.args, "go build") {
				buildCmd = in.args
			}
		}
	}
	assert.Contains(t, env, "CGO_ENABLED=0", "static binaries for a distroless/static base")
	for _, want := range []string{"-trimpath", `-ldflags="-s -w"`, "-o /out/", "./cmd/..."} {
		assert.Contains(t, buildCmd, want, "go build command")
	}

	assert.Contains(t, []string{"gcr.io/distroless/static-debian12:nonroot", "scratch"}, run[0].args, "run stage base")
	var user, entrypoint string
	var copied bool
	for _, in := range run[1:] {
		switch in.cmd {
		case "RUN":
			t.Errorf("line %d: RUN in the run stage: the runtime image has no shell", in.line)
		case "USER":
			user = in.args
		case "ENTRYPOINT":
			entrypoint = in.args
		case "COPY":
			copied = copied || in.args == "--from=build /out/ /usr/local/bin/"
		}
	}
	assert.True(t, copied, "every binary from /out/ lands in /usr/local/bin")
	require.NotEmpty(t, user, "the run stage sets USER")
	uid, _, _ := strings.Cut(user, ":")
	assert.NotContains(t, []string{"0", "root"}, uid, "runs as a non-root user")
	assert.Equal(t, `["/usr/local/bin/api"]`, entrypoint, "exec-form ENTRYPOINT, the API by default")
}

// Runs the Dockerfile's own go build command, with the local toolchain, and
// checks it yields a binary per deployable: the image's contents, minus Docker.
func TestDockerfileBuildCommandBuildsEveryDeployable(t *testing.T) {
	root := repoRoot(t)
	_, st := stages(parseDockerfile(t, readFile(t, filepath.Join(root, "Dockerfile"))))
	var buildCmd string
	for _, in := range st[0] {
		if in.cmd == "RUN" && strings.Contains(in.args, "go build") {
			buildCmd = in.args
		}
	}
	_, goBuild, ok := strings.Cut(buildCmd, "go build ")
	require.True(t, ok, "no go build in %q", buildCmd)
	args := shellFields(t, goBuild)
	out := t.TempDir() + "/"
	for i, a := range args {
		if a == "/out/" {
			args[i] = out
		}
	}
	cmd := exec.Command("go", append([]string{"build"}, args...)...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=readonly", "GOOS=linux", "GOARCH=amd64")
	combined, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build %s:\n%s", strings.Join(args, " "), combined)
	entries, err := os.ReadDir(out)
	require.NoError(t, err)
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	for _, name := range deployables {
		assert.Contains(t, got, name, "got binaries %v, want %s", got, name)
	}
}

// shellFields splits a simple shell word list (double quotes only).
func shellFields(t *testing.T, s string) []string {
	t.Helper()
	var out []string
	var cur strings.Builder
	inQuote, have := false, false
	for _, r := range s {
		switch {
		case r == '"':
			inQuote, have = !inQuote, true
		case (r == ' ' || r == '\t') && !inQuote:
			if have {
				out = append(out, cur.String())
				cur.Reset()
				have = false
			}
		default:
			cur.WriteRune(r)
			have = true
		}
	}
	require.False(t, inQuote, "unbalanced quote in %q", s)
	if have {
		out = append(out, cur.String())
	}
	return out
}

// dockerignore compiles .dockerignore patterns the way Docker reads them:
// paths relative to the context root, * and ? within one path element, **
// across elements, and a pattern that matches a directory excludes what is
// under it.
type dockerignore []*regexp.Regexp

func parseDockerignore(t *testing.T, text string) dockerignore {
	t.Helper()
	var out dockerignore
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		require.False(t, strings.HasPrefix(line, "!"), "re-include %q: keep .dockerignore exclusions only, so this check stays simple", line)
		p := strings.Trim(filepath.ToSlash(filepath.Clean(line)), "/")
		var re strings.Builder
		re.WriteString("^")
		for i := 0; i < len(p); i++ {
			switch c := p[i]; {
			case c == '*' && i+1 < len(p) && p[i+1] == '*':
				i++
				if i+1 < len(p) && p[i+1] == '/' {
					i++
					re.WriteString("(?:.*/)?")
				} else {
					re.WriteString(".*")
				}
			case c == '*':
				re.WriteString("[^/]*")
			case c == '?':
				re.WriteString("[^/]")
			default:
				re.WriteString(regexp.QuoteMeta(string(c)))
			}
		}
		re.WriteString("$")
		out = append(out, regexp.MustCompile(re.String()))
	}
	return out
}

func (d dockerignore) excludes(path string) bool {
	parts := strings.Split(filepath.ToSlash(path), "/")
	for i := 1; i <= len(parts); i++ {
		prefix := strings.Join(parts[:i], "/")
		for _, re := range d {
			if re.MatchString(prefix) {
				return true
			}
		}
	}
	return false
}

func TestDockerignoreMatcher(t *testing.T) {
	d := parseDockerignore(t, ".git\n**/*.pem\nbuild\n*.out\n**/*credentials*.json\n")
	tests := []struct {
		path string
		want bool
	}{
		{".git/config", true},
		{"build/x/y", true},
		{"certs/dev.pem", true},
		{"dev.pem", true},
		{"cover.out", true},
		{"internal/x/cover.out", false}, // *.out is root-only, as in Docker
		{"deploy/fcm-credentials.json", true},
		{"internal/build/x.go", false},
		{"go.mod", false},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			assert.Equal(t, tt.want, d.excludes(tt.path), "excludes(%q)", tt.path)
		})
	}
}

func TestDockerignoreKeepsWhatTheBuildNeedsAndDropsSecrets(t *testing.T) {
	root := repoRoot(t)
	d := parseDockerignore(t, readFile(t, filepath.Join(root, ".dockerignore")))

	needed := []string{"go.mod", "go.sum"}
	cmd := exec.Command("go", "list", "-deps", "-json=Dir,GoFiles,EmbedFiles,Module", "./cmd/...")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "go list: %s", stderr.String())
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p struct {
			Dir                 string
			GoFiles, EmbedFiles []string
			Module              *struct{ Main bool }
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else {
			require.NoError(t, err)
		}
		if p.Module == nil || !p.Module.Main {
			continue
		}
		rel, err := filepath.Rel(root, p.Dir)
		require.NoError(t, err)
		for _, f := range slices.Concat(p.GoFiles, p.EmbedFiles) {
			needed = append(needed, filepath.Join(rel, f))
		}
	}
	require.Greater(t, len(needed), 2, "go list found no source files of ./cmd/...")
	for _, f := range needed {
		assert.False(t, d.excludes(f), ".dockerignore excludes %s, which the image build needs", f)
	}
	for _, f := range []string{".git/HEAD", ".env", "deploy/ecs/api.taskdef.json", "jenkins/Jenkinsfile", "secrets/prod.pem", "fcm-credentials.json"} {
		assert.True(t, d.excludes(f), ".dockerignore lets %s into the build context", f)
	}
}

func TestShellScriptsPassShellcheck(t *testing.T) {
	shellcheck, err := exec.LookPath("shellcheck")
	require.NoError(t, err, "shellcheck is missing: %s", toolchain.EnsureHint)
	root := repoRoot(t)
	scripts := []string{filepath.Join(root, "scripts", "pytools.sh")}
	err = filepath.WalkDir(filepath.Join(root, "deploy"), func(p string, e os.DirEntry, err error) error {
		if err == nil && !e.IsDir() && strings.HasSuffix(p, ".sh") {
			scripts = append(scripts, p)
		}
		return err
	})
	require.NoError(t, err)
	for _, s := range scripts {
		rel, _ := filepath.Rel(root, s)
		t.Run(rel, func(t *testing.T) {
			out, err := exec.Command(shellcheck, "--severity=style", s).CombinedOutput()
			assert.NoError(t, err, "got shellcheck findings, want none:\n%s", out)
			st, err := os.Stat(s)
			require.NoError(t, err)
			assert.NotZero(t, st.Mode()&0o100, "%s is not executable", rel)
		})
	}
}
