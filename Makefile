# sqlflow-host: build, run, test.
#
#   make run    build the host and every plugin, run examples/quickstart/pipeline.yaml
#   make test   the whole test suite, PostgreSQL and S3 tests included: it
#               starts a throwaway PostgreSQL cluster and a MinIO server for
#               the run when their binaries are here (.ci/services.sh), unless
#               SQLFLOW_TEST_POSTGRES / SQLFLOW_TEST_S3_ENDPOINT name servers
#
# Other targets: services (install PostgreSQL, chromium and MinIO), node-deps (npm ci
# for examples/plugins/node-source; make test runs it), build, bench, bench-e2e, bench-postgres, bench-s3, bench-peers, proto, proto-check, lint, clean.

GO      ?= go
# go.mod's toolchain line names the Go release the project is built and
# checked with (a patch release without the standard library's known
# vulnerabilities); the go command fetches it from the module proxy.
export GOTOOLCHAIN ?= auto
BIN     := bin
PLUGINS := $(patsubst plugins/%/main.go,%,$(wildcard plugins/*/main.go))
GOBIN   := $(shell $(GO) env GOPATH)/bin

# Code generators, pinned so `make proto` is reproducible. protoc itself is
# Debian's protobuf-compiler (3.21.x).
PROTOC_GEN_GO_VERSION      := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.6.2
PROTO_DIR  := sdk/proto
PROTO_FILE := sqlflow/connector/v1/connector.proto

.PHONY: all build host plugins run test test-short node-deps services bench bench-e2e bench-postgres bench-s3 bench-peers proto proto-tools proto-check lint vulncheck clean

all: build

build: host plugins

host:
	$(GO) build -o $(BIN)/sqlflow-host ./cmd/sqlflow-host

plugins:
	@mkdir -p $(BIN)/plugins
	@chmod 755 $(BIN) $(BIN)/plugins
	@for p in $(PLUGINS); do \
		echo "$(GO) build -o $(BIN)/plugins/sqlflow-plugin-$$p ./plugins/$$p"; \
		$(GO) build -o $(BIN)/plugins/sqlflow-plugin-$$p ./plugins/$$p || exit 1; \
	done

run: build
	./$(BIN)/sqlflow-host run examples/quickstart/pipeline.yaml

# .ci/services.sh starts the services whose variable is unset, exports their
# variables for the command, and stops and removes them when it ends (also on
# failure or Ctrl-C).
# The SDK is a module of its own (sdk/go.mod): `./...` at the root stops at
# its go.mod, so its packages are tested by a second go test inside sdk/.
test: node-deps
	@.ci/services.sh run sh -c '$(GO) test -count=1 -timeout 20m ./... && cd sdk && $(GO) test -count=1 -timeout 20m ./...'
	@# bench/peers is a module of its own (DuckDB's cgo library stays out of
	@# the root module); its harness and proctree tests link no DuckDB.
	cd bench/peers && $(GO) test -count=1 . ./proctree

# The npm packages of the Node.js plugin example, whose tests (the
# conformance kit on it, sqlflow-host run with it) skip without them, or
# fail under CI=true: `npm ci` when npm is here and package-lock.json is
# newer than what is installed (needs the npm registry, once).
NODE_EXAMPLE := examples/plugins/node-source
node-deps:
	@if ! command -v npm >/dev/null; then \
		echo "npm is not installed: the tests of $(NODE_EXAMPLE) (a plugin in Node.js) need Node.js 20 and npm"; \
	elif [ ! -f $(NODE_EXAMPLE)/node_modules/.package-lock.json ] || \
	     [ $(NODE_EXAMPLE)/package-lock.json -nt $(NODE_EXAMPLE)/node_modules/.package-lock.json ]; then \
		echo "npm ci --prefix $(NODE_EXAMPLE)"; \
		npm ci --prefix $(NODE_EXAMPLE) --ignore-scripts --no-audit --no-fund || exit 1; \
	fi

# Install what the PostgreSQL, S3 and browser tests need, when missing:
# Debian's postgresql and chromium (apt-get, as root or with sudo) and MinIO at
# the version pinned in .ci/minio.sh (go install).
services:
	@.ci/services.sh install

bench: build
	$(GO) test -run '^$$' -bench . -benchmem ./...
	cd sdk && $(GO) test -run '^$$' -bench . -benchmem ./...

# End-to-end benchmarks: csv -> parquet on generated CSV files (256 MiB and
# 1 GiB by default, cached in $TMPDIR/sqlflow-bench), in-process, through
# plugin processes and through the CLI, and memory -> memory on 10 million
# rows. About 5 minutes on 2 cores and 5 GB of free disk; they build their
# own binaries. Knobs (SQLFLOW_BENCH_SIZES, ..._REPS, ...): docs/benchmarks.md.
bench-e2e:
	SQLFLOW_BENCH_E2E=1 $(GO) test -run '^$$' -bench 'E2E' -benchtime 1x -timeout 60m ./bench/...

# Connector benchmarks against real services (issue figures in
# docs/benchmarks.md). They need SQLFLOW_TEST_POSTGRES, or the
# SQLFLOW_TEST_S3_* variables of .ci/minio.sh, as the tests do (make test's
# throwaway cluster runs with fsync off, which would skew these figures).
bench-postgres:
	SQLFLOW_BENCH_E2E=1 $(GO) test -run '^$$' -bench 'E2EPostgres' -benchtime 1x -timeout 60m ./plugins/postgres/

bench-s3:
	SQLFLOW_BENCH_E2E=1 $(GO) test -run '^$$' -bench 'E2E(Upload|Download)' -benchtime 1x -timeout 60m ./plugins/s3/

# sqlflow-host against the tools a user would pick instead (issue 18):
# csv -> parquet and parquet -> csv/parquet against DuckDB (duckdb-go, 2
# threads), postgres -> parquet against psql's \copy, memory -> memory's
# plugin boundary, s3 (MinIO) against local files, peak RSS at two input
# sizes; 5 alternated pairs, medians of wall, CPU-seconds and peak RSS. Its
# own module (bench/peers), so DuckDB's cgo library stays out of every other
# build; the first run downloads it through the Go module proxy. About 20
# minutes with the defaults. The postgres and s3 pairs need
# SQLFLOW_TEST_POSTGRES and the SQLFLOW_TEST_S3_* variables (eval
# "$$(.ci/minio.sh)"), else they are skipped with a line saying so. Knobs
# (SQLFLOW_PEERS_PAIRS, _ROWS, _ONLY, ...): docs/benchmarks.md.
bench-peers:
	cd bench/peers && $(GO) run . -repo $(CURDIR)

proto-tools:
	@command -v protoc >/dev/null || { echo "protoc missing: apt-get install -y protobuf-compiler"; exit 1; }
	$(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
	$(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)

proto: proto-tools
	PATH="$(GOBIN):$$PATH" protoc -I $(PROTO_DIR) \
		--go_out=$(PROTO_DIR) --go_opt=paths=source_relative \
		--go-grpc_out=$(PROTO_DIR) --go-grpc_opt=paths=source_relative \
		$(PROTO_DIR)/$(PROTO_FILE)

# Fails when the committed generated code differs from what `make proto` makes.
proto-check: proto-tools
	@tmp=$$(mktemp -d) && \
	PATH="$(GOBIN):$$PATH" protoc -I $(PROTO_DIR) \
		--go_out=$$tmp --go_opt=paths=source_relative \
		--go-grpc_out=$$tmp --go-grpc_opt=paths=source_relative \
		$(PROTO_DIR)/$(PROTO_FILE) && \
	for f in connector.pb.go connector_grpc.pb.go; do \
		diff -u $(PROTO_DIR)/sqlflow/connector/v1/$$f $$tmp/sqlflow/connector/v1/$$f >/dev/null || \
		{ echo "$(PROTO_DIR)/sqlflow/connector/v1/$$f is stale: run make proto and commit"; rm -rf $$tmp; exit 1; }; \
	done; rm -rf $$tmp; echo "generated protocol code is up to date"

# govulncheck against the Go vulnerability database. The database is built
# from golang.org/x/vulndb's OSV files, fetched through the Go module proxy
# (vuln.go.dev itself is not reachable here); both versions are pinned.
GOVULNCHECK_VERSION := v1.10.0
VULNDB_VERSION      := v0.0.0-20261105234957-e22db6528018
vulncheck:
	$(GO) install golang.org/x/vuln/cmd/govulncheck@$(GOVULNCHECK_VERSION)
	$(GO) mod download golang.org/x/vulndb@$(VULNDB_VERSION)
	@db=$$(mktemp -d) && \
	$(GO) run golang.org/x/vulndb/cmd/indexdb@$(VULNDB_VERSION) \
		-vulns "$$($(GO) env GOMODCACHE)/golang.org/x/vulndb@$(VULNDB_VERSION)/data/osv" -out "$$db/db" && \
	$(GOBIN)/govulncheck -db "file://$$db/db" ./... && \
	(cd sdk && $(GOBIN)/govulncheck -db "file://$$db/db" ./...); rc=$$?; rm -rf "$$db"; exit $$rc

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go') | grep -v '\.pb\.go$$' || true); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	cd sdk && $(GO) vet ./...

clean:
	rm -rf $(BIN) out .sqlflow examples/quickstart/out examples/quickstart/.sqlflow $(NODE_EXAMPLE)/node_modules
