# mod_pysandbox — build, test, demo, bench, install.
# `make` builds build/pysandbox-run (and the module once it exists);
# `make test` installs missing Debian packages, builds and runs every suite.

CC      ?= cc
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -fno-strict-aliasing
LDLIBS  += -lseccomp -ljansson -lm
B       := build

ENGINE_SRC := $(filter-out src/cli.c,$(wildcard src/*.c))
ENGINE_OBJ := $(patsubst src/%.c,$(B)/obj/%.o,$(ENGINE_SRC)) $(B)/obj/policy_bpf.o
HEADERS    := $(wildcard src/*.h)
UNIT_SRC   := $(wildcard tests/unit/test_*.c)
UNIT_BIN   := $(patsubst tests/unit/%.c,$(B)/%,$(UNIT_SRC))
FUZZ_SRC   := $(wildcard fuzz/fuzz_*.c)
FUZZ_BIN   := $(patsubst fuzz/%.c,$(B)/%,$(FUZZ_SRC))

.PHONY: all deps test unit-tests clean fuzz bench demo demo-stop install uninstall

APXS    ?= apxs
all: $(B)/pysandbox-run $(B)/mod_pysandbox.so $(B)/_pysandbox.abi3.so

deps:
	@scripts/deps.sh build

$(B)/obj/%.o: src/%.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

# The seccomp program, compiled once at build time (see policy.h).
$(B)/gen-policy: tools/gen_policy.c $(B)/obj/policy.o $(HEADERS)
	$(CC) $(CFLAGS) -iquote src -o $@ $< $(B)/obj/policy.o -lseccomp

$(B)/gen/policy_bpf.c: $(B)/gen-policy
	@mkdir -p $(dir $@)
	$(B)/gen-policy > $@.tmp && mv $@.tmp $@

$(B)/obj/policy_bpf.o: $(B)/gen/policy_bpf.c $(HEADERS)
	$(CC) $(CFLAGS) -iquote src -c -o $@ $<

# Made anew, never updated: ar keeps members of sources since removed or
# renamed. Remade when the Makefile (its list of sources) changes.
$(B)/libpysb.a: $(ENGINE_OBJ) Makefile
	rm -f $@
	$(AR) rcs $@ $(ENGINE_OBJ)

# Installed, the CLI finds the warm runs' extension where make install puts
# it: next to the module.
$(B)/obj/cli.o: CFLAGS += -DPYSB_EXTENSION_PATH='"$(shell $(APXS) -q LIBEXECDIR 2>/dev/null || echo /usr/lib/apache2/modules)/_pysandbox.abi3.so"'

$(B)/pysandbox-run: $(B)/obj/cli.o $(B)/libpysb.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# The module: the same engine sources compiled position-independent, and
# the glue with httpd's and APR's flags as apxs reports them.
PIC_OBJ := $(patsubst src/%.c,$(B)/pic/%.o,$(ENGINE_SRC)) $(B)/pic/policy_bpf.o
AP_CFLAGS = $(shell $(APXS) -q CFLAGS) $(shell $(APXS) -q EXTRA_CPPFLAGS) \
            -I$(shell $(APXS) -q INCLUDEDIR) -I$(shell $(APXS) -q APR_INCLUDEDIR)

$(B)/pic/%.o: src/%.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fPIC -c -o $@ $<

$(B)/pic/policy_bpf.o: $(B)/gen/policy_bpf.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fPIC -iquote src -c -o $@ $<

# The glue: mod_pysandbox.c and httpd/, the only sources with Apache headers;
# their includes are relative to the top ("httpd/conf.h", "src/wire.h").
GLUE_SRC := mod_pysandbox.c $(wildcard httpd/*.c)
GLUE_OBJ := $(patsubst %.c,$(B)/pic/glue/%.o,$(GLUE_SRC))
GLUE_HEADERS := $(wildcard httpd/*.h)

$(B)/pic/glue/%.o: %.c $(HEADERS) $(GLUE_HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(AP_CFLAGS) $(CFLAGS) -iquote . -fPIC -c -o $@ $<

$(B)/mod_pysandbox.so: $(GLUE_OBJ) $(PIC_OBJ)
	$(CC) -shared -o $@ $^ $(LDLIBS)

# The fork server's extension (python/_pysandbox.c): CPython's stable ABI,
# so one build serves every CPython >= 3.7; headers from Debian's
# python3-dev, never libpython. The engine's confinement is linked in, and
# only PyInit__pysandbox is exported.
PYTHON_HEADERS_FROM ?= /usr/bin/python3
PY_INCLUDE = $(shell $(PYTHON_HEADERS_FROM) -c 'import sysconfig; print(sysconfig.get_path("include"))')
EXT_ENGINE := forkserver reaper root nspin confine landlock policy memwatch runlimits clock \
              scratch mime utf8
EXT_OBJ    := $(patsubst %,$(B)/pic/%.o,$(EXT_ENGINE)) $(B)/pic/policy_bpf.o

$(B)/pic/ext/_pysandbox.o: python/_pysandbox.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fPIC -iquote src -I$(PY_INCLUDE) -c -o $@ $<

$(B)/_pysandbox.abi3.so: $(B)/pic/ext/_pysandbox.o $(EXT_OBJ) python/_pysandbox.map
	$(CC) -shared -Wl,--version-script=python/_pysandbox.map -o $@ \
	  $(B)/pic/ext/_pysandbox.o $(EXT_OBJ) -lseccomp -lm

$(B)/test_%: tests/unit/test_%.c $(B)/libpysb.a $(HEADERS)
	$(CC) $(CFLAGS) -iquote src -o $@ $< $(B)/libpysb.a $(LDLIBS) -lcmocka

unit-tests: $(UNIT_BIN)

test:
	@scripts/deps.sh test
	@$(MAKE) --no-print-directory all unit-tests
	@tests/run-all.sh

# Fuzz targets: libFuzzer + ASan/UBSan, each for FUZZ_SECONDS.
FUZZ_SECONDS ?= 30
$(B)/fuzz_%: fuzz/fuzz_%.c $(ENGINE_SRC) $(B)/gen/policy_bpf.c $(HEADERS)
	clang -g -O1 -std=c11 -D_GNU_SOURCE -iquote src -fsanitize=fuzzer,address,undefined \
	  -o $@ $< $(ENGINE_SRC) $(B)/gen/policy_bpf.c $(LDLIBS)

fuzz:
	@scripts/deps.sh fuzz
	@$(MAKE) --no-print-directory $(FUZZ_BIN)
	@set -e; for f in $(FUZZ_BIN); do \
	  mkdir -p $(B)/corpus/$$(basename $$f); \
	  $$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	     $(B)/corpus/$$(basename $$f) fuzz/seeds/$$(basename $$f) 2>&1 | \
	    sed -n "s/^stat::\(number_of_executed_units\|peak_rss_mb\|new_units_added\)/  $$(basename $$f) \1/p"; \
	done

bench: all
	@scripts/deps.sh bench
	@bench/cli.sh
	@bench/http.sh

demo:
	@scripts/deps.sh demo
	@$(MAKE) --no-print-directory all
	@scripts/demo.sh

demo-stop:
	@scripts/demo.sh stop

# The normal install into an existing Debian Apache (scripts/install.sh):
# the module into apxs's LIBEXECDIR, the a2enmod files into mods-available
# (an edited pysandbox.conf is kept, the new one installed beside it as
# .dist), pysandbox-run into BINDIR; DESTDIR stages it all under a root.
# `a2enmod pysandbox` enables it; `make uninstall` takes it out again.
PREFIX         ?= /usr/local
BINDIR         ?= $(PREFIX)/bin
APACHE_CONFDIR ?= /etc/apache2
INSTALL_ENV     = DESTDIR="$(DESTDIR)" LIBEXECDIR="$$($(APXS) -q LIBEXECDIR)" \
                  APACHE_CONFDIR="$(APACHE_CONFDIR)" BINDIR="$(BINDIR)"

install: all
	@$(INSTALL_ENV) scripts/install.sh install

uninstall:
	@$(INSTALL_ENV) scripts/install.sh uninstall

clean:
	rm -rf $(B)
