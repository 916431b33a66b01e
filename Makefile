# syncd's build, test and lint entry points. CI runs `make test` and `make lint`
# through .ci/run on a fresh machine, so every tool a target needs is installed by a
# target here, never assumed.

GO          ?= go
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
# golangci-lint runs the linters in .golangci.yml (staticcheck among them, gosec,
# errorlint, bodyclose, noctx, revive ...); pinned, built by the go command.
GOLANGCI    ?= github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v2.15.0
BIN         ?= bin
FUZZTIME    ?= 30s
# The race detector needs cgo.
export CGO_ENABLED := 1

.PHONY: all build build-static check-static deploy-test demo test test-deps interop lint fmt vet staticcheck golangci fuzz bench clean

all: build

build:
	$(GO) build -o $(BIN)/ ./cmd/...

# build-static builds the binary the container ships (no cgo, -trimpath, version
# stamped) into $(BIN)/static, through the script the Dockerfile runs too.
build-static:
	@./scripts/build-static.sh $(BIN)/static

# check-static runs that binary as nobody from a read-only directory, to show it needs
# nothing else (needs root for setpriv, as CI has).
check-static: build-static
	@./scripts/check-static.sh $(BIN)/static/syncd

# deploy-test renders deploy/ with kustomize and checks every object, the alerts (with
# promtool) and the dashboard. It is a module of its own, so the Kubernetes and
# Prometheus dependencies stay out of syncd's go.mod. SYNCD_BIN is the binary whose
# check-config --offline must accept the ConfigMap's syncd.yaml.
deploy-test: build-static
	cd deploy/test && $(GO) vet ./... && SYNCD_BIN=$(abspath $(BIN))/static/syncd $(GO) test -count=1 -timeout 5m ./...

# demo runs syncd against a simulated org: plan, apply, a cycle with nothing to do, a
# mass deletion the guardrail holds, an explanation. Only Go is needed.
demo:
	@./demo/demo.sh

# test-deps installs what the tests need beyond Go modules (npm packages for the
# jsforce interop test, PostgreSQL server binaries). It is idempotent.
test-deps:
	@./scripts/test-deps.sh

test: test-deps vet
	$(GO) test -race -timeout 9m ./...

# interop drives sfsim with the Salesforce CLI (interop/sfcli_test.go, build tag
# sfcli). It is apart from test because the CLI's npm install takes about 5 minutes on
# a fresh machine and the test 3 to 4 (each command 8 to 17 s); CI runs both.
interop:
	@./scripts/test-deps.sh --sfcli
	$(GO) vet -tags sfcli ./interop/
	$(GO) test -race -tags sfcli -timeout 20m -run '^TestSalesforceCLI' ./interop/

vet:
	$(GO) vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

lint: vet golangci
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi

staticcheck:
	$(GO) run $(STATICCHECK) -tags sfcli ./...

golangci:
	$(GO) run $(GOLANGCI) run ./...

# fuzz runs every fuzz target for FUZZTIME each (go test allows one -fuzz target per
# package run, hence the loop).
fuzz:
	@./scripts/fuzz.sh $(FUZZTIME)

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# crash-test is the crash soak's long form: CRASH_KILLS SIGKILLs per store backend
# (SQLite, PostgreSQL) over an org of CRASH_PEOPLE. make test runs a short form.
.PHONY: crash-test bench-e2e
CRASH_KILLS  ?= 200
CRASH_PEOPLE ?= 5000
crash-test: test-deps
	@./scripts/crash-test.sh $(CRASH_KILLS) $(CRASH_PEOPLE)

# bench-e2e measures whole cycles of the built syncd against sfsim (API calls against
# the minimum, wall time against the latency floor, the seed document's way as the
# baseline) and writes them into BENCHMARKS.md.
bench-e2e:
	@./scripts/bench-e2e.sh

clean:
	rm -rf $(BIN)
