# tests/torture/fuzz.mk -- issue #5 item 5: libFuzzer + ASan + UBSan.
#
#   fuzz_open  an arbitrary file image (plain, or encrypted with a fixed key)
#              opened, scanned both ways, got, checked, written
#              (-DDIGBY_FUZZ_NO_CHECKSUM: plain pages are not checksummed,
#              so mutations reach the page parsers)
#   fuzz_ops   an operation sequence against a reference model
#   fuzz_tuple digby_tuple_unpack() on arbitrary bytes: never a crash, exact
#              sizes, a decoded tuple packs back to the same bytes
#   fuzz_record a record table's stored bytes (schema entry, rows, index
#              entries) read through the record layer: documented codes,
#              rows that fit the schema, and a clean digby_check means clean
#              reads and writes that keep it clean
#   fuzz_lockfile the lock file's map (FORMAT.md section 14: header fields,
#              reader slots, raw bytes) written with fuzzer bytes between
#              the commits, reads, scans, opens and closes of two handles
#              sharing a real file: documented codes, only committed values
#              read, and after all handles close every acknowledged commit
#              is in the file and digby_check passes
#
#   make torture-fuzz    each target for FUZZ_SECONDS (default 300) from the
#                        committed seeds plus what earlier runs found
#                        (build/torture/fuzz/<target>/corpus); figure rows:
#                        executions, CPU time, crashes
#   make slice-fuzz      (part of make test) every committed corpus input
#                        through its target, once
#   make fuzz-corpus     rewrite the seed files in tests/torture/corpus/ (by
#                        hand, after a format change); tuple/: every 97th
#                        line of tests/tuple_vectors/vectors.txt, as bytes;
#                        record/: record tables made with the record API
#                        (fuzz_record.c built with -DFUZZ_MKSEEDS)
#
# A crash leaves its input in build/torture/fuzz/<target>/artifacts/; replay
# it with the target binary and the file as its argument, then add it to
# tests/torture/corpus/<target>/ beside the fix.

FUZZ_SECONDS ?= 300
FUZZ_DIR      = build/torture/fuzz
FUZZ_FLAGS    = $(TEST_FLAGS) -fsanitize=fuzzer,address,undefined -fno-omit-frame-pointer \
                -fno-sanitize-recover=all
# the slice's build: no optimisation, so it compiles in about a second
FUZZ_SLICE_FLAGS = $(FUZZ_FLAGS) -O0
FUZZ_LIBS     = $(filter-out -lcmocka,$(TEST_LIBS))
# inputs: file images up to 32 KiB (+ the mode byte); op sequences up to
# 4 KiB (a few thousand operations, each up to a full scan or a reopen)
FUZZ_ARGS     = -timeout=10 -rss_limit_mb=2048
FUZZ_OPEN_ARGS = $(FUZZ_ARGS) -max_len=33000
FUZZ_OPS_ARGS  = $(FUZZ_ARGS) -max_len=4096
FUZZ_TUPLE_ARGS = $(FUZZ_ARGS) -max_len=4096
FUZZ_RECORD_ARGS = $(FUZZ_ARGS) -max_len=4096
# lock-file programs: up to 160 operations; long inputs from the start
FUZZ_LOCKFILE_ARGS = $(FUZZ_ARGS) -max_len=600 -len_control=0
FUZZ_CORPUS   = tests/torture/corpus

TORTURE_TARGETS += torture-fuzz
TEST_SLICES     += slice-fuzz
.PHONY: torture-fuzz slice-fuzz fuzz-corpus

$(FUZZ_DIR)/fuzz_open: tests/torture/fuzz_open.c tests/torture/det_entropy.h tests/torture/fuzz_common.h digby.h | check-amalgamation
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_FLAGS) -DDIGBY_FUZZ_NO_CHECKSUM $< -o $@ $(FUZZ_LIBS)
$(FUZZ_DIR)/fuzz_ops: tests/torture/fuzz_ops.c tests/torture/det_entropy.h tests/torture/fuzz_common.h digby.h | check-amalgamation
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_FLAGS) $< -o $@ $(FUZZ_LIBS)
$(FUZZ_DIR)/slice/fuzz_open: tests/torture/fuzz_open.c tests/torture/det_entropy.h tests/torture/fuzz_common.h digby.h | check-amalgamation
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_SLICE_FLAGS) -DDIGBY_FUZZ_NO_CHECKSUM $< -o $@ $(FUZZ_LIBS)
$(FUZZ_DIR)/slice/fuzz_ops: tests/torture/fuzz_ops.c tests/torture/det_entropy.h tests/torture/fuzz_common.h digby.h | check-amalgamation
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_SLICE_FLAGS) $< -o $@ $(FUZZ_LIBS)
$(FUZZ_DIR)/fuzz_tuple: tests/torture/fuzz_tuple.c tests/torture/fuzz_common.h digby.h | check-amalgamation
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_FLAGS) $< -o $@ $(FUZZ_LIBS)
$(FUZZ_DIR)/slice/fuzz_tuple: tests/torture/fuzz_tuple.c tests/torture/fuzz_common.h digby.h | check-amalgamation
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_SLICE_FLAGS) $< -o $@ $(FUZZ_LIBS)
$(FUZZ_DIR)/fuzz_record: tests/torture/fuzz_record.c tests/torture/fuzz_common.h digby.h | check-amalgamation
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_FLAGS) $< -o $@ $(FUZZ_LIBS)
$(FUZZ_DIR)/slice/fuzz_record: tests/torture/fuzz_record.c tests/torture/fuzz_common.h digby.h | check-amalgamation
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_SLICE_FLAGS) $< -o $@ $(FUZZ_LIBS)
$(FUZZ_DIR)/fuzz_lockfile: tests/torture/fuzz_lockfile.c tests/torture/fuzz_common.h digby.h | check-amalgamation
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_FLAGS) $< -o $@ $(FUZZ_LIBS)
$(FUZZ_DIR)/slice/fuzz_lockfile: tests/torture/fuzz_lockfile.c tests/torture/fuzz_common.h digby.h | check-amalgamation
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_SLICE_FLAGS) $< -o $@ $(FUZZ_LIBS)
$(FUZZ_DIR)/mkseeds_record: tests/torture/fuzz_record.c tests/torture/fuzz_common.h digby.h | check-amalgamation
	@mkdir -p $(@D)
	$(CC) $(TEST_FLAGS) -DFUZZ_MKSEEDS $< -o $@ $(FUZZ_LIBS)
$(FUZZ_DIR)/mkcorpus: tests/torture/fuzz_mkcorpus.c tests/torture/det_entropy.h tests/torture/fuzz_common.h digby.h | check-amalgamation
	@mkdir -p $(@D)
	$(CC) $(TEST_FLAGS) $< -o $@ $(FUZZ_LIBS)

torture-fuzz: $(FUZZ_DIR)/fuzz_open $(FUZZ_DIR)/fuzz_ops $(FUZZ_DIR)/fuzz_tuple $(FUZZ_DIR)/fuzz_record \
              $(FUZZ_DIR)/fuzz_lockfile
	@mkdir -p $(TORTURE_OUT); rm -f $(TORTURE_OUT)/fuzz.txt
	$(PYTHON) tests/torture/fuzz_run.py $(FUZZ_DIR)/fuzz_open $(FUZZ_CORPUS)/open \
	    $(FUZZ_DIR)/open $(FUZZ_SECONDS) "fuzz_open (file images, ASan+UBSan, $(FUZZ_SECONDS) s)" \
	    $(TORTURE_OUT)/fuzz.txt $(FUZZ_OPEN_ARGS)
	$(PYTHON) tests/torture/fuzz_run.py $(FUZZ_DIR)/fuzz_ops $(FUZZ_CORPUS)/ops \
	    $(FUZZ_DIR)/ops $(FUZZ_SECONDS) "fuzz_ops (op sequences vs model, ASan+UBSan, $(FUZZ_SECONDS) s)" \
	    $(TORTURE_OUT)/fuzz.txt $(FUZZ_OPS_ARGS)
	$(PYTHON) tests/torture/fuzz_run.py $(FUZZ_DIR)/fuzz_tuple $(FUZZ_CORPUS)/tuple \
	    $(FUZZ_DIR)/tuple $(FUZZ_SECONDS) "fuzz_tuple (tuple decoding, ASan+UBSan, $(FUZZ_SECONDS) s)" \
	    $(TORTURE_OUT)/fuzz.txt $(FUZZ_TUPLE_ARGS)
	$(PYTHON) tests/torture/fuzz_run.py $(FUZZ_DIR)/fuzz_record $(FUZZ_CORPUS)/record \
	    $(FUZZ_DIR)/record $(FUZZ_SECONDS) "fuzz_record (record tables' stored bytes, ASan+UBSan, $(FUZZ_SECONDS) s)" \
	    $(TORTURE_OUT)/fuzz.txt $(FUZZ_RECORD_ARGS)
	$(PYTHON) tests/torture/fuzz_run.py $(FUZZ_DIR)/fuzz_lockfile $(FUZZ_CORPUS)/lockfile \
	    $(FUZZ_DIR)/lockfile $(FUZZ_SECONDS) "fuzz_lockfile (lock file bytes under two handles, ASan+UBSan, $(FUZZ_SECONDS) s)" \
	    $(TORTURE_OUT)/fuzz.txt $(FUZZ_LOCKFILE_ARGS)
	@echo "| fuzz: engine bugs found and fixed (to date) | 3 | open took a previous meta page counting more pages than the file as its fallback, and digby_check sized a bitmap by that count (caec535) | a leaf with keys out of order was rebuilt with a prefix a middle key lacks: a wrapped key length, a read far outside the page (8d3f724) | DIGBY_OPEN_MMAP with a map of the meta pages only (a file of two pages, map_bytes below three pages) made no map and never made one later | regression tests in tests/regress.c and tests/api_errors.c (test_mmap_reads) |" \
	    >> $(TORTURE_OUT)/fuzz.txt

# The crafted cycles must be reported, not looped over: build/digby check
# (with checksums) fails on each and passes on the undamaged base file.
FUZZ_CRAFTED_BAD = branch-self branch-shared-child ovindex-self

slice-fuzz: $(FUZZ_DIR)/slice/fuzz_open $(FUZZ_DIR)/slice/fuzz_ops $(FUZZ_DIR)/slice/fuzz_tuple \
            $(FUZZ_DIR)/slice/fuzz_record $(FUZZ_DIR)/slice/fuzz_lockfile build/digby
	@tail -c +2 $(FUZZ_CORPUS)/open/seed-crafted-base-ro > $(FUZZ_DIR)/slice/crafted.digby; \
	timeout 20 ./build/digby $(FUZZ_DIR)/slice/crafted.digby check > /dev/null || \
	    { echo "FAILED: slice-fuzz: the crafted base file does not check clean"; exit 1; }; \
	for c in $(FUZZ_CRAFTED_BAD); do \
	    tail -c +2 $(FUZZ_CORPUS)/open/seed-crafted-$$c-ro > $(FUZZ_DIR)/slice/crafted.digby; \
	    timeout 20 ./build/digby $(FUZZ_DIR)/slice/crafted.digby check > /dev/null 2>&1; rc=$$?; \
	    if [ $$rc -eq 0 ] || [ $$rc -eq 124 ]; then \
	        echo "FAILED: slice-fuzz: crafted $$c: digby check exit $$rc (want an error, in time)"; exit 1; \
	    fi; \
	done; \
	echo "==== slice-fuzz: crafted cycles ($(FUZZ_CRAFTED_BAD)) reported by digby check"
	@for t in open ops tuple record lockfile; do \
	    n=$$(ls $(FUZZ_CORPUS)/$$t | wc -l); \
	    if ./$(FUZZ_DIR)/slice/fuzz_$$t -timeout=20 $(FUZZ_CORPUS)/$$t/* > $(FUZZ_DIR)/slice/$$t.log 2>&1; then \
	        echo "==== slice-fuzz: fuzz_$$t: $$n corpus inputs replayed under ASan+UBSan, no failure"; \
	    else \
	        tail -40 $(FUZZ_DIR)/slice/$$t.log; \
	        echo "FAILED: slice-fuzz: fuzz_$$t (log: $(FUZZ_DIR)/slice/$$t.log)"; exit 1; \
	    fi; \
	done

fuzz-corpus: $(FUZZ_DIR)/mkcorpus $(FUZZ_DIR)/mkseeds_record
	rm -rf $(FUZZ_CORPUS)/open/seed-* $(FUZZ_CORPUS)/ops/ops-*
	mkdir -p $(FUZZ_CORPUS)/open $(FUZZ_CORPUS)/ops
	./$(FUZZ_DIR)/mkcorpus $(FUZZ_CORPUS)/open $(FUZZ_CORPUS)/ops
	rm -rf $(FUZZ_CORPUS)/record; mkdir -p $(FUZZ_CORPUS)/record
	./$(FUZZ_DIR)/mkseeds_record $(FUZZ_CORPUS)/record
	rm -rf $(FUZZ_CORPUS)/tuple; mkdir -p $(FUZZ_CORPUS)/tuple
	$(PYTHON) -c 'import sys; ls = [l.split() for l in open("tests/tuple_vectors/vectors.txt") if l[0] != "#"]; \
	    [open("%s/seed-%03d" % (sys.argv[1], i), "wb").write(bytes.fromhex(l[1] if l[1] != "-" else "")) \
	     for i, l in enumerate(ls) if i % 97 == 0]' $(FUZZ_CORPUS)/tuple
