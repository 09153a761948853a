# tests/torture/diskfull.mk -- issue #5 item 8: a real full file system
# (a 4 MiB tmpfs: tests/torture/diskfull.sh mounts it in a user+mount
# namespace, else as root, else prints SKIPPED; tests/torture/diskfull.c).
#
#   make torture-diskfull  DISKFULL_ROUNDS (default 30) fill/reopen/free rounds
#   make slice-diskfull    (make test) 3 rounds (page sizes 512, 4096, 65536),
#                          ASan+UBSan
DISKFULL_DIR     = build/torture/diskfull
DISKFULL_ROUNDS ?= 30
$(eval $(call torture-part,diskfull,$(DISKFULL_DIR)))

torture-diskfull: $(DISKFULL_DIR)/diskfull
	@mkdir -p $(TORTURE_OUT); rm -f $(TORTURE_OUT)/diskfull.txt
	sh tests/torture/diskfull.sh $(DISKFULL_DIR)/diskfull $(DISKFULL_DIR)/mnt \
	    $(TORTURE_OUT)/diskfull.txt -r $(DISKFULL_ROUNDS)

slice-diskfull: $(DISKFULL_DIR)/diskfull-asan
	@sh tests/torture/diskfull.sh $(DISKFULL_DIR)/diskfull-asan $(DISKFULL_DIR)/mnt \
	    $(DISKFULL_DIR)/slice-fig.txt -r 3 > $(DISKFULL_DIR)/slice.log 2>&1 || \
	{ tail -30 $(DISKFULL_DIR)/slice.log; echo "FAILED: slice-diskfull (log: $(DISKFULL_DIR)/slice.log)"; exit 1; }
	@grep -h '^| disk full\|SKIPPED' $(DISKFULL_DIR)/slice.log | sed 's/^/==== slice-diskfull: /'
