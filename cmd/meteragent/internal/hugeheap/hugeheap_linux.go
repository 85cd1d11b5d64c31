//go:build linux && (amd64 || arm64)

package hugeheap

import (
	"syscall"
	"unsafe"
)

const (
	huge = 2 << 20 // a transparent huge page on amd64 and arm64 (4 KiB base pages)

	// madvCollapse is MADV_COLLAPSE (Linux 6.1), not in package syscall.
	madvCollapse = 25

	// stackFrame is growStack's frame (in growstack.s, too): the runtime
	// moves the goroutine that calls it to the next power of two, 16 MiB.
	stackFrame = 16<<20 - 256<<10

	// touchedTop is what the goroutine's frames above growStack's may have
	// touched at the top of its stack; it is not advised.
	touchedTop = 64 << 10

	thpEnabled = "/sys/kernel/mm/transparent_hugepage/enabled"
)

// on: the kernel gives huge pages to memory that asks for them, and only to
// that, and METERAGENT_THP is not "off". Package os is not initialised yet
// when this runs: package syscall reads the file and the environment.
var on = onRequest()

// first is the range the package's initialisation advised, floor the start
// of the 2 MiB page in use then, and collapseErr what MADV_COLLAPSE
// returned for the page below it, for it and for the one above; for tests.
var (
	first       [2]uintptr
	floor       uintptr
	collapseErr [3]error
)

func init() {
	if !on {
		return
	}
	first[0], first[1] = reserve()
	// What the runtime and the packages initialised so far use of the heap
	// (well under 2 MiB, from a random offset into the heap's first 4 MiB)
	// is backed by small pages already: collapse each 2 MiB page that may
	// hold some of it. Pages without any memory in use fail harmlessly.
	floor = heapFloor()
	for i, p := range []uintptr{floor - huge, floor, floor + huge} {
		collapseErr[i] = madvise(p, huge, madvCollapse)
	}
}

// reserve advises a fresh 16 MiB range of heap, borrowed as a goroutine
// stack, and what is free of the heap below it.
func reserve() (lo, hi uintptr) {
	top := make(chan uintptr)
	go func() { top <- bigStackTop() }()
	t := <-top
	lo = min(heapFloor(), (t-stackFrame+huge-1)&^(huge-1))
	hi = (t - touchedTop) &^ (huge - 1)
	if hi <= lo {
		return 0, 0
	}
	madvise(lo, hi-lo, syscall.MADV_HUGEPAGE)
	return lo, hi
}

// growStack has a frame of stackFrame bytes and returns at once
// (growstack.s): its caller's goroutine gets a stack that large, which
// growStack does not touch.
func growStack()

// bigStackTop returns an address near the top of its goroutine's stack after
// making that stack 16 MiB.
//
//go:noinline
func bigStackTop() uintptr {
	growStack()
	var b byte
	return uintptr(unsafe.Pointer(&b))
}

var probe *[64]byte

// heapFloor returns the start of the 2 MiB page that holds a small object
// just allocated: the part of the heap in use, whose untouched rest is
// worth advising too. (The object is stored in probe so that it is
// allocated on the heap, not on the stack.)
func heapFloor() uintptr {
	probe = new([64]byte)
	p := uintptr(unsafe.Pointer(probe))
	probe = nil
	return p &^ (huge - 1)
}

// madvise is advice only: a part of the range that is not mapped is
// skipped (the call then reports ENOMEM), and a kernel that does not know
// the advice ignores it (EINVAL).
func madvise(lo, n uintptr, advice int) error {
	if _, _, e := syscall.Syscall(syscall.SYS_MADVISE, lo, n, uintptr(advice)); e != 0 {
		return e
	}
	return nil
}

// onRequest reports whether transparent_hugepage is "always [madvise]
// never" and METERAGENT_THP is not "off".
func onRequest() bool {
	if v, _ := syscall.Getenv("METERAGENT_THP"); v == "off" {
		return false
	}
	fd, err := syscall.Open(thpEnabled, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer syscall.Close(fd)
	var buf [64]byte
	n, err := syscall.Read(fd, buf[:])
	if err != nil || n <= 0 {
		return false
	}
	return contains(buf[:n], "[madvise]")
}

// contains is bytes.Contains, which would make package bytes (and unicode,
// io, …) initialise before this one, later than the heap is worth asking for.
func contains(b []byte, s string) bool {
	for i := 0; i+len(s) <= len(b); i++ {
		if string(b[i:i+len(s)]) == s {
			return true
		}
	}
	return false
}
