# The two commands: `make run` and `make test`. Everything else is a step of theirs.
BUILD ?= build
SANITIZE_BUILD ?= build-sanitize
JOBS ?= 2
PORT ?= 8000

.PHONY: run test setup setup-test build build-ci build-sanitize web web-test unit integration sanitize lint format fuzz clean

run: setup build web
	DATA_DIR=$${DATA_DIR:-./data} PORT=$(PORT) $(BUILD)/playground serve

test: setup-test build-ci build-sanitize lint web
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS) --timeout 300
	cd $(SANITIZE_BUILD) && ctest --output-on-failure -j$(JOBS) --timeout 600
	scripts/fuzz.sh 10
	scripts/web.sh test $(BUILD)

# The CSV and JSON readers under libFuzzer for longer: make fuzz FUZZ_SECONDS=600
FUZZ_SECONDS ?= 300
fuzz: setup-test
	scripts/fuzz.sh $(FUZZ_SECONDS)

setup:
	@scripts/setup.sh run

setup-test:
	@scripts/setup.sh test

build:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build $(BUILD) -j$(JOBS) --target playground

# Warnings are errors in every build the tests use.
build-ci:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPLAYGROUND_WERROR=ON >/dev/null
	cmake --build $(BUILD) -j$(JOBS)

build-sanitize:
	cmake -S . -B $(SANITIZE_BUILD) -DCMAKE_BUILD_TYPE=Debug -DPLAYGROUND_WERROR=ON -DPLAYGROUND_SANITIZE=ON >/dev/null
	cmake --build $(SANITIZE_BUILD) -j$(JOBS)

# The web UI (web/dist), built when its sources changed.
web:
	@scripts/web.sh build

# Vitest, then the end-to-end test in headless Chromium against the built binary.
web-test: build-ci
	scripts/web.sh test $(BUILD)

unit: build-ci
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS) -L unit

integration: build-ci
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS) -L integration

lint:
	@scripts/lint.sh $(BUILD)

format:
	@git ls-files '*.cpp' '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD) $(SANITIZE_BUILD)
