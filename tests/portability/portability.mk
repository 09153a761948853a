# tests/portability/portability.mk -- the portability matrix: make portability
# and its port-* parts.  Included by the top-level Makefile (run make from the
# top of the tree), whose variables it uses: CC, GCC, CLANG, CXX, STD_C, POSIX,
# LIBS, SANITIZE, TESTS, TEST_FLAGS, TEST_LIBS, and the check-amalgamation
# target.  Beside it: smoke.c (the smoke test) and the fixtures.

# ---- portability ------------------------------------------------------------
#
#   make portability      every check below that this machine can run (.ci/run
#                         installs the tools; a missing one is an error naming
#                         its Debian package).  4 to 5.5 minutes on 2 cores.
#   make port-compile     digby.h with the implementation, -Werror, in every
#                         switch configuration (PORT_CONFIGS): gcc and clang
#                         as C99, g++ and clang++ as C++11, mingw-w64 (x86_64
#                         and i686, C99; x86_64 C++11), arm-none-eabi (bare);
#                         the native ones also with DIGBY_CRYPTO_OPENSSL
#   make port-configs     the smoke test natively under ASan+UBSan in the
#                         switch sets that change the code: DIGBY_NO_THREADS,
#                         DIGBY_NO_POSIX (memory VFS only; no default VFS),
#                         both, DIGBY_NO_LOG
#   make port-m32         tests/*.c and the smoke test built -m32 and run;
#                         both fixtures verified
#   make port-be          tests/*.c for s390x (big-endian, 64-bit, clang,
#                         cmocka from Debian's s390x packages) run under
#                         qemu-s390x at reduced scale; the smoke test and the
#                         fixtures on s390x and on powerpc (big-endian,
#                         32-bit, static)
#   make port-win         the smoke test, the fixtures and winshare.c (handles
#                         and processes sharing a file through the lock
#                         file) for Windows (mingw-w64 x86_64) under wine;
#                         i686 built only
#                         (Debian's wine32 does not install beside wine64 here)
#   make port-arm         examples/firmware for a Cortex-M4 (newlib-nano), run
#                         under qemu-system-arm with semihosting; code sizes
#   make port-fixtures    rewrite tests/portability/fixture_le.digby (this
#                         machine) and fixture_be.digby (s390x); not part of
#                         portability: the committed files are the fixtures

PORT       = build/port
PORT_INC   = $(PORT)/include
PORT_TMP   = $(PORT)/tmp
FIXTURES   = tests/portability/fixture_le.digby tests/portability/fixture_be.digby
SMOKE_SRC  = tests/portability/smoke.c
PORT_SCALE_M32 ?= 0.5
PORT_SCALE_BE  ?= 0.1
PORT_CRASH_STEP_BE ?= 5
# Tests that need more than PORT_SCALE_BE, as test=scale: crypto's
# test_nonces_unique wanted over 1000 page writes at any scale (968 at 0.1);
# its threshold scales now, and 0.2 costs little.
PORT_SCALE_BE_TESTS ?= crypto=0.2

# lz4 and mbedTLS: linked where the target has the libraries (the host,
# i386 and s390x from Debian's multiarch packages); switched off where it
# has not (powerpc, Windows, the Cortex-M4 firmware).
PORT_LIBS = -llz4 -lmbedcrypto $(LIBS)
PORT_OFF  = -DDIGBY_NO_LZ4 -DDIGBY_NO_CRYPTO

# Switch configurations: name and flags.
PORT_CONFIGS = full nolz4 nocrypto nolz4-nocrypto nothreads noposix bare nolog
PORT_FLAGS_full           =
PORT_FLAGS_nolz4          = -DDIGBY_NO_LZ4
PORT_FLAGS_nocrypto       = -DDIGBY_NO_CRYPTO
PORT_FLAGS_nolz4-nocrypto = -DDIGBY_NO_LZ4 -DDIGBY_NO_CRYPTO
PORT_FLAGS_nothreads      = -DDIGBY_NO_THREADS
PORT_FLAGS_noposix        = -DDIGBY_NO_POSIX
PORT_FLAGS_bare           = -DDIGBY_NO_POSIX -DDIGBY_NO_THREADS -DDIGBY_NO_LZ4 -DDIGBY_NO_CRYPTO
PORT_FLAGS_nolog          = -DDIGBY_NO_LOG

# Compilers of the matrix: command and compile-check source.
MINGW64    = x86_64-w64-mingw32-gcc
MINGW64XX  = x86_64-w64-mingw32-g++
MINGW32    = i686-w64-mingw32-gcc
CLANGXX   ?= clang++
ARM_CC     = arm-none-eabi-gcc
ARM_FLAGS  = -mcpu=cortex-m4 -mthumb -Os -ffunction-sections -fdata-sections -DNDEBUG
PORT_CC_gcc       = $(GCC) $(STD_C) -Werror -O2 $(POSIX) -I.
PORT_CC_gccstatic = $(GCC) $(STD_C) -Werror -O2 $(POSIX) -I.
PORT_CC_clang     = $(CLANG) $(STD_C) -Werror -O2 $(POSIX) -I.
PORT_CC_gxx       = $(CXX) -std=c++11 -Wall -Wextra -Werror -O2 -I.
PORT_CC_clangxx   = $(CLANGXX) -std=c++11 -Wall -Wextra -Werror -O2 -I.
PORT_CC_mingw64   = $(MINGW64) $(STD_C) -Werror -O1 -I. -I$(PORT_INC)
PORT_CC_mingw32   = $(MINGW32) $(STD_C) -Werror -O1 -I. -I$(PORT_INC)
PORT_CC_mingw64xx = $(MINGW64XX) -std=c++11 -Wall -Wextra -Werror -O1 -I. -I$(PORT_INC)
PORT_SRC_gcc       = tests/compile/c99.c
PORT_SRC_gccstatic = tests/compile/static.c
PORT_SRC_clang     = tests/compile/c99.c
PORT_SRC_gxx       = tests/compile/cxx11.cpp
PORT_SRC_clangxx   = tests/compile/cxx11.cpp
PORT_SRC_mingw64   = tests/compile/c99.c
PORT_SRC_mingw32   = tests/compile/c99.c
PORT_SRC_mingw64xx = tests/compile/cxx11.cpp
PORT_COMPILERS = gcc gccstatic clang gxx clangxx mingw64 mingw32 mingw64xx

# The mingw-w64, arm-none-eabi and powerpc (--sysroot) builds take only
# xxhash.h, lz4.h and mbedTLS's headers (mbedtls/ and psa/, which
# mbedtls/config.h includes) from the host's headers, through this
# directory: they are the same on every architecture.  The compile-only
# checks see them all; the programs built with them switch lz4 and mbedTLS
# off (PORT_OFF), having no library to link.  clang --target=s390x-linux-gnu
# searches /usr/include after the cross libc's headers (as -idirafter
# would), so it finds them and cmocka.h there.
PORT_HDRS = $(PORT_INC)/xxhash.h $(PORT_INC)/lz4.h $(PORT_INC)/mbedtls/version.h
$(PORT_INC)/%.h: /usr/include/%.h
	@mkdir -p $(@D)
	cp $< $@
$(PORT_INC)/mbedtls/version.h: /usr/include/mbedtls/version.h
	@mkdir -p $(PORT_INC)
	rm -rf $(PORT_INC)/mbedtls $(PORT_INC)/psa
	cp -R /usr/include/mbedtls $(PORT_INC)/mbedtls
	if [ -d /usr/include/psa ]; then cp -R /usr/include/psa $(PORT_INC)/psa; fi
	touch $@

# (PORT_HDRS stands above this rule on purpose: $(call) expands it where the
# rule is read.  Defined below it, it was empty there, and on a fresh build/
# the mingw-w64 matrix compiles ran before the headers had been copied.)
# $(call port-compile-rule,compiler,config)
define port-compile-rule
$(PORT)/compile/$(1)-$(2).o: $(PORT_SRC_$(1)) digby.h | check-amalgamation $(PORT_HDRS)
	@mkdir -p $$(@D)
	$$(PORT_CC_$(1)) $$(PORT_FLAGS_$(2)) -c $$< -o $$@
endef
$(foreach c,$(PORT_COMPILERS),$(foreach g,$(PORT_CONFIGS),$(eval $(call port-compile-rule,$(c),$(g)))))
PORT_ARM_OBJS     = $(PORT)/arm/digby-smallest.o $(PORT)/arm/digby-full.o \
                    $(PORT)/arm/digby-smallest-nolog.o $(PORT)/arm/digby-full-nolog.o
PORT_COMPILE_OBJS = $(foreach c,$(PORT_COMPILERS),$(PORT_CONFIGS:%=$(PORT)/compile/$(c)-%.o)) \
                    $(PORT_ARM_OBJS)
# The OpenSSL backend (DIGBY_CRYPTO_OPENSSL) with the native compilers
# only: the host's libssl-dev headers; the cross targets have no OpenSSL.
PORT_NATIVE        = gcc gccstatic clang gxx clangxx
PORT_FLAGS_openssl = -DDIGBY_CRYPTO_OPENSSL
$(foreach c,$(PORT_NATIVE),$(eval $(call port-compile-rule,$(c),openssl)))
PORT_COMPILE_OBJS += $(PORT_NATIVE:%=$(PORT)/compile/%-openssl.o)

# -m32 needs /usr/include/asm, which Debian's gcc-multilib provides; this
# directory stands in for it where gcc-multilib is not installed (it
# conflicts with Debian's gcc cross compilers).
$(PORT)/m32-include/asm:
	@mkdir -p $(@D)
	ln -sfn /usr/include/x86_64-linux-gnu/asm $@

# $(call port-need,command,debian package)
port-need = @command -v $(1) >/dev/null 2>&1 || { \
    echo "portability: $(1) not found (Debian: apt-get install $(2); .ci/run installs it)"; \
    exit 1; }

# $(call port-run,binaries,runner,scale,extra environment,test=scale ...):
# run each test binary (under runner, e.g. qemu), at scale or the scale given
# for its name, summarise, fail if any failed (the Makefile's test-loop).
# Files go to $(PORT_TMP)/<the binary's directory name>.
define port-run
@$(call test-loop,$(1),$(call port-test-setup,$(3),$(5)),env DIGBY_TEST_DIR=$$d DIGBY_TEST_SCALE=$$s $(4) $(2),$(call port-summary,$(2),$(3),$(5)))
endef
port-summary = $(strip $(1)) DIGBY_TEST_SCALE=$(2)$(if $(strip $(3)), except $(strip $(3)))
# $(call port-test-setup,scale,test=scale ...): port-run's setup of test $$t:
# its scale s, and its directory d, emptied.
define port-test-setup
s=$(1); for o in $(2); do \
	        if [ "$${o%%=*}" = "$$(basename $$t)" ]; then s=$${o#*=}; fi; \
	    done; \
	    echo "==== $$t (DIGBY_TEST_SCALE=$$s)"; d=$(PORT_TMP)/$$(basename $$(dirname $$t)); \
	    rm -rf $$d; mkdir -p $$d;
endef

# $(call port-smoke,binary,runner): the smoke test, then both fixtures, copied
# beside its files: a read-only open where the VFS shares files creates
# FILE-lock (48_lockfile.c), which belongs in build/, not in the source tree.
port-smoke-dir = $(PORT_TMP)/$(notdir $(patsubst %/,%,$(dir $(1))))
define port-smoke
@rm -rf $(call port-smoke-dir,$(1)); mkdir -p $(call port-smoke-dir,$(1))
$(2) ./$(1) $(call port-smoke-dir,$(1))
@cp $(FIXTURES) $(call port-smoke-dir,$(1))/
$(2) ./$(1) --verify-fixture $(addprefix $(call port-smoke-dir,$(1))/,$(notdir $(FIXTURES)))
endef

.PHONY: portability port-compile port-configs port-m32 port-be port-win port-arm port-fixtures

PORT_JOBS ?= $(shell nproc 2>/dev/null || echo 2)

# The parts run in parallel (-j$(PORT_JOBS)), each part's output in one block.
portability: check-amalgamation
	@start=$$(date +%s); \
	$(MAKE) --no-print-directory -j$(PORT_JOBS) --output-sync=target \
	    port-compile port-configs port-m32 port-be port-win port-arm && \
	echo "==== portability passed in $$(( $$(date +%s) - start )) s: C99/C++11 matrix" \
	     "(gcc, clang, g++, clang++, mingw-w64, arm-none-eabi); smoke in the no-threads" \
	     "and no-OS switch sets (ASan+UBSan); tests on i386 (-m32)" \
	     "and s390x (qemu); smoke + fixtures on i386, s390x, powerpc, Windows x86_64 (wine)," \
	     "Cortex-M4 (qemu-system-arm)"

port-compile: $(PORT_COMPILE_OBJS)
	@echo "==== port-compile: $(words $(PORT_COMPILE_OBJS)) compiles passed" \
	      "($(PORT_COMPILERS) arm-none-eabi) x ($(PORT_CONFIGS)), ($(PORT_NATIVE)) x openssl"

$(PORT_COMPILE_OBJS): | port-tools-compile
.PHONY: port-tools-compile
port-tools-compile:
	$(call port-need,$(CLANGXX),clang)
	$(call port-need,$(MINGW64),mingw-w64)
	$(call port-need,$(MINGW32),mingw-w64)
	$(call port-need,$(MINGW64XX),mingw-w64)
	$(call port-need,$(ARM_CC),gcc-arm-none-eabi libnewlib-arm-none-eabi)

# Library code size on a Cortex-M4: every public function kept (an image
# links only what it calls).  "full" has threads and the POSIX VFS, which
# newlib declares only on request: it compiles, and would link against an
# RTOS that provides pthreads and POSIX files.  Each also without log mode
# (-nolog: DIGBY_NO_LOG).
$(PORT)/arm/digby-smallest.o $(PORT)/arm/digby-smallest-nolog.o: tests/compile/c99.c digby.h \
                                                                 | check-amalgamation $(PORT_HDRS)
	@mkdir -p $(@D)
	$(ARM_CC) $(ARM_FLAGS) $(STD_C) -Werror -I. -I$(PORT_INC) $(PORT_FLAGS_bare) \
	    $(if $(findstring -nolog,$@),$(PORT_FLAGS_nolog)) -c $< -o $@
$(PORT)/arm/digby-full.o $(PORT)/arm/digby-full-nolog.o: tests/compile/c99.c digby.h \
                                                         | check-amalgamation $(PORT_HDRS)
	@mkdir -p $(@D)
	$(ARM_CC) $(ARM_FLAGS) $(STD_C) -Werror -I. -I$(PORT_INC) \
	    -D_POSIX_THREADS -D_POSIX_TIMERS $(POSIX) \
	    $(if $(findstring -nolog,$@),$(PORT_FLAGS_nolog)) -c $< -o $@

# -- switch sets that change the code, natively --
PORT_RUN_CONFIGS = nothreads noposix bare nolog
$(PORT)/configs/smoke-%: $(SMOKE_SRC) digby.h | check-amalgamation
	@mkdir -p $(@D)
	$(CC) $(STD_C) -Werror -O1 -g $(SANITIZE) -I. $(PORT_FLAGS_$*) $< -o $@ $(PORT_LIBS)

port-configs: $(PORT_RUN_CONFIGS:%=$(PORT)/configs/smoke-%)
	@for c in $(PORT_RUN_CONFIGS); do \
	    d=$(PORT_TMP)/configs-$$c; rm -rf $$d; mkdir -p $$d; \
	    echo "==== smoke ($$c)"; \
	    UBSAN_OPTIONS=print_stacktrace=1 ./$(PORT)/configs/smoke-$$c $$d || exit 1; \
	    cp $(FIXTURES) $$d/ || exit 1; \
	    ./$(PORT)/configs/smoke-$$c --verify-fixture $(addprefix $$d/,$(notdir $(FIXTURES))) || exit 1; \
	done

# -- 32-bit (i386) --
M32_BINS = $(TESTS:%=$(PORT)/m32/%)
$(PORT)/m32/%: tests/%.c digby.h | check-amalgamation $(PORT)/m32-include/asm
	@mkdir -p $(@D)
	$(GCC) -m32 -idirafter $(PORT)/m32-include $(TEST_FLAGS) $< -o $@ $(TEST_LIBS)
$(PORT)/m32-smoke/smoke: $(SMOKE_SRC) digby.h | check-amalgamation $(PORT)/m32-include/asm
	@mkdir -p $(@D)
	$(GCC) -m32 -idirafter $(PORT)/m32-include $(STD_C) -Werror -O1 -g -I. $< -o $@ $(PORT_LIBS)

# $(call port-same,binary,runner,name): the fixture written by this build
# has the same bytes as one written by this machine's native build.
define port-same
@mkdir -p $(PORT_TMP)
./$(PORT)/smoke-native --write-fixture $(PORT_TMP)/native-$(3).digby >/dev/null
$(2) ./$(1) --write-fixture $(PORT_TMP)/$(3).digby >/dev/null
./$(PORT)/smoke-native --same-bytes $(PORT_TMP)/native-$(3).digby $(PORT_TMP)/$(3).digby
endef

port-m32: $(M32_BINS) $(PORT)/m32-smoke/smoke $(PORT)/smoke-native
	$(call port-run,$(M32_BINS),,$(PORT_SCALE_M32))
	$(call port-smoke,$(PORT)/m32-smoke/smoke,)
	$(call port-same,$(PORT)/m32-smoke/smoke,,m32)

# -- big-endian: s390x (64-bit) and powerpc (32-bit) --
S390X_CC   = $(CLANG) --target=s390x-linux-gnu
PPC_CC     = $(CLANG) --target=powerpc-linux-gnu --sysroot=/usr/powerpc-linux-gnu
S390X_LIBS = /usr/lib/s390x-linux-gnu
S390X_BINS = $(TESTS:%=$(PORT)/s390x/%)
$(S390X_BINS): | port-tools-be
$(PORT)/s390x/%: tests/%.c digby.h | check-amalgamation
	@mkdir -p $(@D)
	$(S390X_CC) $(TEST_FLAGS) $< -o $@ -L$(S390X_LIBS) $(TEST_LIBS)
# multiproc runs the tool on a live file: one of its own architecture (a
# lock file is shared only by builds of one layout and byte order)
$(PORT)/s390x/digby: tools/digby.c digby.h | check-amalgamation port-tools-be
	@mkdir -p $(@D)
	$(S390X_CC) $(STD_C) -O1 -g -D_POSIX_C_SOURCE=200809L -I. $< -o $@ -L$(S390X_LIBS) $(PORT_LIBS)
$(PORT)/s390x-smoke/smoke: $(SMOKE_SRC) digby.h | check-amalgamation port-tools-be
	@mkdir -p $(@D)
	$(S390X_CC) -static $(STD_C) -Werror -O1 -g -I. $< -o $@ -L$(S390X_LIBS) $(PORT_LIBS)
$(PORT)/ppc-smoke/smoke: $(SMOKE_SRC) digby.h | check-amalgamation port-tools-be $(PORT_HDRS)
	@mkdir -p $(@D)
	$(PPC_CC) -static $(STD_C) -Werror -O1 -g -I. -I$(PORT_INC) $(PORT_OFF) $< -o $@ $(LIBS) \
	    -Wl,--no-warn-rwx-segments

.PHONY: port-tools-be
port-tools-be:
	$(call port-need,qemu-s390x,qemu-user)
	$(call port-need,qemu-ppc,qemu-user)
	$(call port-need,s390x-linux-gnu-ld,binutils-s390x-linux-gnu)
	$(call port-need,powerpc-linux-gnu-ld,binutils-powerpc-linux-gnu)
	@test -f /usr/s390x-linux-gnu/include/stdio.h || { echo "portability: no s390x libc (libc6-dev-s390x-cross)"; exit 1; }
	@test -f /usr/powerpc-linux-gnu/include/stdio.h || { echo "portability: no powerpc libc (libc6-dev-powerpc-cross)"; exit 1; }
	@test -f $(S390X_LIBS)/libcmocka.so || { echo "portability: no s390x cmocka (dpkg --add-architecture s390x; libcmocka-dev:s390x)"; exit 1; }
	@test -f $(S390X_LIBS)/liblz4.a || { echo "portability: no s390x lz4 (liblz4-dev:s390x)"; exit 1; }
	@test -f $(S390X_LIBS)/libmbedcrypto.a || { echo "portability: no s390x mbedTLS (libmbedtls-dev:s390x)"; exit 1; }

port-be: $(S390X_BINS) $(PORT)/s390x/digby $(PORT)/s390x-smoke/smoke $(PORT)/ppc-smoke/smoke $(PORT)/smoke-native
	$(call port-run,$(S390X_BINS),qemu-s390x,$(PORT_SCALE_BE),DIGBY_TEST_CRASH_STEP=$(PORT_CRASH_STEP_BE) DIGBY_TEST_CLI="qemu-s390x $(PORT)/s390x/digby",$(PORT_SCALE_BE_TESTS))
	$(call port-smoke,$(PORT)/s390x-smoke/smoke,qemu-s390x)
	$(call port-same,$(PORT)/s390x-smoke/smoke,qemu-s390x,s390x)
	$(call port-smoke,$(PORT)/ppc-smoke/smoke,qemu-ppc)
	$(call port-same,$(PORT)/ppc-smoke/smoke,qemu-ppc,ppc)
	./$(PORT)/smoke-native --same-bytes $(FIXTURES)

# -- Windows --
WINE_ENV = WINEPREFIX=$(abspath $(PORT)/wine) WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
$(PORT)/win64/smoke.exe: $(SMOKE_SRC) digby.h | check-amalgamation port-tools-compile $(PORT_HDRS)
	@mkdir -p $(@D)
	$(MINGW64) $(STD_C) -Werror -O1 -g -I. -I$(PORT_INC) $(PORT_OFF) $< -o $@
$(PORT)/win32/smoke.exe: $(SMOKE_SRC) digby.h | check-amalgamation port-tools-compile $(PORT_HDRS)
	@mkdir -p $(@D)
	$(MINGW32) $(STD_C) -Werror -O1 -g -I. -I$(PORT_INC) $(PORT_OFF) $< -o $@

# winshare.c: handles and processes sharing a file through the Win32 VFS's
# lock file (the Windows counterpart of tests/multiproc.c)
WINSHARE_SRC = tests/portability/winshare.c
$(PORT)/win64/winshare.exe: $(WINSHARE_SRC) digby.h | check-amalgamation port-tools-compile $(PORT_HDRS)
	@mkdir -p $(@D)
	$(MINGW64) $(STD_C) -Werror -O1 -g -I. -I$(PORT_INC) $(PORT_OFF) $< -o $@
$(PORT)/win32/winshare.exe: $(WINSHARE_SRC) digby.h | check-amalgamation port-tools-compile $(PORT_HDRS)
	@mkdir -p $(@D)
	$(MINGW32) $(STD_C) -Werror -O1 -g -I. -I$(PORT_INC) $(PORT_OFF) $< -o $@

port-win: $(PORT)/win64/smoke.exe $(PORT)/win32/smoke.exe $(PORT)/smoke-native \
          $(PORT)/win64/winshare.exe $(PORT)/win32/winshare.exe
	$(call port-need,wine,wine wine64)
	$(call port-smoke,$(PORT)/win64/smoke.exe,$(WINE_ENV) wine)
	$(call port-same,$(PORT)/win64/smoke.exe,$(WINE_ENV) wine,win64)
	@rm -rf $(PORT_TMP)/winshare; mkdir -p $(PORT_TMP)/winshare
	$(WINE_ENV) wine ./$(PORT)/win64/winshare.exe $(PORT_TMP)/winshare
	@echo "==== port-win: x86_64 smoke test, fixtures and winshare (handles and" \
	      "processes sharing a file) passed under wine; $(PORT)/win32/smoke.exe and" \
	      "winshare.exe (i686) built, not run"

# -- bare-metal ARM --
port-arm: $(PORT_ARM_OBJS)
	$(call port-need,qemu-system-arm,qemu-system-arm)
	$(MAKE) --no-print-directory -C examples/firmware OUT=$(abspath $(PORT)/firmware) \
	    XXHASH_H=/usr/include/xxhash.h all run
	@echo "==== port-arm: .text at -Os for Cortex-M4 (every public function kept):"
	@arm-none-eabi-size $(PORT_ARM_OBJS)

# -- fixtures (by hand) --
port-fixtures: $(PORT)/smoke-native $(PORT)/s390x-smoke/smoke
	./$(PORT)/smoke-native --write-fixture tests/portability/fixture_le.digby
	qemu-s390x ./$(PORT)/s390x-smoke/smoke --write-fixture tests/portability/fixture_be.digby
$(PORT)/smoke-native: $(SMOKE_SRC) digby.h | check-amalgamation
	@mkdir -p $(@D)
	$(CC) $(STD_C) -Werror -O1 -g -I. $< -o $@ $(PORT_LIBS)
