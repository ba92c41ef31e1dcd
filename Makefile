# piha — the front door.
#   make build     bundle the service into dist/piha (runs the CLI and the daemon on this machine)
#   make test      everything a clean clone needs: deps, typecheck, unit tests, simulator seeds,
#                  network-namespace lab tests with real daemons (needs root, as in CI)
SHELL := /bin/bash
NODE_TEST := node --import tsx --test --test-reporter=spec --test-concurrency=1
# qemu-user-static + arm64 libc/libstdc++: run the arm64 binary in tests; binutils: strip it.
APT_PKGS := iproute2 nftables iputils-arping tcpdump curl qemu-user-static libc6-arm64-cross libstdc++6-arm64-cross binutils-aarch64-linux-gnu
# Seeds the simulator runs in `make test` (about 20 ms each); `make sim SEEDS=100000` for more.
SIM_SEEDS ?= 3000
SEEDS ?= 100000
FROM ?= 1

.PHONY: all deps apt-deps build binary typecheck unit sim sim-test lab test fuzz robustness bench soak demo demo-down clean

all: build

node_modules/.stamp: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

deps: node_modules/.stamp

# Debian tools the VIP adapter and the lab drive (installed only when missing; needs root).
apt-deps:
	@missing=""; for p in $(APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
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
soak: build apt-deps
	node --import tsx bench/soak.ts

demo: build apt-deps
	bash scripts/demo.sh up

demo-down:
	bash scripts/demo.sh down

clean:
	rm -rf dist
