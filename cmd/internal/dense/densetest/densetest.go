// Package densetest holds the test helpers of the benchmark commands that
// read the dense reference set (package dense).
package densetest

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// RealDir is the real dense set relative to a command's directory
// (cmd/<name>), where its tests run.
const RealDir = "../../../shared/data/dense"

// NeedReal skips t when the real dense set is absent, except under CI
// (CI=true), where it fails, and in -short mode, where it always skips. It
// returns RealDir.
func NeedReal(t testing.TB) string {
	t.Helper()
	if _, err := os.Stat(filepath.Join(RealDir, "index.csv")); err != nil {
		if os.Getenv("CI") != "true" {
			t.Skipf("dense data not found at %s: %v", RealDir, err)
		}
		t.Fatalf("dense data not found at %s under CI: %v", RealDir, err)
	}
	if testing.Short() {
		t.Skip("reduced benchmark skipped in -short mode")
	}
	return RealDir
}

// Write writes files (path relative to the directory, "/"-separated →
// content) into a new temporary directory and returns it.
func Write(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// MissingDirFails checks that a command's run, pointed with -data at a
// directory that does not exist, exits 1 and says which directory it did not
// find.
func MissingDirFails(t *testing.T, run func(ctx context.Context, args []string, stdout, stderr io.Writer) int) {
	t.Helper()
	var out, errb bytes.Buffer
	dir := filepath.Join(t.TempDir(), "absent")
	if code := run(t.Context(), []string{"-data", dir}, &out, &errb); code != 1 {
		t.Fatalf("exit code %d, want 1", code)
	}
	if !strings.Contains(errb.String(), dir) || !strings.Contains(errb.String(), "not found") {
		t.Errorf("stderr %q does not name the missing directory", errb.String())
	}
}
