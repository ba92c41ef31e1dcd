# piha — the front door.
#   make build     bundle the service into dist/piha (runs the CLI and the daemon on this machine)
#   make test      everything a clean clone needs: deps, typecheck, unit tests, simulator seeds,
#                  network-namespace lab tests with real daemons (needs root, as in CI)
SHELL := /bin/bash
NODE_TEST := node --import tsx --test --test-reporter=spec --test-concurrency=1
# qemu-user-static + arm64 libc/libstdc++: run the arm64 binary in tests; binutils: strip it.
APT_PKGS := iproute2 nftables iputils-arping ipv6toolkit ndisc6 tcpdump curl qemu-user-static libc6-arm64-cross libstdc++6-arm64-cross binutils-aarch64-linux-gnu
# The status page (GET /) is tested in a real headless browser (test/unit/api-status-page.test.ts).
UI_APT_PKGS := chromium
# Seeds the simulator runs in `make test` (about 20 ms each); `make sim SEEDS=100000` for more.
SIM_SEEDS ?= 3000
SEEDS ?= 100000
# Benchmarks against keepalived (make bench-compare) need it installed (bench-deps).
BENCH_APT_PKGS := keepalived
# make soak SOAK_MINUTES=30: length of the idle soak under loss.
SOAK_MINUTES ?= 5
FROM ?= 1
# make image / image-test (image/README.md): mmdebstrap under qemu-user, partitions without
# loop devices (dosfstools, mtools, e2fsprogs, fdisk), xz + bmap, the qemu boot test.
IMAGE_APT_PKGS := mmdebstrap qemu-user-static arch-test mtools dosfstools e2fsprogs fdisk xz-utils bmap-tools qemu-system-arm curl

.PHONY: all deps apt-deps build binary typecheck unit sim sim-test lab test fuzz robustness bench soak demo demo-down clean
.PHONY: bench-deps bench-compare bench-scale bench-budget bench-rss-cache bench-persist bench-kernel-lifetime
.PHONY: image-deps image image-test

all: build

node_modules/.stamp: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

deps: node_modules/.stamp

# Debian tools the VIP adapter and the lab drive (installed only when missing; needs root).
apt-deps:
	@missing=""; for p in $(APT_PKGS) $(UI_APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi

typecheck: deps
	npx tsc -p tsconfig.json

build: deps
	node scripts/build.mjs

# Single executables (Node SEA, official node 20 binaries from npm): dist/piha-linux-x64,
# dist/piha-linux-arm64, dist/piha-bin (this machine's). The lab runs the x64 one.
binary: build apt-deps
	node scripts/sea.mjs

unit: deps apt-deps
	$(NODE_TEST) test/unit/*.test.ts test/robustness/*.test.ts

# The deterministic simulator: SIM_SEEDS seeded scenarios; a failure prints its replay command.
sim-test: deps
	node --import tsx test/sim/run.ts --seeds $(SIM_SEEDS) --from 1

sim: deps
	node --import tsx test/sim/run.ts --seeds $(SEEDS) --from $(FROM)

# Real daemons in network namespaces (root). PIHA_LAB_REQUIRED makes a missing lab a failure.
lab: binary apt-deps
	PIHA_LAB_REQUIRED=1 $(NODE_TEST) test/lab/*.test.ts

test: deps apt-deps typecheck build binary unit sim-test lab

# Property/fuzz tests with many runs (make test runs them with FUZZ_RUNS=300);
# replay a failure with FUZZ_SEED=<seed> make fuzz.
FUZZ_RUNS ?= 20000
fuzz: deps
	FUZZ_RUNS=$(FUZZ_RUNS) node scripts/fuzz.mjs

# docs/robustness.md, regenerated from the tests: each records the bad input it tried and what
# it observed (test/robustness/). The lab part needs root; without it: node scripts/robustness.mjs --unit-only
robustness: deps build binary apt-deps
	node scripts/robustness.mjs

bench: build apt-deps
	node --import tsx bench/failover.ts

# Idle cluster under loss: no false failover (default: fast profile, 5 % loss, 5 min).
soak: build binary apt-deps
	SOAK_MINUTES=$(SOAK_MINUTES) node --import tsx bench/soak.ts

# Debian packages only the benchmarks need (installed only when missing; needs root).
bench-deps: apt-deps
	@missing=""; for p in $(BENCH_APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; fi

# piha vs keepalived on the same lab, client and faults (~25 min) -> bench/compare.md, bench/takeover.svg
bench-compare: build binary bench-deps
	node --import tsx bench/compare.ts

# 3, 5, 9, 17, 32 nodes: takeover, packets/s, CPU and RSS per daemon -> bench/scale.md
bench-scale: build binary apt-deps
	node --import tsx bench/scale.ts

# Each daemon limited to 25 % of a core and 64 MiB beside a CPU hog: takeover and a
# 10-minute soak (SOAK_MIN=…) -> bench/budget.md
bench-budget: build binary apt-deps
	node --import tsx bench/budget.ts

# RSS of the 3-node cluster's daemons with the executable cold, read once, just written -> bench/rss-cache.md
bench-rss-cache: build binary apt-deps
	node --import tsx bench/rss-cache.ts

# Saving the durable state: slots + fdatasync vs replace-and-rename, quiet and beside a writer
# (PERSIST_DIR=… to measure another disk) -> bench/persist.md
bench-persist: deps
	node --import tsx bench/persist.ts

# When the kernel removes an expired address, alone and after another address change
# (README, "Residual risks") -> bench/kernel-lifetime.txt
bench-kernel-lifetime: apt-deps
	bash bench/kernel-lifetime.sh | tee bench/kernel-lifetime.txt

demo: build apt-deps
	bash scripts/demo.sh up

demo-down:
	bash scripts/demo.sh down

# Debian packages the image build and its boot test need (installed only when missing; root).
image-deps:
	@missing=""; for p in $(IMAGE_APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi

# SD-card image for every node: dist/piha-<version>-arm64.img.xz (+ .img.bmap, .img.xz.sha256,
# .authkey); BASE_IMAGE=raspios-lite.img adds piha to a Raspberry Pi OS Lite image instead;
# AUTHKEY=FILE bakes in an existing cluster key. Needs root (docs/flash-and-go.md).
image: binary image-deps
	bash image/build.sh

# BASE_IMAGE customisation on a synthetic Raspberry Pi OS image, then the built image booted
# three times in qemu-system-aarch64 (status, idempotent first boot, bad config).
image-test: image-deps
	bash image/base-test.sh
	bash image/boot-test.sh

clean:
	rm -rf dist
