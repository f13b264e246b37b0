# Gatehouse: build, test and lint every module of the Go workspace.
# `make` (or `make help`) lists the targets. Targets that take one module are
# written target/<module>, e.g. `make build/dataplane` or `make lint/shared`.

MODULES  := shared admin-api sync-hub dataplane status-api e2e
SERVICES := admin-api sync-hub dataplane

GO  ?= go
BIN := $(CURDIR)/bin

GOLANGCI_LINT_VERSION := v2.15.0
GOLANGCI_LINT         := $(BIN)/golangci-lint

# The version stamped into the binaries is the git tag without its "v"
# (v1.2.3-4-gabcdef-dirty becomes 1.2.3-4-gabcdef-dirty). Without a tag,
# `git describe --always` prints a bare commit hash, which is not a version,
# so the default in shared/version stays. COMMIT is the commit hash, with
# "-dirty" when the tree has changes. Both can be overridden: make build VERSION=1.2.3
GIT_DESCRIBE := $(shell git describe --tags --always --dirty 2>/dev/null)
VERSION      ?= $(patsubst v%,%,$(filter v%,$(GIT_DESCRIBE)))
COMMIT       ?= $(shell git describe --always --dirty --exclude '*' 2>/dev/null)

VERSION_PKG := gatehouse.dev/shared/version
LDFLAGS     := -X $(VERSION_PKG).Commit=$(COMMIT)
ifneq ($(VERSION),)
LDFLAGS     += -X $(VERSION_PKG).Version=$(VERSION)
endif

BENCH    ?= .
COUNT    ?= 1
FUZZ     ?= .
FUZZTIME ?= 20s

.DEFAULT_GOAL := help
.PHONY: help build test vet lint fmt bench bench-report fuzz tidy tools run docs docker-check clean

help: ## list the targets
	@echo "Usage: make <target> [VAR=value]"
	@echo
	@grep -hE '^[a-zA-Z0-9%/_.-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  %-16s %s\n", $$1, $$2}'
	@echo
	@echo "Variables: VERSION COMMIT (build), BENCH COUNT (bench), QUICK KEEP (bench-report), FUZZ FUZZTIME (fuzz), GO"

build: $(addprefix build/,$(SERVICES)) ## build admin-api, sync-hub and dataplane into ./bin

build/%: ## build one service into ./bin
	cd $* && $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/$* .

# The demo upstream of make run and docker compose is its own module outside
# the workspace (standard library only), so it builds with GOWORK=off.
build/demo-upstream: ## build the demo upstream (deploy/demo-upstream) into ./bin
	cd deploy/demo-upstream && GOWORK=off $(GO) build -trimpath -o $(BIN)/demo-upstream .

test: ## run every module's tests (and benchtool's) with the race detector (needs Postgres and Redis)
	@summary=$$(mktemp); status=0; \
	GATEHOUSE_E2E_SUMMARY=$$summary $(GO) test -race -count=1 work || status=$$?; \
	(cd deploy/bench/benchtool && GOWORK=off $(GO) test -race -count=1 ./...) || status=1; \
	cat $$summary; rm -f $$summary; exit $$status

vet: ## go vet every module
	$(GO) vet work

# benchtool (deploy/bench/benchtool) is its own module outside the workspace,
# so lint and fmt run in it with GOWORK=off, after the workspace's modules.
BENCHTOOL := deploy/bench/benchtool

lint: $(GOLANGCI_LINT) ## run golangci-lint in every module and benchtool (continues past failures)
	@status=0; for m in $(MODULES); do \
		echo "golangci-lint $$m"; \
		(cd $$m && $(GOLANGCI_LINT) run --allow-serial-runners ./...) || status=1; \
	done; \
	echo "golangci-lint $(BENCHTOOL)"; \
	(cd $(BENCHTOOL) && GOWORK=off $(GOLANGCI_LINT) run --allow-serial-runners ./...) || status=1; \
	exit $$status

lint/%: $(GOLANGCI_LINT) ## run golangci-lint in one module
	cd $* && $(GOLANGCI_LINT) run --allow-serial-runners ./...

fmt: $(GOLANGCI_LINT) ## format every module and benchtool (gofumpt and goimports, as lint checks)
	@for m in $(MODULES); do (cd $$m && $(GOLANGCI_LINT) fmt ./...) || exit 1; done
	@cd $(BENCHTOOL) && GOWORK=off $(GOLANGCI_LINT) fmt ./...

bench: ## run benchmarks: BENCH=regexp (default .), COUNT=n (use 10 for benchstat)
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchmem -count $(COUNT) work

# deploy/bench/report.sh builds everything, runs the proxy, propagation,
# data-plane, sync-hub and Admin API benchmarks on this machine (Postgres,
# Redis, nginx and wrk needed) and writes docs/performance.md and its charts;
# its header lists the settings (QUICK=1 KEEP=dir ...), which make passes on.
bench-report: ## run every benchmark, write docs/performance.md with charts (QUICK=1: smoke run)
	bash deploy/bench/report.sh

# `go test -fuzz` takes one package and one target at a time, so fuzz finds
# every Fuzz function in the test files and runs each in its package.
fuzz: ## run each fuzz target matching FUZZ for FUZZTIME (default 20s)
	@set -e; \
	grep -rlE --include='*_test.go' --exclude-dir=testdata '^func Fuzz[A-Za-z0-9_]*\(' $(MODULES) \
		| xargs -r -n1 dirname | sort -u | while read -r dir; do \
		for name in $$(grep -hoE '^func Fuzz[A-Za-z0-9_]*' $$dir/*_test.go | sed 's/^func //' | grep -E -- '$(FUZZ)'); do \
			echo "fuzz $$dir $$name for $(FUZZTIME)"; \
			(cd $$dir && $(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) .) || exit 1; \
		done; \
	done

tidy: ## go mod tidy in every module, then go work sync
	@for m in $(MODULES); do (cd $$m && $(GO) mod tidy) || exit 1; done
	$(GO) work sync

tools: ## install the pinned golangci-lint into ./bin
	GOBIN=$(BIN) $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)

$(GOLANGCI_LINT):
	$(MAKE) tools

# deploy/run/run.sh starts Postgres and Redis if needed, then admin-api,
# sync-hub, two data planes and the demo upstream; Ctrl-C stops them. Its
# settings (ports, database, run directory) are GATEHOUSE_RUN_* variables,
# listed at the top of the script and in docs/configuration.md.
run: export GATEHOUSE_RUN_BIN = $(BIN)
run: build build/demo-upstream ## run the whole system as local processes (Ctrl-C stops it)
	@bash deploy/run/run.sh

# Each service's config package has a test (docs_test.go) that keeps its
# section of docs/configuration.md equal to the settings in the code; with
# -update-docs it rewrites the section.
docs: ## regenerate the settings tables of docs/configuration.md from the code
	cd admin-api && $(GO) test -count=1 -run '^TestConfigurationReference$$' ./internal/config -update-docs
	cd sync-hub && $(GO) test -count=1 -run '^TestConfigurationReference$$' ./internal/config -update-docs
	cd dataplane && $(GO) test -count=1 -run '^TestConfigurationReference$$' ./internal/config -update-docs

docker-check: ## run each Dockerfile's build stage without Docker, and check docker-compose.yml
	bash deploy/docker/check.sh
	docker-compose config -q

clean: ## remove the service binaries and local run state (keeps ./bin tools)
	rm -f $(addprefix $(BIN)/,$(SERVICES) demo-upstream)
	rm -rf .run
