//go:build linux

package main

import (
	"syscall"
	"testing"
)

// BenchmarkFirstTouch measures what the machine charges for the first write
// to a fresh 4 KiB page of anonymous memory, the page fault that every new
// heap page, stack page and written data page of a starting process costs.
// It explains the process command's figures: on the VM the README's figures
// come from, a fault costs about as much as parsing a hundred CSV lines.
func BenchmarkFirstTouch(b *testing.B) {
	const size = 8 << 20
	page := syscall.Getpagesize()
	for b.Loop() {
		b.StopTimer()
		mem, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		for i := 0; i < size; i += page {
			mem[i] = 1
		}
		b.StopTimer()
		if err := syscall.Munmap(mem); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(size/page), "ns/page")
}
