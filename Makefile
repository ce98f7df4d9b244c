# The two commands of README.md. Both install what is missing (Debian packages), build, and go.
BUILD ?= build
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo
JOBS ?= $(shell nproc)

.PHONY: all run test build deps deps-test sanitize fuzz bench clean

all: build

deps:
	@scripts/install-deps run

deps-test:
	@scripts/install-deps test

build: deps
	@cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

run: build
	@WL_BUILD_DIR=$(abspath $(BUILD)) exec scripts/run-stack

# Every test: unit, integration (real Redis and services), e2e (real clients, browser),
# then the same unit and integration tests under ASan+UBSan, then bounded fuzzing.
test: deps-test build
	@scripts/test-all $(BUILD)

sanitize: deps-test
	@CC=clang cmake -S . -B build-asan -DWL_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
	@cmake --build build-asan -j$(JOBS)

fuzz: deps-test
	@CC=clang cmake -S . -B build-fuzz -DWL_FUZZ=ON -DWL_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
	@cmake --build build-fuzz -j$(JOBS)

bench: build
	@bench/run.sh

clean:
	rm -rf $(BUILD) build-asan build-fuzz
