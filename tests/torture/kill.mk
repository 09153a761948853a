# tests/torture/kill.mk -- issue #5 item 7: SIGKILL of a writer that
# acknowledges each commit over a pipe (tests/torture/kill.c).
#
#   make torture-kill   KILL_ROUNDS (default 1000) kills of a plain file with
#                       4096-byte pages, and as many of an encrypted one with
#                       512-byte pages; then both again in log mode (-g:
#                       DIGBY_OPEN_LOG, every 2nd commit no-sync, replay at
#                       each round's open)
#   make slice-kill     (make test) 20 kills (10 plain, 10 encrypted), ASan+UBSan
KILL_DIR     = build/torture/kill
KILL_ROUNDS ?= 1000
$(eval $(call torture-part,kill,$(KILL_DIR),tests/torture/figures.h))

torture-kill: $(KILL_DIR)/kill
	@mkdir -p $(TORTURE_OUT) $(KILL_DIR)/tmp; rm -f $(TORTURE_OUT)/kill.txt
	./$(KILL_DIR)/kill -n $(KILL_ROUNDS) -d $(KILL_DIR)/tmp -o $(TORTURE_OUT)/kill.txt
	./$(KILL_DIR)/kill -n $(KILL_ROUNDS) -d $(KILL_DIR)/tmp -p 512 -e -s 2 -o $(TORTURE_OUT)/kill.txt
	./$(KILL_DIR)/kill -g -n $(KILL_ROUNDS) -d $(KILL_DIR)/tmp -s 3 -o $(TORTURE_OUT)/kill.txt
	./$(KILL_DIR)/kill -g -n $(KILL_ROUNDS) -d $(KILL_DIR)/tmp -p 512 -e -s 4 -o $(TORTURE_OUT)/kill.txt

slice-kill: $(KILL_DIR)/kill-asan
	@mkdir -p $(KILL_DIR)/tmp
	@{ ./$(KILL_DIR)/kill-asan -n 10 -d $(KILL_DIR)/tmp && \
	   ./$(KILL_DIR)/kill-asan -n 10 -d $(KILL_DIR)/tmp -p 512 -e -s 2; } > $(KILL_DIR)/slice.log 2>&1 || \
	{ tail -30 $(KILL_DIR)/slice.log; echo "FAILED: slice-kill (log: $(KILL_DIR)/slice.log)"; exit 1; }
	@grep -h '^| kill' $(KILL_DIR)/slice.log | sed 's/^/==== slice-kill: /'
