# piha — the front door. `make build` then `make test` is what a new user runs.
SHELL := /bin/bash
NODE_TEST := node --import tsx --test --test-reporter=spec
APT_PKGS := iproute2 nftables iputils-arping tcpdump

.PHONY: all deps build test unit sim lab typecheck clean

all: build

node_modules/.stamp: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

deps: node_modules/.stamp

# Debian tools the lab tests drive (only installed when missing; needs root).
apt-deps:
	@missing=""; for p in $(APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi

typecheck: deps
	npx tsc -p tsconfig.json

build: deps
	node scripts/build.mjs

unit: deps
	$(NODE_TEST) test/unit/*.test.ts

test: deps typecheck unit
