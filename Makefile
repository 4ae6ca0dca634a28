# pg_tenancy: a PGXS build of a C++17 core (src/core) behind C entry points (src/pg).

EXTENSION  = pg_tenancy
EXTVERSION = $(shell sed -n "s/^default_version = '\(.*\)'/\1/p" $(EXTENSION).control)

MODULE_big = pg_tenancy
CORE_SRCS  = $(sort $(wildcard src/core/*.cpp))
PG_SRCS    = $(sort $(wildcard src/pg/*.cpp))
OBJS       = $(CORE_SRCS:.cpp=.o) $(PG_SRCS:.cpp=.o)

DATA_built = $(EXTENSION)--$(EXTVERSION).sql
# Update scripts between versions (see upgrade/README.md).
DATA       = $(wildcard $(EXTENSION)--*--*.sql)
EXTRA_CLEAN = test/unit/run_unit_tests test/fuzz/fuzz_core test/fuzz/corpus-run $(OBJS:.o=.d)

REGRESS      = $(sort $(basename $(notdir $(wildcard sql/*.sql))))
# Concurrency rules, each checked with PostgreSQL's isolation tester.
ISOLATION    = $(sort $(basename $(notdir $(wildcard specs/*.spec))))

PG_CONFIG ?= pg_config
# fmt is used header-only: the installed library needs no libfmt at run time.
# -MMD -MP write a .d file of the headers each object includes, so that
# editing a header rebuilds what includes it.
PG_CXXFLAGS = -std=c++17 -Wall -Wextra -Werror=return-type -DFMT_HEADER_ONLY -MMD -MP
SHLIB_LINK += -lstdc++

# PGXS would also compile every object to LLVM bitcode with clang++, which
# ignores PG_CXXFLAGS; the extension has no use for JIT-inlining, so skip it.
override with_llvm = no

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# PostgreSQL's own headers warn under -Wall -Wextra in C++; as system headers
# they stay quiet, so every warning left is one of ours.
override CPPFLAGS := -isystem $(includedir_server) -isystem $(includedir_internal) $(CPPFLAGS)

-include $(OBJS:.o=.d)

$(EXTENSION)--$(EXTVERSION).sql: $(EXTENSION).sql
	cp $< $@

# ---- tests that need no server --------------------------------------------

GTEST_LIBS = -lgtest -lgtest_main -lpthread -lfmt

test/unit/run_unit_tests: $(CORE_SRCS) $(wildcard src/core/*.hpp) $(wildcard test/unit/*.cpp)
	$(CXX) -std=c++17 -Wall -Wextra -O1 -g -o $@ $(wildcard test/unit/*.cpp) $(CORE_SRCS) $(GTEST_LIBS)

.PHONY: unit fuzz
unit: test/unit/run_unit_tests
	test/unit/run_unit_tests

FUZZ_SECONDS ?= 60
test/fuzz/fuzz_core: $(CORE_SRCS) $(wildcard src/core/*.hpp) test/fuzz/fuzz_core.cpp
	clang++-14 -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -o $@ test/fuzz/fuzz_core.cpp $(CORE_SRCS) -lfmt

fuzz: test/fuzz/fuzz_core
	mkdir -p test/fuzz/corpus-run
	test/fuzz/fuzz_core -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 test/fuzz/corpus-run test/fuzz/corpus
