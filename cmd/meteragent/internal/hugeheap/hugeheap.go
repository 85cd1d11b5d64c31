// Package hugeheap asks Linux for transparent huge pages on the Go heap;
// importing it is all there is to it.
//
// A run of the batch command touches megabytes of fresh memory, and the
// first write to each 4 KiB page costs a page fault: 5-11 µs on a virtual
// machine, more than the work it serves. Where the kernel gives 2 MiB pages
// only to memory that asks for them (transparent_hugepage "madvise", the
// default of many distributions) the Go heap never asks. This package asks
// while the packages are being initialised (it depends on syscall alone, so
// it comes early):
//
//   - for a fresh 16 MiB of heap, the next the allocator will hand out. It
//     cannot advise memory the runtime has not mapped yet, and cannot free
//     memory it allocated without a garbage collection (3-4 ms at the
//     start of a run), so it borrows a goroutine stack: a goroutine calls
//     an assembly function whose frame is 15¾ MiB and which touches none
//     of it, so the runtime moves the goroutine to a fresh 16 MiB stack;
//     the range is advised, and when the goroutine ends the runtime returns
//     the stack to the heap at once (it frees large stacks immediately
//     while no collection runs). The allocator takes its lowest free pages
//     first, which are these.
//   - to collapse into huge pages what the heap uses already (MADV_COLLAPSE,
//     Linux 6.1 or later): the runtime and the first packages have begun to
//     use it with small pages, and the ~200 faults the later package
//     initialisers took there are gone.
//
// Both are advice: if the runtime ever placed or freed memory otherwise, a
// run would only be as fast as without. Every command gets the advice; the
// long-running agent's resident memory is the same either way
// (TestDemoHouseRSS). METERAGENT_THP=off, another transparent_hugepage
// setting than "madvise" ("always" needs no advice), another OS, or an
// architecture without the assembly (amd64 and arm64 have it) leave the
// heap as the runtime makes it.
package hugeheap
