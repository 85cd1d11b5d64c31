//go:build !linux

package main

// preferHugePages does nothing where transparent huge pages are not Linux's.
func preferHugePages() {}
