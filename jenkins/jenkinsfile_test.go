// Package jenkins_test checks jenkins/Jenkinsfile without a Jenkins: its
// stages and their order, and every sh step's script through shellcheck.
package jenkins_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var wantStages = []string{
	"Checkout", "Test", "Build image", "Push", "Migrate", "Deploy", "Wait for stability", "Smoke test",
}

func jenkinsfile(t *testing.T) (string, []token) {
	t.Helper()
	b, err := os.ReadFile("Jenkinsfile")
	require.NoError(t, err)
	toks, err := lexGroovy(string(b))
	require.NoError(t, err, "lexing the Jenkinsfile")
	return string(b), toks
}

func steps(t *testing.T, toks []token) []shStep {
	t.Helper()
	st, err := shSteps(toks)
	require.NoError(t, err)
	require.NotEmpty(t, st, "no sh steps found")
	return st
}

func TestStagesInOrder(t *testing.T) {
	_, toks := jenkinsfile(t)
	got := stageNames(toks)
	assert.Equal(t, wantStages, got, "got stages %q, want %q", got, wantStages)
}

// shellcheckScript runs shellcheck on one script: with the shell its shebang
// names, or as POSIX sh (what Jenkins runs a script without one with).
func shellcheckScript(t *testing.T, script string) (string, error) {
	t.Helper()
	shellcheck, err := exec.LookPath("shellcheck")
	require.NoError(t, err, "shellcheck is missing: run `scripts/pytools.sh ensure` (apt-get install shellcheck)")
	f := filepath.Join(t.TempDir(), "step.sh")
	require.NoError(t, os.WriteFile(f, []byte(script), 0o644))
	args := []string{"--severity=style", "--format=gcc"}
	if !strings.HasPrefix(script, "#!") {
		args = append(args, "--shell=sh")
	}
	out, err := exec.Command(shellcheck, append(args, f)...).CombinedOutput()
	return strings.ReplaceAll(string(out), f, "script"), err
}

func TestEveryShStepPassesShellcheck(t *testing.T) {
	_, toks := jenkinsfile(t)
	for _, st := range steps(t, toks) {
		t.Run(fmt.Sprintf("%s/line%d", st.stage, st.line), func(t *testing.T) {
			out, err := shellcheckScript(t, st.script)
			assert.NoError(t, err, "got shellcheck findings, want none (lines count from the script's first line):\n%s\nscript:\n%s", out, numbered(st.script))
		})
	}
}

func TestShStepsAreStrictSingleQuotedShell(t *testing.T) {
	_, toks := jenkinsfile(t)
	for _, st := range steps(t, toks) {
		t.Run(fmt.Sprintf("%s/line%d", st.stage, st.line), func(t *testing.T) {
			// Groovy interpolation puts values (secrets, too) into the
			// script text; the shell should expand environment variables.
			assert.False(t, st.interp, "got a Groovy-interpolated %s script, want a single-quoted one using env vars", st.quote)
			lines := commandLines(st.script)
			if len(lines) <= 1 {
				return // a one-line step: Jenkins runs it with sh -xe
			}
			assert.True(t, strings.HasPrefix(st.script, "#!/bin/bash\n"), "a multi-line script starts with #!/bin/bash, got %q", firstLine(st.script))
			assert.Equal(t, "set -euo pipefail", lines[0], "first command of a multi-line script")
		})
	}
}

func TestAWSCallsRunWithCredentials(t *testing.T) {
	_, toks := jenkinsfile(t)
	// aws in command position: at a line's start, after $( | ; & ! if then.
	awsCall := regexp.MustCompile(`(?m)(^\s*|\$\(|[|;&]\s*|!\s+|\b(if|then|else|do)\s+)aws\s+[a-z]`)
	n := 0
	for _, st := range steps(t, toks) {
		if !awsCall.MatchString(st.script) {
			continue
		}
		n++
		assert.Contains(t, st.blocks, "withCredentials", "%s (line %d) calls aws outside withCredentials", st.stage, st.line)
	}
	assert.Positive(t, n, "no step calls aws")
}

func TestFailureRollsBackToTheRecordedRevisions(t *testing.T) {
	_, toks := jenkinsfile(t)
	var deploy, rollback []shStep
	for _, st := range steps(t, toks) {
		if st.stage == "Deploy" {
			deploy = append(deploy, st)
		}
		if st.stage == "post" && slices.Contains(st.blocks, "failure") {
			rollback = append(rollback, st)
		}
	}
	require.Len(t, deploy, 1, "one sh step in Deploy")
	require.Len(t, rollback, 1, "one sh step in post { failure }")

	d := deploy[0].script
	record := strings.Index(d, "previous.services")
	update := strings.Index(d, "update-service")
	require.GreaterOrEqual(t, record, 0, "Deploy records the running revisions in previous.services")
	require.GreaterOrEqual(t, update, 0, "Deploy updates the services")
	assert.Less(t, record, update, "Deploy records the previous revisions before it changes anything")
	assert.Contains(t, d, "list-targets-by-rule", "Deploy records the batch schedules' targets")

	r := rollback[0].script
	for _, want := range []string{"previous.services", "update-service", "put-targets", "services-stable"} {
		assert.Contains(t, r, want, "the rollback script")
	}
}

func TestDeployStepsUseWhatDeployECSValidates(t *testing.T) {
	text, _ := jenkinsfile(t)
	expand := map[string][]string{
		"$name": {"api", "worker", "indexer", "batch", "migrate"},
		"$job":  {"expire", "remind"},
	}
	used := map[string]bool{}
	for _, ref := range regexp.MustCompile(`deploy/ecs/[A-Za-z0-9._$-]+`).FindAllString(text, -1) {
		candidates := []string{ref}
		for v, values := range expand {
			if strings.Contains(ref, v) {
				candidates = nil
				for _, x := range values {
					candidates = append(candidates, strings.ReplaceAll(ref, v, x))
				}
			}
		}
		exists := 0
		for _, c := range candidates {
			if _, err := os.Stat(filepath.Join("..", c)); err == nil {
				exists++
				used[filepath.Base(c)] = true
			}
		}
		assert.Positive(t, exists, "the Jenkinsfile refers to %s, which does not exist", ref)
	}
	files, err := filepath.Glob(filepath.Join("..", "deploy", "ecs", "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		name := filepath.Base(f)
		if name == "api.target-group.json" {
			continue // created once with the load balancer; see docs/OPERATIONS.md
		}
		assert.True(t, used[name], "the pipeline never applies deploy/ecs/%s", name)
	}
}

func TestNoSecretsInTheJenkinsfile(t *testing.T) {
	text, _ := jenkinsfile(t)
	for _, re := range []*regexp.Regexp{
		regexp.MustCompile(`AKIA[0-9A-Z]{16}`),
		regexp.MustCompile(`(?i)aws_secret_access_key\s*[=:]\s*['"]?[A-Za-z0-9/+]{20,}`),
		regexp.MustCompile(`(?i)(password|passwd|secret|token)\s*[=:]\s*['"][^'"$]{6,}['"]`),
		regexp.MustCompile(`-----BEGIN [A-Z ]*PRIVATE KEY-----`),
		regexp.MustCompile(`(?i)[a-z]+://[^/\s:@'"]+:[^/\s@'"$]+@`),
	} {
		assert.NotRegexp(t, re, text, "the Jenkinsfile holds something that looks like a secret")
	}
	assert.Contains(t, text, "credentialsId:", "AWS access comes from Jenkins credentials")
}

// The checks above are only worth something if they can fail.
func TestBadStepsAreCaught(t *testing.T) {
	tests := []struct {
		name      string
		groovy    string
		wantCodes []string
	}{
		{"unquoted variable", "sh '''#!/bin/bash\nset -euo pipefail\nrm -rf $DIR/\n'''", []string{"SC2086"}},
		{"ls in a for loop", "sh(script: '''#!/bin/bash\nset -euo pipefail\nfor f in $(ls); do echo \"$f\"; done\n''', returnStdout: true)", []string{"SC2045"}},
		{"bashism without a shebang", "sh 'if [[ -n $X ]]; then echo y; fi'", []string{"SC3010"}},
		{"groovy-interpolated script", "sh \"echo \\$1 > ${env.OUT}\"", []string{"SC2086"}},
		{"named script argument", "sh label: 'x', script: 'cd build; make'", []string{"SC2164"}},
		{"quoted expansion in single quotes", "sh '''#!/bin/bash\nset -euo pipefail\necho '$HOME'\n'''", []string{"SC2016"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			toks, err := lexGroovy(tt.groovy)
			require.NoError(t, err)
			st, err := shSteps(toks)
			require.NoError(t, err)
			require.Len(t, st, 1)
			out, err := shellcheckScript(t, st[0].script)
			assert.Error(t, err, "got no shellcheck failure for %q", st[0].script)
			for _, code := range tt.wantCodes {
				assert.Contains(t, out, code, "got:\n%s\nwant %s", out, code)
			}
		})
	}
}

func TestLexerFindsStepsAndStages(t *testing.T) {
	tests := []struct {
		name       string
		groovy     string
		wantScript []string
		wantStage  []string
		wantInterp []bool
	}{
		{"positional single-quoted", "stage('A') { steps { sh 'echo a' } }", []string{"echo a"}, []string{"A"}, []bool{false}},
		{"parenthesised", "stage('A') {\n sh('echo \\'q\\'')\n}", []string{"echo 'q'"}, []string{"A"}, []bool{false}},
		{"triple single-quoted with continuation", "stage('B') { sh '''#!/bin/bash\nls \\\n  -l\n''' }", []string{"#!/bin/bash\nls   -l\n"}, []string{"B"}, []bool{false}},
		{"dollar stays in single quotes", "sh '''echo ${HOME} $USER'''", []string{"echo ${HOME} $USER"}, []string{""}, []bool{false}},
		{"gstring interpolation", "sh \"echo ${env.X} $Y \\$Z\"", []string{"echo " + interpolated + " " + interpolated + " $Z"}, []string{""}, []bool{true}},
		{"triple double-quoted", "sh \"\"\"\necho \\${A}\n\"\"\"", []string{"\necho ${A}\n"}, []string{""}, []bool{false}},
		{"named after label", "sh label: 'l', script: 'echo n'", []string{"echo n"}, []string{""}, []bool{false}},
		{"named in parentheses over lines", "sh(\n  returnStdout: true,\n  script: 'echo r'\n)", []string{"echo r"}, []string{""}, []bool{false}},
		{"comments are skipped", "// sh 'no'\n/* sh 'no' */\nsh 'yes'", []string{"yes"}, []string{""}, []bool{false}},
		{"post block", "post { failure { withCredentials([x(a: 'b',\n c: 'd')]) { sh 'echo p' } } }", []string{"echo p"}, []string{"post"}, []bool{false}},
		{"not a step", "def sh = 1\nfoo.sh 'x'", nil, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			toks, err := lexGroovy(tt.groovy)
			require.NoError(t, err)
			var st []shStep
			if tt.wantScript == nil {
				st, err = shSteps(toks)
				// `def sh = 1` is an sh with no string script: flagged, not skipped.
				assert.Error(t, err, "got steps %v, want an error for an sh without a literal script", st)
				return
			}
			st, err = shSteps(toks)
			require.NoError(t, err)
			var scripts, stages []string
			var interps []bool
			for _, s := range st {
				scripts = append(scripts, s.script)
				stages = append(stages, s.stage)
				interps = append(interps, s.interp)
			}
			assert.Equal(t, tt.wantScript, scripts, "scripts")
			assert.Equal(t, tt.wantStage, stages, "stages")
			assert.Equal(t, tt.wantInterp, interps, "interpolation")
		})
	}
}

func TestLexerRefusesWhatGroovyWouldNotCompile(t *testing.T) {
	for _, src := range []string{
		`sh 'unterminated`,
		"sh 'one\nline'",
		`sh '\d'`,
		`sh "bare $ dollar"`,
		`sh '''never closed`,
	} {
		_, err := lexGroovy(src)
		assert.Error(t, err, "got no error lexing %q", src)
	}
}

// commandLines returns a script's lines that are neither blank, comments
// nor the shebang, trimmed.
func commandLines(script string) []string {
	var out []string
	for _, l := range strings.Split(script, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		out = append(out, l)
	}
	return out
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

func numbered(s string) string {
	var b strings.Builder
	for i, l := range strings.Split(s, "\n") {
		fmt.Fprintf(&b, "%4d  %s\n", i+1, l)
	}
	return b.String()
}
