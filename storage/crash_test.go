package storage_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/meteragent/meteragent/processing"
	"github.com/meteragent/meteragent/storage"
)

const (
	crashEnv   = "METERAGENT_STORAGE_CRASH_DB"
	crashBatch = 10
)

// TestCrashAfterCommit kills a writer process with SIGKILL while it commits
// batches in a loop. Every batch the writer reported as committed (the point
// where an MQTT client would ACK) must be there after reopening, and no
// batch may be there in part. The writer never calls Close.
func TestCrashAfterCommit(t *testing.T) {
	if path := os.Getenv(crashEnv); path != "" {
		crashWriter(path)
		return
	}
	if testing.Short() {
		t.Skip("starts a child process")
	}
	path := filepath.Join(t.TempDir(), "crash.db")
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestCrashAfterCommit$")
	cmd.Env = append(os.Environ(), crashEnv+"="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := -1
	sc := bufio.NewScanner(out)
	for acked < 20 && sc.Scan() {
		if n, err := strconv.Atoi(sc.Text()); err == nil {
			acked = n
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if acked < 20 {
		t.Fatalf("writer acknowledged only %d batches before it stopped", acked)
	}

	db := mustOpenPath(t, path, testOptions())
	n, err := db.CountReadingsSince("m", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if n < (acked+1)*crashBatch {
		t.Errorf("%d readings after the crash, but %d batches of %d were acknowledged", n, acked+1, crashBatch)
	}
	if n%crashBatch != 0 {
		t.Errorf("%d readings after the crash: a batch of %d was stored in part", n, crashBatch)
	}
}

// crashWriter commits batches forever and prints each committed batch's
// number; the parent kills it.
func crashWriter(path string) {
	db, err := storage.Open(path, storage.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	rs := make([]processing.MeterReading, crashBatch)
	for i := 0; ; i++ {
		for j := range rs {
			n := i*crashBatch + j
			rs[j] = processing.MeterReading{Meter: "m", Time: start.Add(time.Duration(n) * time.Second), Value: float64(n)}
		}
		if _, err := db.AddReadings(rs); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		fmt.Println(i)
	}
}
