# meteragent: `make run` runs the demo house, `make test` runs every test.
SHELL   := /bin/bash
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
BIN     := bin/meteragent


.PHONY: all build build-pi run test test-pi deps bench-process package test-short bench fuzz lint fmt vet check-deps tidy clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/meteragent

build-pi:
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/meteragent-arm64 ./cmd/meteragent
	CGO_ENABLED=0 GOOS=linux GOARCH=arm GOARM=6 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/meteragent-armv6 ./cmd/meteragent

DEMO_PROCESS := ./$(BIN) process --config testdata/demo --readings testdata/demo/readings.csv --out .cache/demo-out --to 2026-11-27

run: build
	$(DEMO_PROCESS)

# test provisions what the tests need (Mosquitto and qemu-user from Debian), runs
# every test with the race detector, then the Pi's builds' tests (test-pi). Under
# CI=true no integration test may skip.
test: lint deps
	$(GO) test -race -count=1 -timeout 20m ./...
	$(MAKE) --no-print-directory test-pi

# test-pi runs the tests of processing, config, the agent's core and the batch
# command as the Pi's builds, arm64 and armv6 (Zero, Pi 1), under qemu-user.
# Go fuses multiply-adds on arm64, so the same code may round differently
# there: the golden demo outputs must still come out byte for byte. Tests that
# start the built binary or read the kernel's huge pages need the real machine.
PI_CMD_TESTS := TestProcess|TestSchedule|TestComputeAndWrite|TestOutputSet|TestReadReadings
test-pi: deps
	GOARCH=arm64 CGO_ENABLED=0 $(GO) test -count=1 -exec qemu-aarch64 ./processing/... ./config/... ./agent/...
	GOARCH=arm64 CGO_ENABLED=0 $(GO) test -count=1 -exec qemu-aarch64 -run '$(PI_CMD_TESTS)' ./cmd/meteragent/
	GOARCH=arm GOARM=6 CGO_ENABLED=0 $(GO) test -count=1 -exec qemu-arm ./processing/... ./config/...
	GOARCH=arm GOARM=6 CGO_ENABLED=0 $(GO) test -count=1 -exec qemu-arm -run '$(PI_CMD_TESTS)' ./cmd/meteragent/

# deps installs Mosquitto and qemu-user when they are missing (Debian/Ubuntu,
# needs root or sudo).
deps:
	@SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	if ! command -v mosquitto >/dev/null 2>&1 && [ ! -x /usr/sbin/mosquitto ]; then \
		echo "installing mosquitto (integration tests run their own broker on 127.0.0.1)"; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq mosquitto >/dev/null; \
		$$SUDO service mosquitto stop >/dev/null 2>&1 || true; \
	fi; \
	if ! command -v qemu-aarch64 >/dev/null 2>&1 || ! command -v qemu-arm >/dev/null 2>&1; then \
		echo "installing qemu-user (the Pi builds' tests run under it)"; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq qemu-user >/dev/null; \
	fi

test-short:
	$(GO) test -short ./...

# bench measures every figure of the README (see its "Figures" section); the
# results land on standard output and in .cache/bench/.
bench: build deps
	@mkdir -p .cache/bench
	$(GO) test -run='^$$' -bench='ProcessDemo|ReadReadings|ProcessPhase|FirstTouch' -benchmem ./cmd/meteragent/
	$(GO) test -run='^$$' -bench=. -benchmem ./processing/ ./storage/ ./config/
	$(GO) test -run='^$$' -bench=AgentIngest -benchtime=20000x ./cmd/meteragent/
	$(GO) test -run='^$$' -bench=AgentLatency -benchtime=10000x ./cmd/meteragent/
	$(GO) test -count=1 -run=TestDemoHouseRSS -v ./cmd/meteragent/ | grep -E 'RSS|ok|FAIL'
	$(MAKE) --no-print-directory bench-process
	$(GO) run ./cmd/accuracy -out .cache/bench/accuracy.md
	$(GO) run ./cmd/anomalybench -out .cache/bench/anomalies.md

# bench-process times the batch command on the demo house, start to finish.
bench-process: build
	@if command -v hyperfine >/dev/null 2>&1; then \
		hyperfine -N -w 3 -r 30 '$(DEMO_PROCESS)'; \
	else \
		echo "hyperfine not installed (apt-get install hyperfine): 30 runs with time"; \
		time (for i in $$(seq 30); do $(DEMO_PROCESS) >/dev/null; done); \
	fi
	@if [ -x /usr/bin/time ]; then /usr/bin/time -v $(DEMO_PROCESS) 2>&1 >/dev/null | grep -E 'Maximum resident|Elapsed'; fi

fuzz:
	@echo "see README: go test -run='^$$' -fuzz=FuzzName -fuzztime=30s ./pkg"

lint: fmt vet check-deps

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

# processing is pure: stdlib and gonum only, and no I/O, clock, logging or goroutines
# in its own code. config imports nothing of ours.
check-deps:
	@bad=$$($(GO) list -deps ./processing/... | grep -E 'paho|bbolt|influxdb|yaml|meteragent/(agent|storage|config)' || true); \
	if [ -n "$$bad" ]; then echo "processing must stay pure, it depends on: $$bad"; exit 1; fi
	@bad=$$($(GO) list -f '{{join .Imports "\n"}}' ./processing/... | grep -E '^(os|os/.*|io/fs|io/ioutil|net|net/.*|log|log/.*|syscall|runtime/debug)$$' || true); \
	if [ -n "$$bad" ]; then echo "processing must not do I/O or logging, it imports: $$bad"; exit 1; fi
	@bad=$$(grep -nE 'time\.Now\(|^\s*go |go func' $$(ls processing/*.go | grep -v _test.go) || true); \
	if [ -n "$$bad" ]; then echo "processing must not read the clock or start goroutines:"; echo "$$bad"; exit 1; fi
	@bad=$$($(GO) list -deps ./config/... | grep -E 'meteragent/(agent|storage|processing)' || true); \
	if [ -n "$$bad" ]; then echo "config must not import our packages: $$bad"; exit 1; fi

# package builds a Debian package for the Pi (arm64) with nfpm, run at a
# pinned version through the module proxy so it adds nothing to go.mod.
NFPM        := github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2
DEB_VERSION := 0.1.0+git$(shell git rev-parse --short HEAD 2>/dev/null || echo 0)
package: build-pi
	GOBIN=$(CURDIR)/.cache/bin $(GO) install $(NFPM)
	VERSION=$(DEB_VERSION) .cache/bin/nfpm package -f packaging/nfpm.yaml -p deb -t bin/

tidy:
	$(GO) mod tidy && git diff --exit-code go.mod go.sum

clean:
	rm -rf bin .cache/demo-out
