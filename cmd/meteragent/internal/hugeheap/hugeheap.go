// Package hugeheap asks Linux for transparent huge pages on the Go heap of
// a short-lived process.
//
// A run of the batch command touches megabytes of fresh memory, and the
// first write to each 4 KiB page costs a page fault: 5-11 µs on a virtual
// machine, more than the work it serves. Where the kernel gives 2 MiB pages
// only to memory that asks for them (transparent_hugepage "madvise", the
// default of many distributions) the Go heap never asks. This package asks
// twice:
//
//   - Importing it asks for the heap's first 4 MiB while the packages are
//     being initialised. The runtime and the first packages have already
//     touched part of the first 2 MiB, so that part is collapsed into one
//     huge page at once (MADV_COLLAPSE, Linux 6.1 or later); the second
//     becomes one when it is first touched. Every command starts faster
//     for it (about 200 fewer faults before main), and the heap's first
//     4 MiB are resident as soon as they are used at all.
//   - Grow asks for the memory the allocator will hand out next. It cannot
//     advise memory the runtime has not mapped yet, and cannot free what it
//     allocated without a garbage collection (3-4 ms at the start of a run),
//     so it borrows a goroutine stack instead: a goroutine calls a function
//     whose frame is 15¾ MiB and which touches none of it, so the runtime
//     moves it to a fresh 16 MiB stack; the range is advised, and when the
//     goroutine ends, the runtime returns the stack's pages to the heap at
//     once (large stacks are freed immediately while no collection runs).
//     The allocator hands out its lowest free pages first, which are these.
//
// Both are advice: if the runtime ever placed or freed memory otherwise, a
// run would only be as fast as without. METERAGENT_THP=off, another
// transparent_hugepage setting than "madvise", another OS or an
// architecture without the assembly (only amd64 and arm64 have it) turn
// the package off.
package hugeheap
