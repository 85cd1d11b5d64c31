//go:build !(linux && (amd64 || arm64))

package hugeheap

// Grow does nothing where the package has no huge pages to ask for.
func Grow() (lo, hi uintptr) { return 0, 0 }
