# reactord: the two commands a newcomer needs are `make run` and `make test`.
# Everything a fresh machine lacks (npm packages) is installed by the targets that need it.

GO        ?= go
NPM       ?= npm
BIN       := bin/reactord
ENGINE_PKG     := @jitl/quickjs-ng-wasmfile-release-sync
ENGINE_VERSION := 0.32.0
ENGINE_SRI     := sha512-XAX2jjZWWh3M0YaRqi82xMKNW/gkF6mo3MpW3UY2cmVxnQai1JuboVsJQVoLU629iEL4XWvHtO4h5lo7NRnAcg==
ENGINE_TMP     := .cache/engine

.PHONY: all build run test test-go test-layer deps engine engine-update images bench bench-peers soak soak-cluster faults fuzz clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/reactord

# Starts the service on embedded defaults (embedded NATS, data in ~/.config/reactord).
run: build
	$(BIN) serve

test: deps test-go test-layer engine faults

test-go:
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 10m ./...

test-layer: images/node_modules
	$(GO) run ./images/internal/genlayer -check
	$(NPM) test --prefix images

deps: images/node_modules bench/node/node_modules bench/peers/node_modules compat/node-sdk/node_modules

images/node_modules: images/package-lock.json
	$(NPM) ci --prefix images --ignore-scripts --no-audit --no-fund
	@touch $@

compat/node-sdk/node_modules: compat/node-sdk/package-lock.json
	$(NPM) ci --prefix compat/node-sdk --ignore-scripts --no-audit --no-fund
	@touch $@

bench/node/node_modules: bench/node/package-lock.json
	$(NPM) ci --prefix bench/node --ignore-scripts --no-audit --no-fund
	@touch $@

# The peers make bench compares with: workerd (its binary ships in the npm package's
# platform dependency, so no install script is needed) and the card-masking function's packages.
bench/peers/node_modules: bench/peers/package-lock.json
	$(NPM) ci --prefix bench/peers --ignore-scripts --no-audit --no-fund
	@touch $@

# Re-derives the engine wasm and its Go ABI table from the pinned npm package and fails
# loudly if they differ from what is committed.
engine: $(ENGINE_TMP)/package
	$(GO) run ./runtime/internal/engine/genabi -pkg $(ENGINE_TMP)/package -version $(ENGINE_VERSION) -integrity '$(ENGINE_SRI)'

engine-update: $(ENGINE_TMP)/package
	$(GO) run ./runtime/internal/engine/genabi -pkg $(ENGINE_TMP)/package -version $(ENGINE_VERSION) -integrity '$(ENGINE_SRI)' -update

$(ENGINE_TMP)/package:
	rm -rf $(ENGINE_TMP) && mkdir -p $(ENGINE_TMP)
	cd $(ENGINE_TMP) && $(NPM) pack --silent $(ENGINE_PKG)@$(ENGINE_VERSION) > tarball.txt
	@got=$$(node -e 'const c=require("crypto"),f=require("fs");const t=f.readFileSync(process.argv[1]+"/"+f.readFileSync(process.argv[1]+"/tarball.txt","utf8").trim());console.log("sha512-"+c.createHash("sha512").update(t).digest("base64"))' $(ENGINE_TMP)); \
	  if [ "$$got" != '$(ENGINE_SRI)' ]; then echo "engine package integrity mismatch: got $$got" >&2; rm -rf $(ENGINE_TMP); exit 1; fi
	cd $(ENGINE_TMP) && tar xzf $$(cat tarball.txt)

# Rebuilds the images' Node layers (images/dist) from images/src and the pinned npm packages.
images: images/node_modules
	$(GO) run ./images/internal/genlayer

# Prints the figures the issues ask for and refreshes the README's benchmark table.
bench: deps build
	$(GO) run ./bench/cmd/benchreport -readme README.md
	$(GO) test -run '^$$' -bench 'BenchmarkSearch|BenchmarkCreate' -benchtime 200x -short -timeout 30m ./tokens/
	$(GO) test -run '^$$' -bench BenchmarkRescan1000 -benchtime 3x ./vulns
	$(GO) test -run '^$$' -bench 'BenchmarkReact$$' -benchtime 3s -cpu 2 ./api

# Only the side-by-side run of reactord serve, workerd and node, 1 s per load run:
# quick figures while working on the hot path. BENCH_FLAGS adds flags, e.g. -d 5s -perf perf.data.
bench-peers: deps build
	$(GO) run ./bench/cmd/benchreport -peers-only -d 1s -rounds 1 $(BENCH_FLAGS)

# Mixed ordinary and hostile invocations for REACTORD_SOAK (default 5m); memory must stay bounded.
soak:
	$(GO) test -count=1 -timeout 60m -run Soak -tags soak ./runtime

# A cluster of separate processes on 127.0.0.1 (3 nats-server nodes with JetStream R3,
# auth and TLS, 2 gateways, 2 workers) under mixed load while a worker, a NATS node and
# a gateway are killed and every process is restarted; checks at-most-once react, no
# lost data, errors in the API format, and prints the figures. REACTORD_FAULTS_LOGS=DIR
# keeps the processes' logs.
faults:
	$(GO) test -count=1 -timeout 20m -tags faults -run '^TestFaults$$' -v ./cmd/reactord

# The same cluster for REACTORD_FAULTS_SOAK (default 30m) of mixed load with one fault
# every REACTORD_FAULTS_EVERY (default 2m), rotating over worker, NATS node and gateway
# kills and graceful restarts; each process stays under REACTORD_FAULTS_MAX_RSS_MIB (512).
soak-cluster:
	REACTORD_FAULTS_SOAK=$${REACTORD_FAULTS_SOAK:-30m} $(GO) test -count=1 -timeout 90m -tags faults -run '^TestFaults$$' -v ./cmd/reactord

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzOwnMemory -fuzztime 60s ./runtime/internal/wasmbin
	$(GO) test -run '^$$' -fuzz FuzzMergePatch -fuzztime 60s ./api
	$(GO) test -run '^$$' -fuzz FuzzRequestBodies -fuzztime 60s ./api
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime 60s ./expr
	$(GO) test -run '^$$' -fuzz FuzzEvalJSON -fuzztime 60s ./expr
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime 60s ./tokens/internal/query

clean:
	rm -rf bin .cache
