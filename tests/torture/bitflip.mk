# tests/torture/bitflip.mk -- issue #5 item 6: bit flips and page damage.
#
#   make torture-bitflip  every bit of a 16 KiB and a 32 KiB file (512-byte
#                         pages), plain and encrypted, flipped one at a time;
#                         every page zeroed, replaced by each older version
#                         of itself, by every other page, and torn
#                         (tests/torture/bitflip.c).  -O2, no sanitizer.
#                         Then the same in log mode (-g: the file ends with
#                         commits in its write-ahead log).
#   make slice-bitflip    (make test) the 16 KiB files under ASan+UBSan:
#                         every 89th bit, every 7th other page, every other
#                         page trial; in log mode too
BITFLIP_DIR  = build/torture/bitflip
$(eval $(call torture-part,bitflip,$(BITFLIP_DIR),tests/torture/det_entropy.h tests/torture/figures.h,-O2))

torture-bitflip: $(BITFLIP_DIR)/bitflip
	@mkdir -p $(TORTURE_OUT); rm -f $(TORTURE_OUT)/bitflip.txt
	./$(BITFLIP_DIR)/bitflip -k 16 -n "16 KiB plain" -o $(TORTURE_OUT)/bitflip.txt
	./$(BITFLIP_DIR)/bitflip -k 32 -n "32 KiB plain" -o $(TORTURE_OUT)/bitflip.txt
	./$(BITFLIP_DIR)/bitflip -k 16 -e -n "16 KiB encrypted" -o $(TORTURE_OUT)/bitflip.txt
	./$(BITFLIP_DIR)/bitflip -k 32 -e -n "32 KiB encrypted" -o $(TORTURE_OUT)/bitflip.txt
	./$(BITFLIP_DIR)/bitflip -g -k 16 -n "16 KiB plain, log mode" -o $(TORTURE_OUT)/bitflip.txt
	./$(BITFLIP_DIR)/bitflip -g -k 32 -n "32 KiB plain, log mode" -o $(TORTURE_OUT)/bitflip.txt
	./$(BITFLIP_DIR)/bitflip -g -k 16 -e -n "16 KiB encrypted, log mode" -o $(TORTURE_OUT)/bitflip.txt
	./$(BITFLIP_DIR)/bitflip -g -k 32 -e -n "32 KiB encrypted, log mode" -o $(TORTURE_OUT)/bitflip.txt

slice-bitflip: $(BITFLIP_DIR)/bitflip-asan
	@UBSAN_OPTIONS=print_stacktrace=1 ./$(BITFLIP_DIR)/bitflip-asan -k 16 -s 89 -q 7 -n "16 KiB plain, slice" \
	    > $(BITFLIP_DIR)/slice.log 2>&1 && \
	UBSAN_OPTIONS=print_stacktrace=1 ./$(BITFLIP_DIR)/bitflip-asan -k 16 -s 89 -q 7 -e -n "16 KiB encrypted, slice" \
	    >> $(BITFLIP_DIR)/slice.log 2>&1 && \
	UBSAN_OPTIONS=print_stacktrace=1 ./$(BITFLIP_DIR)/bitflip-asan -g -k 16 -s 89 -q 7 -n "16 KiB plain, log mode, slice" \
	    >> $(BITFLIP_DIR)/slice.log 2>&1 && \
	UBSAN_OPTIONS=print_stacktrace=1 ./$(BITFLIP_DIR)/bitflip-asan -g -k 16 -s 89 -q 7 -e -n "16 KiB encrypted, log mode, slice" \
	    >> $(BITFLIP_DIR)/slice.log 2>&1 || \
	{ tail -30 $(BITFLIP_DIR)/slice.log; echo "FAILED: slice-bitflip (log: $(BITFLIP_DIR)/slice.log)"; exit 1; }
	@grep -h '^| bit flips\|^| page of another' $(BITFLIP_DIR)/slice.log | sed 's/^/==== slice-bitflip: /'
