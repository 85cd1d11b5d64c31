//go:build !(linux || darwin || freebsd || openbsd || netbsd || dragonfly)

package storage

import (
	"os"
	"time"
)

// lockShared is a no-op where flock is unavailable; bbolt's own lock in Open
// still keeps a second writer out.
func lockShared(*os.File, time.Duration) error { return nil }
