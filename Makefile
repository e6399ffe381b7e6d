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
# Debian's en-us model for the offline transcriber (cfg overrides it).
PS_MODELDIR := $(shell pkg-config --variable=modeldir pocketsphinx 2>/dev/null)

WARN     := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wwrite-strings
CFLAGS   ?= -O2 -g
CXXFLAGS ?= -O2 -g
CPPFLAGS += -D_GNU_SOURCE -Ilib -Ibatch -I$(B) -DSYSCONFDIR='"$(SYSCONFDIR)"'
ALL_CFLAGS   = -std=c11 $(WARN) $(CFLAGS) $(PKG_CFLAGS) -MMD -MP
ALL_CXXFLAGS = -std=c++17 -Wall -Wextra -Wshadow $(CXXFLAGS) $(PKG_CFLAGS) \
            $(CV_CFLAGS) -MMD -MP
# OpenCV: only the three libraries the face detector needs, not all of
# opencv4.pc's list (DESIGN.md).
CV_CFLAGS := $(shell pkg-config --cflags-only-I opencv4 2>/dev/null)
CV_LIBS   := -lopencv_objdetect -lopencv_imgproc -lopencv_core
LDLIBS   += $(PKG_LIBS) -lpthread -lm

ifeq ($(SANITIZE),1)
  CFLAGS   += -fsanitize=address,undefined -fno-omit-frame-pointer
  CXXFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer
  LDFLAGS  += -fsanitize=address,undefined
endif

# lib/: shared by every program.  batch/: the runner and the CLI; every
# batch/*.c that is not a program's main file is linked into both.
LIB_SRC   := $(wildcard lib/*.c)
LIB_OBJ   := $(LIB_SRC:%.c=$(B)/%.o) $(B)/sql_migrations.o
BATCH_MAIN := batch/clipmill.c batch/clipmill-batch.c
BATCH_SRC := $(filter-out $(BATCH_MAIN),$(wildcard batch/*.c))
BATCH_CXX := $(wildcard batch/*.cpp)
BATCH_OBJ := $(BATCH_SRC:%.c=$(B)/%.o) $(BATCH_CXX:%.cpp=$(B)/%.o)
FCGI_SRC  := $(wildcard fcgi/*.c)
FCGI_OBJ  := $(FCGI_SRC:%.c=$(B)/%.o)
TEST_SRC  := $(wildcard tests/unit/*.c)
TEST_BIN  := $(TEST_SRC:tests/unit/%.c=$(B)/tests/%)
MIGRATIONS := $(sort $(wildcard sql/[0-9]*.sql))

PROGS := $(B)/clipmill $(B)/clipmill-batch
ifneq ($(FCGI_SRC),)
  PROGS += $(B)/clipmill.fcgi
endif

all: $(PROGS) $(TEST_BIN)

# The compilers and their flags, SYSCONFDIR (compiled in) among them, go
# into every object: when they change (`make SANITIZE=1` after `make`, or
# `make install PREFIX=...` after a plain `make`), everything is rebuilt,
# and only then.
BUILD_ID = $(CC) $(CXX) $(CPPFLAGS) $(ALL_CFLAGS) $(ALL_CXXFLAGS) $(LDFLAGS)
$(B)/build.stamp: FORCE
	@mkdir -p $(@D)
	@echo '$(subst ','\'',$(BUILD_ID))' | cmp -s - $@ || \
	    echo '$(subst ','\'',$(BUILD_ID))' > $@
$(LIB_OBJ) $(BATCH_OBJ) $(FCGI_OBJ) $(BATCH_MAIN:%.c=$(B)/%.o) \
    $(TEST_SRC:%.c=$(B)/%.o): $(B)/build.stamp

$(B)/batch/asr_sphinx.o: CPPFLAGS += $(SPHINX_CFLAGS) \
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

$(B)/libclipmill.a: $(LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

$(B)/libbatch.a: $(BATCH_OBJ)
	rm -f $@ && ar rcs $@ $^

LINK := $(if $(BATCH_CXX),$(CXX),$(CC))
BATCH_LIBS := $(if $(BATCH_CXX),$(CV_LIBS))

$(B)/clipmill: $(B)/batch/clipmill.o $(B)/libbatch.a $(B)/libclipmill.a
	$(LINK) $(LDFLAGS) -o $@ $^ $(BATCH_LIBS) $(LDLIBS)

$(B)/clipmill-batch: $(B)/batch/clipmill-batch.o $(B)/libbatch.a $(B)/libclipmill.a
	$(LINK) $(LDFLAGS) -o $@ $^ $(BATCH_LIBS) $(LDLIBS)

$(B)/clipmill.fcgi: $(FCGI_OBJ) $(B)/libclipmill.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lfcgi

# A unit test is compiled as C by the %.o rule (so that its header
# dependencies are tracked), then linked like the programs (by the C++
# driver once batch/ has C++ in it).
$(B)/tests/%: $(B)/tests/unit/%.o $(B)/libbatch.a $(B)/libclipmill.a
	@mkdir -p $(@D)
	$(LINK) $(LDFLAGS) -o $@ $(filter %.o %.a,$^) $(BATCH_LIBS) $(LDLIBS)
.SECONDARY: $(TEST_SRC:%.c=$(B)/%.o)

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
# DATADIR, and the man pages found in */*.[158] to MANDIR.
install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SYSCONFDIR) \
	    $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
	    $(DESTDIR)$(DATADIR)
	install -m 755 $(PROGS) $(DESTDIR)$(BINDIR)/
	test -e $(DESTDIR)$(SYSCONFDIR)/clipmill.conf || \
	    install -m 644 etc/clipmill.conf $(DESTDIR)$(SYSCONFDIR)/clipmill.conf
	for f in $(filter-out %.1 %.5 %.8,$(wildcard etc/*)); do \
	    if [ -f $$f ]; then install -m 644 $$f $(DESTDIR)$(DATADIR)/ || exit 1; \
	    elif [ -d $$f ]; then cp -R $$f $(DESTDIR)$(DATADIR)/ || exit 1; fi; done
	$(if $(wildcard crontab),install -m 644 crontab $(DESTDIR)$(DATADIR)/crontab)
	for f in $(wildcard */*.[158]); do \
	    install -m 644 $$f $(DESTDIR)$(MANDIR)/man$${f##*.}/ || exit 1; done

clean:
	rm -rf $(B)

.PHONY: all deps check run install clean FORCE
.DELETE_ON_ERROR:
-include $(shell find $(B) -name '*.d' 2>/dev/null)
