# digby -- build, test and tools.  GNU make.
#
#   make                  build/digby (the command-line tool, tools/digby.c)
#   make amalgamate       regenerate digby.h from src_parts/
#   make test             check digby.h is fresh, compile checks, every tests/*.c
#                         plain (-O1 -g; memory-mapped reads) and under
#                         ASan+UBSan (DIGBY_NO_MMAP: reads through the cache);
#                         also the API suite in log mode (DIGBY_LOG_DEFAULT),
#                         the doc_errors check, the torture slices, the tool's
#                         tests and make install-check (see "install" below).
#                         Uses every core: it runs make -j$(NPROC) (NPROC:
#                         nproc's count; a -j of your own is used instead),
#                         each test binary in a directory of its own, its
#                         output printed whole when it ends ("make test" below).
#                         Measured at 09d739a (one job at a time, as before
#                         this change): 968 s of CPU time (user+sys):
#                         compiling the test programs 578 (ASan+UBSan 404),
#                         running the test binaries 327, the torture slices
#                         55 (build and run), cli-test, install-check and the
#                         rest 8.  With -j2 the same work took 1084 s of CPU
#                         (compiles 675, runs 338, slices 59) on the shared
#                         machine, busier then (load average 6.8 from other
#                         jobs against 4.3; the ASan+UBSan compiles averaged
#                         16.4 s of CPU there, 13.9 one at a time), so about
#                         8 to 9 minutes on an idle 2-core machine, against
#                         13.5 one job at a time
#   make test TESTS="model crash"   only these tests (names without .c)
#   make torture          the torture suite (issue #5, tests/TORTURE.md): the
#                         plain test binaries at DIGBY_TEST_SCALE=20, then every
#                         part that tests/torture/*.mk registers; prints a
#                         summary table (here the model check alone took 29
#                         minutes, the fault sweeps 12-18).  A quick
#                         pass through all of it: make torture TORTURE_SCALE=0.05
#                         FUZZ_SECONDS=10 KILL_ROUNDS=20 TSAN_ROUNDS=1
#                         DISKFULL_ROUNDS=2 (the fault sweeps stay full size)
#   make longtest         a 4 GiB - 1 value in bounded memory (minutes, 4 GiB disk)
#   make aead-speed       MB/s of sealing and opening 4 KiB pages, mbedTLS and
#                         OpenSSL (tests/openssl/speed.c)
#   make demo             build/digby, then tools/demo.sh
#   make bench            bench/Makefile: the installed peers, or ENGINES="digby
#                         lmdb" (passed through, as are QUICK, N and ARGS)
#   make portability      32-bit, big-endian, Windows, Cortex-M4, C99/C++11
#                         matrix, and its parts make port-compile, port-configs,
#                         port-m32, port-be, port-win, port-arm
#                         (tests/portability/portability.mk says what each does)
#   make install          digby.h, build/digby, its man page (tools/digby.1) and
#                         digby.pc under $(DESTDIR)$(PREFIX), PREFIX=/usr/local
#   make uninstall        removes them
#   make clean
#
# digby.h is committed and has no rule here on purpose: edit src_parts/, run
# `make amalgamate`, and `make test` fails while digby.h is stale.

CC     ?= cc
CXX    ?= g++
GCC    ?= gcc
CLANG  ?= clang
PYTHON ?= python3

STD_C    = -std=c99 -Wall -Wextra -Wpedantic
POSIX    = -D_POSIX_C_SOURCE=200809L
LIBS     = -lpthread
SANITIZE = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

# Tests: every tests/NAME.c is its own cmocka program.
ALL_TESTS  := $(sort $(basename $(notdir $(wildcard tests/*.c))))
TESTS       = $(ALL_TESTS)
TEST_FLAGS  = $(STD_C) $(POSIX) -Werror -O1 -g -I.
TEST_LIBS   = -lcmocka -llz4 -lmbedcrypto $(LIBS)
TEST_BINS   = $(TESTS:%=build/tests/%)
ASAN_BINS   = $(TESTS:%=build/tests-asan/%)
TEST_DIR    = build/tmp
DIGBY_TEST_SCALE ?= 1

ifneq ($(filter test test-all torture portability port-m32 port-be,$(MAKECMDGOALS)),)
unknown_tests := $(filter-out $(ALL_TESTS),$(TESTS))
ifneq ($(unknown_tests),)
$(error no such test: $(unknown_tests) (tests: $(ALL_TESTS)))
endif
endif

# Compile-only checks of the header (tests/compile/); no cmocka needed.
HAVE_CLANG := $(shell command -v $(CLANG) 2>/dev/null)
COMPILE_CHECKS = build/compile/c99_gcc.o \
                 $(if $(HAVE_CLANG),build/compile/c99_clang.o) \
                 build/compile/cxx11.o \
                 build/compile/static.o \
                 build/compile/two_tu

.DELETE_ON_ERROR:
.PHONY: all amalgamate check-amalgamation test cli-test compile-tests torture torture-scale \
        demo bench clean longtest aead-speed

all: build/digby

build/digby: tools/digby.c digby.h
	@mkdir -p $(@D)
	$(CC) -std=c99 -O2 -Wall -Wextra -Wpedantic -D_POSIX_C_SOURCE=200809L -I. tools/digby.c -o $@ -llz4 -lmbedcrypto $(LIBS)

amalgamate:
	$(PYTHON) amalgamate.py

check-amalgamation:
	$(PYTHON) amalgamate.py --check

# ---- tests ------------------------------------------------------------------

# The headers the test programs share (tests/harness.h, ...): editing one
# rebuilds every test.  Nothing but programs sits at tests/*.c.
TEST_HDRS := $(sort $(wildcard tests/*.h))

# The order-only `check-amalgamation` makes the freshness check come first,
# even under -j.
build/tests/%: tests/%.c $(TEST_HDRS) digby.h | check-amalgamation
	@mkdir -p $(@D)
	$(CC) $(TEST_FLAGS) $< -o $@ $(TEST_LIBS)

# Programs that include another test program (log mode's versions of the
# model and the crash sweep) depend on it too.
build/tests/model_log build/tests-asan/model_log: tests/model.c
build/tests/crash_log build/tests-asan/crash_log: tests/crash.c

# The ASan+UBSan build leaves mmap out (DIGBY_NO_MMAP): the plain build
# reads through the memory map, the default, and this one through the
# bounded cache (DIGBY_OPEN_NO_MMAP's path), so that every test runs on
# both read paths.
build/tests-asan/%: tests/%.c $(TEST_HDRS) digby.h | check-amalgamation
	@mkdir -p $(@D)
	$(CC) $(TEST_FLAGS) $(SANITIZE) -DDIGBY_NO_MMAP $< -o $@ $(TEST_LIBS)

# $(call test-loop,binaries,setup,run,summary): the loop of run-tests below
# and of port-run (tests/portability/portability.mk).  For each binary $$t:
# the shell commands setup (each ending in ";"), then `run ./$$t` (run: a
# prefix such as environment settings or an emulator); then "==== summary
# (summary): P passed, F failed", a FAILED line per failed binary, and a
# failure if there was one.  (No commas in the arguments: $(call) splits
# there.)
define test-loop
pass=0; fail=0; failed=""; \
	for t in $(1); do \
	    $(2) \
	    if $(3) ./$$t; then \
	        pass=$$((pass + 1)); \
	    else \
	        fail=$$((fail + 1)); failed="$$failed $$t"; \
	    fi; \
	done; \
	echo "==== summary ($(4)): $$pass passed, $$fail failed"; \
	for t in $$failed; do echo "FAILED: $$t"; done; \
	test $$fail -eq 0
endef

# $(call run-tests,binaries,scale): run each binary, print a summary, fail if
# any failed.  Files the tests make go to $(TEST_DIR), emptied first.
# $(call test-env,scale[,dir]): dir (default $(TEST_DIR)) for the files.
test-env = DIGBY_TEST_DIR=$(if $(2),$(2),$(TEST_DIR)) DIGBY_TEST_SCALE=$(1) \
           DIGBY_SEEN_ERRORS=$(abspath $(TEST_DIR))/seen UBSAN_OPTIONS=print_stacktrace=1
define run-tests
@rm -rf $(TEST_DIR); mkdir -p $(TEST_DIR); \
	$(call test-loop,$(1),echo "==== $$t";,$(call test-env,$(2)),DIGBY_TEST_SCALE=$(2))
endef

# $(call doc-errors,prefix): the results the programs that include
# tests/seen_errors.h saw (files prefix.<pid>) must each be on the
# function's "Returns:" list in digby.h (tests/doc_errors.py); also every
# public function has such a list and is wrapped.  None recorded is an
# error: the sweep that should have written them did not.
define doc-errors
@set -- $(1).*; if [ ! -e "$$1" ]; then \
	    echo "doc_errors: no results recorded ($(1).*)"; exit 1; fi; \
	$(PYTHON) tests/doc_errors.py --wrappers tests/seen_errors.h "$$@"
endef

# tests/multiproc.c runs the digby tool (build/digby, its DIGBY_TEST_CLI
# default) on a file other processes hold open.  Handles share a file
# through the lock file, which the POSIX VFS maps: the ASan+UBSan build
# (DIGBY_NO_MMAP) may have none, and then skips every test, so
# multiproc_map is multiproc under ASan+UBSan with the map.
MPROC_BINS = $(if $(filter multiproc,$(TESTS)),build/tests-asan/multiproc_map)
test-run/build/tests/multiproc test-run/build/tests-asan/multiproc test-run/build/tests-asan/multiproc_map: build/digby
build/tests-asan/multiproc_map: tests/multiproc.c $(TEST_HDRS) digby.h | check-amalgamation
	@mkdir -p $(@D)
	$(CC) $(TEST_FLAGS) $(SANITIZE) $< -o $@ $(TEST_LIBS)

# (defined before the rule: make expands a rule's prerequisites as it reads it)
NOLZ4_SRC  = tests/nolz4/main.c tests/nolz4/writer.c
NOLZ4_BINS = $(if $(filter large_items,$(TESTS)),build/tests/nolz4 build/tests-asan/nolz4)
NOLOG_SRC  = tests/nolog/main.c tests/nolog/writer.c
NOLOG_BINS = $(if $(filter api_lifecycle,$(TESTS)),build/tests/nolog)

# (the OpenSSL backend's programs: below)
OPENSSL_TESTS = $(filter crypto crash model,$(TESTS))
OPENSSL_BINS  = $(OPENSSL_TESTS:%=build/tests/openssl-%) $(OPENSSL_TESTS:%=build/tests-asan/openssl-%) \
                $(if $(filter crypto,$(TESTS)),build/tests/openssl build/tests-asan/openssl)

# (log mode's API suite: below)
LOG_API_TESTS = $(filter api_kv api_cursor api_tables api_errors api_lifecycle api_pages backup \
                         large_items range_delete,$(TESTS))
LOG_BINS      = $(LOG_API_TESTS:%=build/tests-log/%)

# make test itself (the runs, in parallel): after the torture parts below,
# whose slices it runs too.

# Log mode (issue #11): the black-box API suite (LOG_API_TESTS above)
# again with DIGBY_LOG_DEFAULT, so that every digby_open without a mode
# flag opens in log mode; the tests check log mode's behaviour where it
# differs (harness.h's TEST_LOG_MODE).  Built with clang -O0, which
# compiles fastest, and without ASan, for make test's budget (measured:
# 9-11 s to build, 4-11 s to run on two cores shared with other jobs;
# ASan+UBSan took 25 s to build and 21 s to run); the model and crash tests have log-mode programs of their own,
# under ASan too (model_log.c, crash_log.c).
build/tests-log/%: tests/%.c $(TEST_HDRS) digby.h | check-amalgamation
	@mkdir -p $(@D)
	$(CLANG) $(TEST_FLAGS) -O0 -DDIGBY_LOG_DEFAULT $< -o $@ $(TEST_LIBS)

# tests/nolz4/: a DIGBY_NO_LZ4 + DIGBY_NO_CRYPTO build (main.c) reads a file
# that the full build (writer.c) writes, in one program: both are
# DIGBY_STATIC (whose unused functions are no error here).  make test runs
# it with large_items.
build/tests/nolz4: $(NOLZ4_SRC) tests/nolz4/nolz4.h tests/sha256_vectors.h digby.h | check-amalgamation
	@mkdir -p $(@D)
	$(CC) $(TEST_FLAGS) -Wno-unused-function $(NOLZ4_SRC) -o $@ $(TEST_LIBS)
build/tests-asan/nolz4: $(NOLZ4_SRC) tests/nolz4/nolz4.h tests/sha256_vectors.h digby.h | check-amalgamation
	@mkdir -p $(@D)
	$(CC) $(TEST_FLAGS) -Wno-unused-function $(SANITIZE) $(NOLZ4_SRC) -o $@ $(TEST_LIBS)

# tests/nolog/: a DIGBY_NO_LOG build (main.c) refuses log mode and files
# with a live log, and opens the files a log-mode handle closed, which the
# full build (writer.c) writes; both DIGBY_STATIC, in one program.  make
# test runs it with api_lifecycle (plain only: ASan is left to the full
# builds, for make test's budget).
build/tests/nolog: $(NOLOG_SRC) tests/nolog/nolog.h digby.h | check-amalgamation
	@mkdir -p $(@D)
	$(CC) $(TEST_FLAGS) -Wno-unused-function $(NOLOG_SRC) -o $@ $(TEST_LIBS)

# The second crypto backend, OpenSSL 3's libcrypto (DIGBY_CRYPTO_OPENSSL,
# linked with -lcrypto and no mbedTLS): tests/crypto.c, crash.c and model.c
# built again with the switch, plain and ASan, as openssl-NAME; and
# tests/openssl/, where a file crosses between an mbedTLS and an OpenSSL
# build (mbed.c and ossl.c, both DIGBY_STATIC, in one program with
# main.c).  make test runs them beside the others (tests/openssl with
# crypto).
OPENSSL_FLAGS = -DDIGBY_CRYPTO_OPENSSL
OPENSSL_LIBS  = -lcmocka -llz4 -lcrypto $(LIBS)
OPENSSL_SRC   = tests/openssl/main.c tests/openssl/mbed.c tests/openssl/ossl.c
OPENSSL_DEPS  = $(OPENSSL_SRC) tests/openssl/xback.h tests/openssl/backend.h \
                tests/torture/det_entropy.h digby.h
build/tests/openssl-%: tests/%.c $(TEST_HDRS) digby.h | check-amalgamation
	@mkdir -p $(@D)
	$(CC) $(TEST_FLAGS) $(OPENSSL_FLAGS) $< -o $@ $(OPENSSL_LIBS)
build/tests-asan/openssl-%: tests/%.c $(TEST_HDRS) digby.h | check-amalgamation
	@mkdir -p $(@D)
	$(CC) $(TEST_FLAGS) $(OPENSSL_FLAGS) $(SANITIZE) $< -o $@ $(OPENSSL_LIBS)
build/tests/openssl: $(OPENSSL_DEPS) | check-amalgamation
	@mkdir -p $(@D)
	$(CC) $(TEST_FLAGS) -Wno-unused-function $(OPENSSL_SRC) -o $@ $(TEST_LIBS) -lcrypto
build/tests-asan/openssl: $(OPENSSL_DEPS) | check-amalgamation
	@mkdir -p $(@D)
	$(CC) $(TEST_FLAGS) -Wno-unused-function $(SANITIZE) $(OPENSSL_SRC) -o $@ $(TEST_LIBS) -lcrypto

# make aead-speed: tests/openssl/speed.c built for each backend (-O2) and
# run: MB/s of sealing and opening 4 KiB pages.  A measure, not a test.
aead-speed: build/speed/aead-mbedtls build/speed/aead-openssl
	./build/speed/aead-mbedtls
	./build/speed/aead-openssl
build/speed/aead-mbedtls: tests/openssl/speed.c digby.h | check-amalgamation
	@mkdir -p $(@D)
	$(CC) $(STD_C) $(POSIX) -Werror -O2 -I. $< -o $@ -llz4 -lmbedcrypto $(LIBS)
build/speed/aead-openssl: tests/openssl/speed.c digby.h | check-amalgamation
	@mkdir -p $(@D)
	$(CC) $(STD_C) $(POSIX) -Werror -O2 -I. $(OPENSSL_FLAGS) $< -o $@ -llz4 -lcrypto $(LIBS)

# make longtest: a 4 GiB - 1 value written in pieces and read back in ranges,
# raw and compressed, with peak RSS under 64 MiB (tests/long/huge_value.c).
# Minutes, and up to 4 GiB of disk under $(TEST_DIR); not part of make test.
longtest: build/long/huge_value
	@rm -rf $(TEST_DIR)/long; mkdir -p $(TEST_DIR)/long
	DIGBY_TEST_DIR=$(TEST_DIR)/long ./build/long/huge_value
	@rm -rf $(TEST_DIR)/long
build/long/huge_value: tests/long/huge_value.c digby.h | check-amalgamation
	@mkdir -p $(@D)
	$(CC) $(STD_C) $(POSIX) -Werror -O2 -g -I. $< -o $@ -llz4 -lmbedcrypto $(LIBS)

# The command-line tool: every command, dump/load round trips, LMDB interop.
cli-test: build/digby
	@mkdir -p $(TEST_DIR)/cli
	sh tests/cli_test.sh build/digby $(TEST_DIR)/cli

# ---- torture -----------------------------------------------------------------
#
# Each tests/torture/NAME.mk adds its parts (torture-part below does, for a
# part with a cmocka-free program):
#   TORTURE_TARGETS += torture-NAME   full-figure runs (make torture only)
#   TEST_SLICES     += slice-NAME     a fast slice that make test runs too
# A torture part writes its figures, one table row per line, to
# $(TORTURE_OUT)/NAME.txt; make torture prints them all at the end.
TORTURE_OUT     = build/torture/figures
TORTURE_TARGETS :=
TEST_SLICES     :=

# $(eval $(call torture-part,NAME,dir,prerequisites,flags)): a part whose
# program is tests/torture/NAME.c and needs no cmocka.  Registers
# torture-NAME and slice-NAME (the .mk writes their recipes) and builds the
# program twice: dir/NAME for torture-NAME with $(CC) and TEST_FLAGS plus
# flags, and dir/NAME-asan for slice-NAME under ASan+UBSan with clang -O0,
# which compiles fastest (make test's budget).  prerequisites: the headers
# NAME.c includes beside digby.h.
TORTURE_LIBS = $(filter-out -lcmocka,$(TEST_LIBS))
define torture-part
TORTURE_TARGETS += torture-$(1)
TEST_SLICES     += slice-$(1)
.PHONY: torture-$(1) slice-$(1)
$(2)/$(1): tests/torture/$(1).c $(3) digby.h | check-amalgamation
	@mkdir -p $$(@D)
	$$(CC) $$(TEST_FLAGS)$(if $(4), $(4)) $$< -o $$@ $$(TORTURE_LIBS)
$(2)/$(1)-asan: tests/torture/$(1).c $(3) digby.h | check-amalgamation
	@mkdir -p $$(@D)
	$$(CLANG) $$(TEST_FLAGS) -O0 $$(SANITIZE) $$< -o $$@ $$(TORTURE_LIBS)
endef
-include $(sort $(wildcard tests/torture/*.mk))

# The test binaries at TORTURE_SCALE (model.c: 1M operations per unit).
TORTURE_SCALE ?= 20
torture-scale: $(TEST_BINS) $(if $(filter multiproc,$(TESTS)),build/digby)
	$(call run-tests,$(TEST_BINS),$(TORTURE_SCALE))

torture: check-amalgamation
	@rm -rf $(TORTURE_OUT); mkdir -p $(TORTURE_OUT); start=$$(date +%s); \
	$(MAKE) --no-print-directory torture-scale $(TORTURE_TARGETS) || exit 1; \
	echo; echo "==== torture summary ($$(date -u +%Y-%m-%d), $$(( $$(date +%s) - start )) s)"; \
	cat $(TORTURE_OUT)/*.txt 2>/dev/null || true

# ---- make test: both cores ----------------------------------------------------
#
# make test runs make again with -j$(NPROC) (nproc's count; make test NPROC=1
# for one job at a time), unless the command line has a -j of its own, which
# is then used as given.  That make (test-all) builds the programs, runs the
# test binaries, the torture slices, the compile checks, cli-test and
# install-check, as many jobs at a time as -j allows (in practice make starts
# the compiles first and the runs after them: a run waits for its program,
# and make comes back to it only after a pass over the whole list);
# --output-sync=target prints each job's output whole when it ends, so that
# two never interleave.  The freshness check (check-amalgamation) runs first,
# before that make starts.
NPROC ?= $(shell nproc 2>/dev/null || echo 2)

test: check-amalgamation
	@$(MAKE) --no-print-directory $(if $(filter -j%,$(MAKEFLAGS)),,-j$(NPROC)) \
	    --output-sync=target test-all

# The binaries make test runs, each once at DIGBY_TEST_SCALE: test-run/BINARY
# runs it in a directory of its own, $(TEST_DIR)/run/NAME (NAME: BINARY
# without build/, / as .), its output to NAME.log, which it then prints whole
# under "==== BINARY", and its result to NAME.result.  The results of crash.c's
# and faults.c's sweeps for doc-errors go to $(TEST_DIR)/seen.<pid> as before.
TEST_RUN_BINS = $(TEST_BINS) $(ASAN_BINS) $(NOLZ4_BINS) $(NOLOG_BINS) $(OPENSSL_BINS) $(LOG_BINS) $(MPROC_BINS)
test-run-name = $(subst /,.,$(patsubst build/%,%,$(1)))

# The longest runs start first, then the torture slices, then the rest
# (make starts prerequisites in the order they are listed): the short runs
# fill in, and the two cores finish together rather than one running model
# alone at the end.
# CPU seconds measured at 09d739a: tests/model 62, tests-asan/crash 55,
# tests-asan/crash_log 35, tests/crash 29, tests-asan/model 26,
# tests/crash_log 16, tests/model_log 12, tests-asan/crypto 11; every other
# run under 10.
TEST_RUN_FIRST = build/tests/model build/tests-asan/crash build/tests-asan/crash_log \
                 build/tests/crash build/tests-asan/model build/tests/crash_log \
                 build/tests/model_log build/tests-asan/crypto
TEST_RUNS_FIRST = $(addprefix test-run/,$(filter $(TEST_RUN_FIRST),$(TEST_RUN_BINS)))
TEST_RUNS_REST  = $(addprefix test-run/,$(filter-out $(TEST_RUN_FIRST),$(TEST_RUN_BINS)))
TEST_RUNS       = $(TEST_RUNS_FIRST) $(TEST_RUNS_REST)

.PHONY: test-all test-prep test-summary test-doc-errors

# ($(TEST_RUN_BINS) too: else make takes them for intermediate files, and
# deletes them at the end)
test-all: $(TEST_RUNS_FIRST) $(TEST_SLICES) $(TEST_RUNS_REST) test-summary \
          $(if $(filter crash,$(TESTS)),test-doc-errors) compile-tests cli-test install-check \
          $(TEST_RUN_BINS)

# (not all of $(TEST_DIR): cli-test writes $(TEST_DIR)/cli meanwhile)
test-prep:
	@rm -rf $(TEST_DIR)/run $(TEST_DIR)/seen.*; mkdir -p $(TEST_DIR)/run

# Never fails: test-summary counts the results, so that every binary runs.
test-run/%: % | test-prep
	@d=$(TEST_DIR)/run/$(call test-run-name,$*); rm -rf $$d; mkdir -p $$d; \
	start=$$(date +%s); \
	if $(call test-env,$(DIGBY_TEST_SCALE),$$d) ./$* > $$d.log 2>&1; then r=passed; \
	else r="FAILED (exit status $$?)"; fi; \
	echo "==== $*"; cat $$d.log; \
	echo "==== $*: $$r in $$(( $$(date +%s) - start )) s (log: $$d.log)"; \
	echo "$$r" > $$d.result

# "==== summary (DIGBY_TEST_SCALE=...): P passed, F failed", a FAILED line per
# failed binary, and a failure if there was one (as test-loop prints).
test-summary: $(TEST_RUNS)
	@pass=0; fail=0; failed=""; \
	for p in $(foreach b,$(TEST_RUN_BINS),$(b)=$(call test-run-name,$(b))); do \
	    t=$${p%%=*}; \
	    if [ "$$(cat $(TEST_DIR)/run/$${p#*=}.result 2>/dev/null)" = passed ]; then \
	        pass=$$((pass + 1)); \
	    else \
	        fail=$$((fail + 1)); failed="$$failed $$t"; \
	    fi; \
	done; \
	echo "==== summary (DIGBY_TEST_SCALE=$(DIGBY_TEST_SCALE)): $$pass passed, $$fail failed"; \
	for t in $$failed; do echo "FAILED: $$t"; done; \
	test $$fail -eq 0 || { echo "(each binary's output: $(TEST_DIR)/run/NAME.log)"; exit 1; }

# After every run: the results they all recorded.
test-doc-errors: test-summary
	$(call doc-errors,$(TEST_DIR)/seen)

# ---- compile checks ---------------------------------------------------------

compile-tests: $(COMPILE_CHECKS)
	@echo "==== compile checks passed: $(notdir $(COMPILE_CHECKS))"

# exported_symbols: names an object defines for the linker, one per line.
exported_symbols = nm -g --defined-only $(1) | awk 'NF == 3 { print $$3 }'

# Also: every symbol the implementation exports is a digby_ name.
build/compile/c99_gcc.o: tests/compile/c99.c digby.h | check-amalgamation
	@mkdir -p $(@D)
	$(GCC) $(STD_C) $(POSIX) -Werror -I. -c $< -o $@
	@bad=$$($(call exported_symbols,$@) | grep -v '^digby_' || true); \
	if [ -n "$$bad" ]; then echo "$@ exports non-digby_ symbols:" $$bad; exit 1; fi

build/compile/c99_clang.o: tests/compile/c99.c digby.h | check-amalgamation
	@mkdir -p $(@D)
	$(CLANG) $(STD_C) $(POSIX) -Werror -I. -c $< -o $@

build/compile/cxx11.o: tests/compile/cxx11.cpp digby.h | check-amalgamation
	@mkdir -p $(@D)
	$(CXX) -std=c++11 -Wall -Wextra -Werror -I. -c $< -o $@

# Also: with DIGBY_STATIC the object exports nothing but main.
build/compile/static.o: tests/compile/static.c digby.h | check-amalgamation
	@mkdir -p $(@D)
	$(CC) $(STD_C) $(POSIX) -Werror -I. -c $< -o $@
	@bad=$$($(call exported_symbols,$@) | grep -v '^main$$' || true); \
	if [ -n "$$bad" ]; then echo "$@ exports symbols despite DIGBY_STATIC:" $$bad; exit 1; fi

build/compile/two_tu_%.o: tests/compile/two_tu_%.c digby.h | check-amalgamation
	@mkdir -p $(@D)
	$(CC) $(STD_C) $(POSIX) -Werror -I. -c $< -o $@

# Two translation units, one with the implementation, linked and run.
build/compile/two_tu: build/compile/two_tu_main.o build/compile/two_tu_impl.o
	$(CC) $^ -o $@ -llz4 -lmbedcrypto $(LIBS)
	./$@

# ---- portability ------------------------------------------------------------
#
# make portability and the port-* targets: tests/portability/portability.mk,
# beside the smoke test and the fixtures it runs.
include tests/portability/portability.mk

# ---- install ----------------------------------------------------------------
#
#   make install     digby.h to $(PREFIX)/include, the tool to $(PREFIX)/bin,
#                    its man page to $(PREFIX)/share/man/man1 and digby.pc to
#                    $(PREFIX)/share/pkgconfig, all under $(DESTDIR)
#   make uninstall   removes those four files (same PREFIX and DESTDIR)
#   make install-check   (make test runs it) installs into build/install-check
#                    with PREFIX=/usr, builds tests/install/use_digby.c with
#                    nothing but pkg-config's flags for digby and runs it,
#                    runs the installed tool, then uninstalls

PREFIX      ?= /usr/local
DESTDIR     ?=
INSTALL     ?= install
PKG_CONFIG  ?= pkg-config
includedir   = $(PREFIX)/include
bindir       = $(PREFIX)/bin
man1dir      = $(PREFIX)/share/man/man1
# share/, not lib/: digby is one header and no library, so digby.pc is the
# same on every architecture, and architecture-independent .pc files belong
# in share/pkgconfig (pkg-config searches it beside lib/pkgconfig).
pkgconfigdir = $(PREFIX)/share/pkgconfig
INSTALLED    = $(includedir)/digby.h $(bindir)/digby $(man1dir)/digby.1 \
               $(pkgconfigdir)/digby.pc

.PHONY: install uninstall install-check

# digby.pc: the version is DIGBY_VERSION_STRING of src_parts/01_config.h
# (the order-only check-amalgamation: so is digby.h's).  The libraries go in
# Libs, not Libs.private: with no libdigby to carry them, the program that
# defines DIGBY_IMPLEMENTATION links them itself.
install: build/digby | check-amalgamation
	@v=$$(sed -n 's/^#define DIGBY_VERSION_STRING "\(.*\)"$$/\1/p' src_parts/01_config.h); \
	test -n "$$v" || { echo "install: no DIGBY_VERSION_STRING in src_parts/01_config.h"; exit 1; }; \
	{ echo "# digby: one header (digby.h).  Define DIGBY_IMPLEMENTATION in one .c file;"; \
	  echo "# that file needs xxhash.h, and links lz4 and mbedcrypto (none with"; \
	  echo "# DIGBY_NO_LZ4 or DIGBY_NO_CRYPTO) and pthreads (none with DIGBY_NO_THREADS)."; \
	  echo "prefix=$(PREFIX)"; \
	  echo 'includedir=$${prefix}/include'; \
	  echo; \
	  echo "Name: digby"; \
	  echo "Description: embedded, crash-safe key-value store in one header"; \
	  echo "Version: $$v"; \
	  echo 'Cflags: -I$${includedir}'; \
	  echo "Libs: -llz4 -lmbedcrypto -lpthread"; \
	} >build/digby.pc
	$(INSTALL) -d $(DESTDIR)$(includedir) $(DESTDIR)$(bindir) $(DESTDIR)$(man1dir) \
	    $(DESTDIR)$(pkgconfigdir)
	$(INSTALL) -m 644 digby.h $(DESTDIR)$(includedir)/digby.h
	$(INSTALL) -m 755 build/digby $(DESTDIR)$(bindir)/digby
	$(INSTALL) -m 644 tools/digby.1 $(DESTDIR)$(man1dir)/digby.1
	$(INSTALL) -m 644 build/digby.pc $(DESTDIR)$(pkgconfigdir)/digby.pc

uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))

# The installed header is found through pkg-config's -I alone: the sysroot
# (DESTDIR) is prefixed to it, and the include is <digby.h>, which the
# source tree's directory does not satisfy.
INSTALL_CHECK = build/install-check
install-check: build/digby
	@rm -rf $(INSTALL_CHECK); mkdir -p $(INSTALL_CHECK)
	$(MAKE) --no-print-directory install DESTDIR=$(abspath $(INSTALL_CHECK))/root PREFIX=/usr
	@pc="env PKG_CONFIG_PATH=$(INSTALL_CHECK)/root/usr/share/pkgconfig \
	     PKG_CONFIG_SYSROOT_DIR=$(abspath $(INSTALL_CHECK))/root $(PKG_CONFIG)"; \
	flags=$$($$pc --cflags --libs digby) || exit 1; \
	case " $$flags " in *" -I$(abspath $(INSTALL_CHECK))/root/usr/include "*) ;; \
	    *) echo "install-check: pkg-config's flags miss the installed include directory: $$flags"; exit 1;; esac; \
	echo "$(CC) $(STD_C) -Werror tests/install/use_digby.c $$flags"; \
	$(CC) $(STD_C) -Werror tests/install/use_digby.c -o $(INSTALL_CHECK)/use_digby $$flags || exit 1; \
	v=$$($$pc --modversion digby); \
	out=$$(./$(INSTALL_CHECK)/use_digby $(INSTALL_CHECK)/use.digby) || exit 1; \
	case "$$out" in "digby $$v "*) ;; *) echo "install-check: use_digby printed '$$out', digby.pc says $$v"; exit 1;; esac; \
	tool=$$($(INSTALL_CHECK)/root/usr/bin/digby $(INSTALL_CHECK)/use.digby get installed) || exit 1; \
	test "$$tool" = works || { echo "install-check: the installed tool read '$$tool'"; exit 1; }; \
	test -s $(INSTALL_CHECK)/root/usr/share/man/man1/digby.1 || exit 1
	$(MAKE) --no-print-directory uninstall DESTDIR=$(abspath $(INSTALL_CHECK))/root PREFIX=/usr
	@left=$$(find $(INSTALL_CHECK)/root -type f); \
	test -z "$$left" || { echo "install-check: uninstall left $$left"; exit 1; }
	@echo "==== install-check passed: installed, built with pkg-config's flags and run, uninstalled"

# make test installs too (seconds): test-all above has install-check.

# ---- the rest ---------------------------------------------------------------

demo: build/digby
	sh tools/demo.sh build/digby

bench:
	@if [ -f bench/Makefile ]; then \
	    $(MAKE) -C bench; \
	else \
	    echo "bench: the benchmark is not written yet (no bench/Makefile)"; \
	fi

clean:
	rm -rf build
