//go:build unix

package main

import "syscall"

// minorFaults is the process's count of page faults served without I/O.
func minorFaults() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return int64(ru.Minflt)
}
