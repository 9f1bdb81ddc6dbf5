# Warp — run `make help` for the targets.
GO            ?= go
STATICCHECK   := honnef.co/go/tools/cmd/staticcheck@v0.8.2
BENCHSTAT     := golang.org/x/perf/cmd/benchstat@v0.0.0-20260312031701-16a31bc5fbd0
GOBIN         := $(shell $(GO) env GOPATH)/bin
PKGS          := ./...
TEST_TIMEOUT  ?= 15m
BENCH         ?= .
COUNT         ?= 6
FUZZTIME      ?= 20s
CHAOS_PROFILE ?= full

.DEFAULT_GOAL := help

help: ## list the targets
	@awk 'BEGIN{FS=":.*## "} /^[a-z-]+:.*## /{printf "  %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

tools: ## install the pinned tools (staticcheck, benchstat)
	$(GO) install $(STATICCHECK)
	$(GO) install $(BENCHSTAT)

$(GOBIN)/staticcheck:
	$(GO) install $(STATICCHECK)

fmt-check: ## fail if any file is not gofmt'ed
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet: ## go vet
	$(GO) vet $(PKGS)

lint: fmt-check vet $(GOBIN)/staticcheck ## gofmt check, go vet and staticcheck
	$(GOBIN)/staticcheck $(PKGS)

tidy-check: ## fail if go.mod or go.sum is not tidy (go mod tidy -diff)
	@$(GO) mod tidy -diff || { echo "go.mod/go.sum not tidy: run go mod tidy"; exit 1; }

docs: ## check README.md and docs/*.md: links, anchors, and that every go block compiles (internal/docscheck)
	$(GO) test -count 1 -run 'TestDocs' ./internal/docscheck/

race: ## all tests with the race detector
	$(GO) test -race -timeout $(TEST_TIMEOUT) $(RACE_SKIP) $(PKGS)

allocs: ## the allocation tests, without the race detector (whose own allocations they would count)
	$(GO) test -run 'Allocates' -count 1 ./api ./shard ./messages/wire

# Within test, race skips TestDocs: the docs target has just run it.
test: RACE_SKIP := -skip '^TestDocs$$'
test: lint tidy-check docs race allocs ## what CI runs: lint, go.mod tidiness, the docs check, every other test with the race detector, the allocation tests

bench: ## benchmarks (BENCH=regexp COUNT=n); compare runs with benchstat
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchmem -count $(COUNT) $(PKGS)

fuzz: ## run every fuzz target for FUZZTIME each
	@set -e; for pkg in $$($(GO) list $(PKGS)); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; done

chaos: ## the multi-process fault suite (CHAOS_PROFILE=short: every scenario once, within 10 minutes); docs/reliability.md
	$(GO) run ./cmd/warp-chaos -profile $(CHAOS_PROFILE)

demo: ## run warp-bench on its embedded default (3 nodes, in-process NATS, memory store)
	$(GO) run ./cmd/warp-bench

.PHONY: help tools fmt-check vet lint tidy-check docs race allocs test bench fuzz chaos demo
