# tests/torture/faults.mk -- issue #5 items 1-4: power cut at every write,
# sync and truncate of W1000; I/O errors at every VFS call and at every system
# call of the POSIX VFS; the Nth allocation failing for every N; the model
# check's figure.  The sweeps are tests/torture/faults.c (see its header), on
# the fault VFS and model of tests/fault_vfs.h and tests/crash_model.h.
#
#   make torture-faults  the full figures (12-25 minutes on 2 shared cores, and
#                        about 10 more for log mode's rows): rows
#                        in $(TORTURE_OUT)/faults.txt.  Every configuration:
#                        page sizes 512, 4096, 65536; plain and AES-256-GCM;
#                        lz4 off and on.  Where a row says "every n." it swept
#                        every n-th call only (for time).
#   make slice-faults    (part of make test) a small sweep of each kind under
#                        ASan+UBSan, and three in log mode (about 25 s)
#
# Item 4: the model check (tests/model.c) runs in torture-scale at
# DIGBY_TEST_SCALE=20 (20 million operations); DIGBY_TORTURE_OUT makes it
# write its row to $(TORTURE_OUT)/model.txt.
#
# A violation prints what broke and the call it was injected at; rerun that
# one with the same arguments plus -f CALL -l CALL.

FAULTS_DIR   = build/torture/faults
FAULTS_TMP   = $(FAULTS_DIR)/tmp
FAULTS_LANES ?= 2
# the system call sweep wraps these under the POSIX VFS (ld --wrap)
FAULTS_WRAP  = -Wl,--wrap=pread,--wrap=pwrite,--wrap=fdatasync,--wrap=fsync,--wrap=ftruncate,--wrap=open,--wrap=mmap
FAULTS_LIBS  = $(filter-out -lcmocka,$(TEST_LIBS)) $(FAULTS_WRAP)
FAULTS_BIN   = $(FAULTS_DIR)/faults
FAULTS_ASAN  = $(FAULTS_DIR)/faults-asan
# the slice's build: ASan+UBSan without optimisation (compiles in seconds)
FAULTS_SLICE = $(FAULTS_DIR)/slice/faults-asan
# the fault VFS, model and workload it shares with tests/crash.c, and the
# other shared test headers (tests/*.h)
FAULTS_HDRS  = $(TEST_HDRS)

TORTURE_TARGETS += torture-faults
TEST_SLICES     += slice-faults
.PHONY: torture-faults slice-faults

torture-scale: export DIGBY_TORTURE_OUT = $(abspath $(TORTURE_OUT))

$(FAULTS_BIN): tests/torture/faults.c $(FAULTS_HDRS) digby.h | check-amalgamation
	@mkdir -p $(@D)
	$(CC) $(TEST_FLAGS) $< -o $@ $(FAULTS_LIBS)
$(FAULTS_ASAN): tests/torture/faults.c $(FAULTS_HDRS) digby.h | check-amalgamation
	@mkdir -p $(@D)
	$(CC) $(TEST_FLAGS) $(SANITIZE) $< -o $@ $(FAULTS_LIBS)
$(FAULTS_SLICE): tests/torture/faults.c $(FAULTS_HDRS) digby.h | check-amalgamation
	@mkdir -p $(@D)
	$(CC) $(TEST_FLAGS) -O0 $(SANITIZE) $< -o $@ $(FAULTS_LIBS)

# Log mode (-g, faults.c's header): the same sweeps with DIGBY_OPEN_LOG, a
# 64 KiB memtable, no-sync commits, digby_sync, digby_checkpoint and
# reopens with replay: log appends, checkpoints, escalations and replay
# under every fault.  Strides chosen for time (each row says which).
# The log_mode_defaults rows (-G): W1000 unchanged, opened in log mode with
# the library's defaults (what a default open does once log mode is the
# default).
define FAULTS_LOG_JOBS
$(FAULTS_BIN) crash -g -p 4096 -z -s 1 -t log_mode,W1000,4096_B,plain,lz4
$(FAULTS_BIN) crash -g -p 4096 -s 1 -t log_mode,W1000,4096_B,plain,no_lz4
$(FAULTS_BIN) crash -g -p 512 -e -z -s 2 -t log_mode,W1000,512_B,AES-256-GCM,lz4
$(FAULTS_BIN) crash -g -p 512 -s 2 -t log_mode,W1000,512_B,plain,no_lz4
$(FAULTS_BIN) crash -g -p 65536 -z -s 4 -t log_mode,W1000,65536_B,plain,lz4
$(FAULTS_BIN) crash -g -p 65536 -e -s 8 -t log_mode,W1000,65536_B,AES-256-GCM,no_lz4
$(FAULTS_BIN) io -g -p 4096 -z -s 1 -t log_mode,W1000,4096_B,plain,lz4
$(FAULTS_BIN) io -g -p 512 -e -z -s 4 -t log_mode,W1000,512_B,AES-256-GCM,lz4
$(FAULTS_BIN) io -g -p 65536 -s 10 -t log_mode,W1000,65536_B,plain,no_lz4
$(FAULTS_BIN) sys -g -p 4096 -z -s 1 -t log_mode,W1000,4096_B,plain,lz4
$(FAULTS_BIN) sys -g -p 512 -e -s 3 -t log_mode,W1000,512_B,AES-256-GCM,no_lz4
$(FAULTS_ASAN) oom -g -p 4096 -z -n 100 -s 1 -t log_mode,W1000,4096_B,plain,lz4,ASan+LSan
$(FAULTS_ASAN) oom -g -p 512 -e -n 40 -s 1 -t log_mode,W1000,512_B,AES-256-GCM,no_lz4,ASan+LSan
$(FAULTS_BIN) crash -G -p 4096 -z -s 2 -t log_mode_defaults,W1000,4096_B,plain,lz4
$(FAULTS_BIN) crash -G -p 512 -e -s 5 -t log_mode_defaults,W1000,512_B,AES-256-GCM,no_lz4
$(FAULTS_BIN) io -G -p 4096 -z -s 4 -t log_mode_defaults,W1000,4096_B,plain,lz4
$(FAULTS_BIN) sys -G -p 512 -e -s 4 -t log_mode_defaults,W1000,512_B,AES-256-GCM,no_lz4
endef

# One job per line: binary, mode, configuration, sweep.  -t labels the row.
define FAULTS_JOBS
$(FAULTS_BIN) crash -p 4096 -z -s 1 -t W1000,4096_B,plain,lz4
$(FAULTS_BIN) crash -p 4096 -s 1 -t W1000,4096_B,plain,no_lz4
$(FAULTS_BIN) crash -p 512 -z -s 3 -t W1000,512_B,plain,lz4
$(FAULTS_BIN) crash -p 512 -s 3 -t W1000,512_B,plain,no_lz4
$(FAULTS_BIN) crash -p 4096 -e -z -s 5 -t W1000,4096_B,AES-256-GCM,lz4
$(FAULTS_BIN) crash -p 4096 -e -s 5 -t W1000,4096_B,AES-256-GCM,no_lz4
$(FAULTS_BIN) crash -p 512 -e -z -s 6 -t W1000,512_B,AES-256-GCM,lz4
$(FAULTS_BIN) crash -p 512 -e -s 6 -t W1000,512_B,AES-256-GCM,no_lz4
$(FAULTS_BIN) crash -p 65536 -z -s 25 -t W1000,65536_B,plain,lz4
$(FAULTS_BIN) crash -p 65536 -s 25 -t W1000,65536_B,plain,no_lz4
$(FAULTS_BIN) crash -p 65536 -e -z -s 40 -t W1000,65536_B,AES-256-GCM,lz4
$(FAULTS_BIN) crash -p 65536 -e -s 40 -t W1000,65536_B,AES-256-GCM,no_lz4
$(FAULTS_BIN) io -p 4096 -z -s 2 -t W1000,4096_B,plain,lz4
$(FAULTS_BIN) io -p 512 -e -z -s 20 -t W1000,512_B,AES-256-GCM,lz4
$(FAULTS_BIN) io -p 65536 -s 60 -t W1000,65536_B,plain,no_lz4
$(FAULTS_BIN) sys -p 4096 -z -s 1 -t W1000,4096_B,plain,lz4
$(FAULTS_BIN) sys -p 512 -e -s 5 -t W1000,512_B,AES-256-GCM,no_lz4
$(FAULTS_ASAN) oom -p 4096 -z -n 100 -s 1 -t W1000,4096_B,plain,lz4,ASan+LSan
$(FAULTS_ASAN) oom -p 512 -e -n 40 -s 1 -t W1000,512_B,AES-256-GCM,no_lz4,ASan+LSan
$(FAULTS_ASAN) oom -p 65536 -n 30 -s 1 -t W1000,65536_B,plain,no_lz4,ASan+LSan
$(FAULTS_LOG_JOBS)
endef
export FAULTS_JOBS

define FAULTS_SLICE_JOBS
$(FAULTS_SLICE) crash -p 4096 -z -s 200 -t slice,W1000,4096_B,plain,lz4
$(FAULTS_SLICE) crash -p 512 -e -z -n 60 -s 25 -t slice,W60,512_B,AES-256-GCM,lz4
$(FAULTS_SLICE) io -p 4096 -z -n 40 -s 4 -t slice,W40,4096_B,plain,lz4
$(FAULTS_SLICE) sys -p 4096 -n 30 -s 2 -t slice,W30,4096_B,plain
$(FAULTS_SLICE) oom -p 4096 -z -n 8 -s 2 -t slice,W8,4096_B,plain,lz4
$(FAULTS_SLICE) crash -g -p 4096 -z -n 120 -s 7 -t slice,log_mode,W120,4096_B,plain,lz4
$(FAULTS_SLICE) io -g -p 512 -e -n 60 -s 5 -t slice,log_mode,W60,512_B,AES-256-GCM
$(FAULTS_SLICE) crash -G -p 512 -e -z -n 60 -s 9 -t slice,log_mode_defaults,W60,512_B,AES-256-GCM,lz4
endef
export FAULTS_SLICE_JOBS

torture-faults: $(FAULTS_BIN) $(FAULTS_ASAN)
	@mkdir -p $(TORTURE_OUT); rm -f $(TORTURE_OUT)/faults.txt; start=$$(date +%s); \
	echo "$$FAULTS_JOBS" | sh tests/torture/faults_run.sh $(FAULTS_LANES) $(FAULTS_TMP)/full \
	    $(TORTURE_OUT)/faults.txt; rc=$$?; \
	echo "==== torture-faults: $$(( $$(date +%s) - start )) s"; \
	cat $(TORTURE_OUT)/faults.txt; exit $$rc

slice-faults: $(FAULTS_SLICE)
	@start=$$(date +%s); \
	rm -rf $(FAULTS_TMP)/seen; mkdir -p $(FAULTS_TMP)/seen; \
	echo "$$FAULTS_SLICE_JOBS" | DIGBY_SEEN_ERRORS=$(abspath $(FAULTS_TMP))/seen/faults \
	    sh tests/torture/faults_run.sh $(FAULTS_LANES) $(FAULTS_TMP)/slice \
	    $(FAULTS_TMP)/slice.txt; rc=$$?; \
	cat $(FAULTS_TMP)/slice.txt; rm -f $(FAULTS_TMP)/slice.txt; \
	if [ $$rc -eq 0 ]; then \
	    echo "==== slice-faults: power cut, I/O error, system call and allocation failure sweeps under ASan+UBSan, no violation ($$(( $$(date +%s) - start )) s)"; \
	else echo "FAILED: slice-faults (logs: $(FAULTS_TMP)/slice)"; exit 1; fi
	$(call doc-errors,$(FAULTS_TMP)/seen/faults)
