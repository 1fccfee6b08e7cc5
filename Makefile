# govledger: top-level entry points.  The work is delegated to the
# component builds: pg_extension/ (PGXS), ngx_module/module.mk (nginx
# dynamic module), pg_extension/tools (govledger-verify) and t/unit.
#
#   make          build everything
#   make run      install what is missing, build, start PostgreSQL + nginx
#   make stop     stop what make run started
#   make test     the same set-up on throwaway ports, then every test
#   make soak     the sealer's crash test, 100 rounds
#   make bench    benchmarks (results go to docs/benchmarks.md by hand)
#   make clean    remove build products (keeps var/)

PG_CONFIG ?= /usr/lib/postgresql/15/bin/pg_config
export PG_CONFIG

ROOT := $(CURDIR)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo -n)

.PHONY: all build deps install run stop test soak bench clean distclean \
	ext tools unit

all: build

deps:
	sh scripts/deps.sh

build: ext tools unit ngx-module

ext:
	$(MAKE) -C pg_extension

tools:
	@if [ -f pg_extension/tools/Makefile ]; then \
		$(MAKE) -C pg_extension/tools; fi

unit:
	@if [ -f t/unit/Makefile ]; then $(MAKE) -C t/unit all; fi

install: ext
	$(SUDO) $(MAKE) -C pg_extension install

ifneq ($(wildcard ngx_module/module.mk),)
include ngx_module/module.mk
else
ngx-module:
	@echo "ngx_module/module.mk not present: nginx module not built"
endif

run: deps
	$(MAKE) build
	$(MAKE) install
	perl scripts/govledger-run start

stop:
	perl scripts/govledger-run stop

test: deps
	$(MAKE) build
	$(MAKE) install
	perl t/run

# the crash test of the sealer, 100 rounds instead of 10
soak: deps
	$(MAKE) build
	$(MAKE) install
	GOVLEDGER_CRASH_ROUNDS=100 GOVLEDGER_TEST_TIMEOUT=3600 perl t/run t/seal/crash.t

bench: deps
	$(MAKE) build
	$(MAKE) install
	perl bench/run

clean:
	$(MAKE) -C pg_extension clean
	@if [ -f pg_extension/tools/Makefile ]; then \
		$(MAKE) -C pg_extension/tools clean; fi
	rm -rf build

# var/ may be a link to /var/lib/govledger/<name>-<hash>: both go
distclean: stop clean
	if [ -L var ]; then rm -rf "$$(readlink -f var)"; fi
	rm -rf var
