# tests/torture/tsan.mk -- issue #5 item 9: tests/threads.c under
# ThreadSanitizer (clang; halt_on_error: any report fails the run).
#
#   make torture-tsan   TSAN_ROUNDS (default 10) runs of threads.c under
#                       clang's TSan, and one under gcc's if gcc has it; then
#                       TSAN_ROUNDS runs of tests/torture/tsan_log.c (log mode)
#   make slice-tsan     (make test) one run, clang, DIGBY_TEST_SCALE=0.2
#                       (tests/threads.c: fewer generations and commits)
TSAN_DIR      = build/torture/tsan
TSAN_ROUNDS  ?= 10
TSAN_FLAGS    = $(filter-out -O1,$(TEST_FLAGS)) -O1 -fsanitize=thread
# TSan's runtime needs a memory layout that some kernels' address space
# randomisation breaks ("unexpected memory mapping"); run without it where
# setarch may switch it off (util-linux), as is.
TSAN_SETARCH := $(shell setarch $$(uname -m) -R true >/dev/null 2>&1 && echo "setarch $$(uname -m) -R")
TSAN_ENV      = TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" $(TSAN_SETARCH) env
TORTURE_TARGETS += torture-tsan
TEST_SLICES     += slice-tsan
.PHONY: torture-tsan slice-tsan

$(TSAN_DIR)/threads-clang: tests/threads.c $(TEST_HDRS) digby.h | check-amalgamation
	@mkdir -p $(@D)
	$(CLANG) $(TSAN_FLAGS) $< -o $@ $(TEST_LIBS)
# the slice's build: -O0 compiles in a second and runs about as fast here
$(TSAN_DIR)/threads-clang-O0: tests/threads.c $(TEST_HDRS) digby.h | check-amalgamation
	@mkdir -p $(@D)
	$(CLANG) $(TSAN_FLAGS) -O0 $< -o $@ $(TEST_LIBS)
# log mode: tests/torture/tsan_log.c (threads.c with DIGBY_LOG_DEFAULT and
# its log test: committing threads, checkpoints, readers across them)
$(TSAN_DIR)/tsan_log-clang: tests/torture/tsan_log.c tests/threads.c $(TEST_HDRS) digby.h | check-amalgamation
	@mkdir -p $(@D)
	$(CLANG) $(TSAN_FLAGS) $< -o $@ $(TEST_LIBS)
$(TSAN_DIR)/threads-gcc: tests/threads.c $(TEST_HDRS) digby.h | check-amalgamation
	@mkdir -p $(@D)
	$(GCC) $(TSAN_FLAGS) $< -o $@ $(TEST_LIBS)

torture-tsan: $(TSAN_DIR)/threads-clang $(TSAN_DIR)/tsan_log-clang
	@mkdir -p $(TORTURE_OUT) $(TSAN_DIR)/tmp; rm -f $(TORTURE_OUT)/tsan.txt
	@runs=0; fail=0; \
	for i in $$(seq $(TSAN_ROUNDS)); do \
	    rm -rf $(TSAN_DIR)/tmp/*; runs=$$((runs + 1)); \
	    $(TSAN_ENV) DIGBY_TEST_DIR=$(TSAN_DIR)/tmp ./$(TSAN_DIR)/threads-clang \
	        > $(TSAN_DIR)/run.log 2>&1 || { fail=$$((fail + 1)); tail -60 $(TSAN_DIR)/run.log; }; \
	done; \
	gccrun=""; \
	if $(MAKE) --no-print-directory $(TSAN_DIR)/threads-gcc >/dev/null 2>&1; then \
	    rm -rf $(TSAN_DIR)/tmp/*; runs=$$((runs + 1)); gccrun=" + 1 gcc"; \
	    $(TSAN_ENV) DIGBY_TEST_DIR=$(TSAN_DIR)/tmp ./$(TSAN_DIR)/threads-gcc \
	        > $(TSAN_DIR)/run-gcc.log 2>&1 || { fail=$$((fail + 1)); tail -60 $(TSAN_DIR)/run-gcc.log; }; \
	fi; \
	row="| ThreadSanitizer, tests/threads.c (4 tests) | $$runs runs ($(TSAN_ROUNDS) clang$$gccrun) | $$fail with reports or failures |"; \
	echo "$$row"; echo "$$row" >> $(TORTURE_OUT)/tsan.txt; \
	lfail=0; for i in $$(seq $(TSAN_ROUNDS)); do \
	    rm -rf $(TSAN_DIR)/tmp/*; \
	    $(TSAN_ENV) DIGBY_TEST_DIR=$(TSAN_DIR)/tmp ./$(TSAN_DIR)/tsan_log-clang \
	        > $(TSAN_DIR)/run-log.log 2>&1 || { lfail=$$((lfail + 1)); tail -60 $(TSAN_DIR)/run-log.log; }; \
	done; \
	row="| ThreadSanitizer, log mode: tests/torture/tsan_log.c (threads.c's 4 tests in log mode + 3 committing threads, no-sync and durable, checkpoints and syncs, 2 readers holding snapshots across them; 64 KiB memtable) | $(TSAN_ROUNDS) runs (clang) | $$lfail with reports or failures |"; \
	echo "$$row"; echo "$$row" >> $(TORTURE_OUT)/tsan.txt; test $$fail -eq 0 && test $$lfail -eq 0

slice-tsan: $(TSAN_DIR)/threads-clang-O0
	@mkdir -p $(TSAN_DIR)/tmp; rm -rf $(TSAN_DIR)/tmp/*
	@$(TSAN_ENV) DIGBY_TEST_DIR=$(TSAN_DIR)/tmp DIGBY_TEST_SCALE=0.2 ./$(TSAN_DIR)/threads-clang-O0 > $(TSAN_DIR)/slice.log 2>&1 || \
	{ tail -60 $(TSAN_DIR)/slice.log; echo "FAILED: slice-tsan (log: $(TSAN_DIR)/slice.log)"; exit 1; }
	@echo "==== slice-tsan: tests/threads.c under ThreadSanitizer (clang): $$(grep -c '^\[       OK \]' $(TSAN_DIR)/slice.log) tests passed, no report"
