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
	"syscall"
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

// The package's initialisation asked for huge pages on a fresh 16 MiB of
// heap, and the 2 MiB page the heap was using then is one.
func TestInitAdvisesHeapStart(t *testing.T) {
	requireOn(t)
	ms := mappings(t)
	if n := first[1] - first[0]; n < 14<<20 {
		t.Errorf("initialisation advised [%#x, %#x), %d bytes, want at least %d", first[0], first[1], n, 14<<20)
	}
	if got := eligible(ms, first[0], first[1]); got != int64(first[1]-first[0]) {
		t.Errorf("%d of the %d bytes advised at initialisation may get huge pages", got, first[1]-first[0])
	}
	if err := collapseErr[1]; err == syscall.EINVAL {
		t.Skipf("MADV_COLLAPSE: %v (Linux before 6.1?)", err)
	} else if err != nil {
		t.Fatalf("MADV_COLLAPSE of the heap's 2 MiB page in use at initialisation: %v", err)
	}
	for _, m := range ms {
		if m.lo <= floor && floor < m.hi && m.anonHuge < huge {
			t.Errorf("the mapping of the heap's 2 MiB page in use at initialisation holds %d bytes of huge pages, want at least %d", m.anonHuge, huge)
		}
	}
}

// reserve advises at least 14 MiB, and the allocator hands that memory out
// next: the approach rests on the runtime freeing a large goroutine stack
// to the heap at once, and on its allocator taking the lowest free pages
// first.
func TestReserveAdvisesWhatTheHeapUsesNext(t *testing.T) {
	requireOn(t)
	// No collection may run while the borrowed stack is freed: the runtime
	// would then keep it as a stack.
	runtime.GC()
	defer debug.SetGCPercent(debug.SetGCPercent(-1))

	lo, hi := reserve()
	if hi-lo < 14<<20 {
		t.Fatalf("reserve advised [%#x, %#x), %d bytes, want at least %d", lo, hi, hi-lo, 14<<20)
	}
	if got := eligible(mappings(t), lo, hi); got < 14<<20 {
		t.Errorf("%d bytes of [%#x, %#x) may get huge pages, want at least %d", got, lo, hi, 14<<20)
	}
	b := make([]byte, 8<<20)
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	if p < lo || p+uintptr(len(b)) > hi {
		t.Errorf("an 8 MiB allocation after reserve lies at [%#x, %#x), outside the advised [%#x, %#x)", p, p+uintptr(len(b)), lo, hi)
	}
	runtime.KeepAlive(b)
}

// METERAGENT_THP=off turns the package off.
func TestOff(t *testing.T) {
	requireOn(t)
	t.Setenv("METERAGENT_THP", "off")
	if onRequest() {
		t.Error("with METERAGENT_THP=off the package would still ask for huge pages")
	}
	t.Setenv("METERAGENT_THP", "")
	if !onRequest() {
		t.Error("with METERAGENT_THP empty the package would not ask for huge pages")
	}
}
