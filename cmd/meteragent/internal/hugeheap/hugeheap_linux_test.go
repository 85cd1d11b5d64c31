//go:build linux && (amd64 || arm64)

package hugeheap

import (
	"bufio"
	"bytes"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

// mapping is one mapping of /proc/self/smaps.
type mapping struct {
	lo, hi      uintptr
	thpEligible bool  // the kernel may back it with huge pages
	anonHuge    int64 // bytes of it that are
}

func mappings(t *testing.T) []mapping {
	t.Helper()
	b, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	var ms []mapping
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) > 0 && strings.Count(f[0], "-") == 1 && !strings.HasSuffix(f[0], ":"):
			a, z, _ := strings.Cut(f[0], "-")
			lo, err1 := strconv.ParseUint(a, 16, 64)
			hi, err2 := strconv.ParseUint(z, 16, 64)
			if err1 != nil || err2 != nil {
				continue
			}
			ms = append(ms, mapping{lo: uintptr(lo), hi: uintptr(hi)})
		case len(ms) == 0:
		case len(f) == 2 && f[0] == "THPeligible:":
			ms[len(ms)-1].thpEligible = f[1] == "1"
		case len(f) == 3 && f[0] == "AnonHugePages:":
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			ms[len(ms)-1].anonHuge = kb << 10
		}
	}
	return ms
}

// eligible returns how many bytes of [lo, hi) lie in mappings the kernel
// may back with huge pages.
func eligible(ms []mapping, lo, hi uintptr) int64 {
	var n int64
	for _, m := range ms {
		if m.thpEligible && m.lo < hi && lo < m.hi {
			n += int64(min(hi, m.hi) - max(lo, m.lo))
		}
	}
	return n
}

func requireOn(t *testing.T) {
	t.Helper()
	if !on {
		if v, _ := os.LookupEnv("METERAGENT_THP"); v == "off" {
			t.Skip("METERAGENT_THP=off")
		}
		b, _ := os.ReadFile(thpEnabled)
		t.Skipf("%s says %q: huge pages are not given on request here", thpEnabled, strings.TrimSpace(string(b)))
	}
}

// The package's initialisation asked for huge pages on the heap's first
// 4 MiB and got the first 2 MiB collapsed into one.
func TestInitAdvisesHeapStart(t *testing.T) {
	requireOn(t)
	ms := mappings(t)
	if got := eligible(ms, first[0], first[1]); got != int64(first[1]-first[0]) {
		t.Errorf("%d of the %d bytes advised at initialisation may get huge pages", got, first[1]-first[0])
	}
	if collapseErr != nil {
		t.Skipf("MADV_COLLAPSE: %v (Linux before 6.1?)", collapseErr)
	}
	for _, m := range ms {
		if m.lo <= first[0] && first[0] < m.hi && m.anonHuge < huge {
			t.Errorf("the mapping of the heap's first 2 MiB holds %d bytes of huge pages, want at least %d", m.anonHuge, huge)
		}
	}
}

// Grow advises at least 14 MiB, and the allocator hands that memory out
// next: the whole approach rests on the runtime freeing a large goroutine
// stack to the heap at once, and on its allocator taking the lowest free
// pages first.
func TestGrowAdvisesWhatTheHeapUsesNext(t *testing.T) {
	requireOn(t)
	// No collection may run while the borrowed stack is freed: the runtime
	// would then keep it as a stack.
	runtime.GC()
	defer debug.SetGCPercent(debug.SetGCPercent(-1))

	lo, hi := Grow()
	if hi-lo < 14<<20 {
		t.Fatalf("Grow advised [%#x, %#x), %d bytes, want at least %d", lo, hi, hi-lo, 14<<20)
	}
	if got := eligible(mappings(t), lo, hi); got < 14<<20 {
		t.Errorf("%d bytes of [%#x, %#x) may get huge pages, want at least %d", got, lo, hi, 14<<20)
	}
	b := make([]byte, 8<<20)
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	if p < lo || p+uintptr(len(b)) > hi {
		t.Errorf("an 8 MiB allocation after Grow lies at [%#x, %#x), outside the advised [%#x, %#x)", p, p+uintptr(len(b)), lo, hi)
	}
	runtime.KeepAlive(b)
}

// With the package off, Grow advises nothing.
func TestGrowOff(t *testing.T) {
	defer func(was bool) { on = was }(on)
	on = false
	if lo, hi := Grow(); lo != 0 || hi != 0 {
		t.Errorf("Grow with the package off = [%#x, %#x), want nothing", lo, hi)
	}
}
