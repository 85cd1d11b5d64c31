//go:build linux && (amd64 || arm64)

// func growStack()
//
// The same text assembles for amd64 and arm64.
// The frame is stackFrame bytes (16 MiB - 256 KiB); nothing in it is
// touched. The stack check in the prologue makes the runtime give the
// goroutine a stack big enough for it first.
TEXT ·growStack(SB), 0, $16515072-0
	RET
