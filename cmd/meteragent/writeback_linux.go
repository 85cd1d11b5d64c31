package main

import (
	"os"

	"golang.org/x/sys/unix"
)

// startWriteback asks the kernel to begin writing the file's bytes
// [off, off+n) to disk without waiting for it, so that the fsync at the end
// finds most of a large output already written. Errors are ignored: the
// fsync that follows reports any that matter.
func startWriteback(f *os.File, off, n int64) {
	if rc, err := f.SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) {
			unix.SyncFileRange(int(fd), off, n, unix.SYNC_FILE_RANGE_WRITE)
		})
	}
}
