package main

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"strings"
	"testing"
)

// thpAdvised sums the sizes of this process's mappings the kernel may back
// with huge pages (THPeligible in /proc/self/smaps).
func thpAdvised(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	var total, size int64
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 3 && f[0] == "Size:":
			size, _ = strconv.ParseInt(f[1], 10, 64)
		case len(f) == 2 && f[0] == "THPeligible:" && f[1] == "1":
			total += size << 10
		}
	}
	return total
}

// preferHugePages asks for huge pages on at least hugeHeapBytes of the heap
// (less the rounding to 2 MiB at both ends), and on nothing with
// METERAGENT_THP=off.
func TestPreferHugePages(t *testing.T) {
	if !thpOnRequest() {
		t.Skipf("%s does not say [madvise]: huge pages are not given on request here", thpEnabled)
	}
	t.Setenv("METERAGENT_THP", "off")
	before := thpAdvised(t)
	preferHugePages()
	if got := thpAdvised(t) - before; got != 0 {
		t.Errorf("with METERAGENT_THP=off, %d more bytes advised, want 0", got)
	}
	t.Setenv("METERAGENT_THP", "")
	before = thpAdvised(t)
	preferHugePages()
	if got := thpAdvised(t) - before; got < hugeHeapBytes-4<<20 {
		t.Errorf("%d more bytes advised for huge pages, want at least %d", got, hugeHeapBytes-4<<20)
	}
}
