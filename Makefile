# Trovato. Quick start: `make run` (the site with demo content on embedded
# services) and `make test` (every test, on a private PostgreSQL and Redis).
SHELL := /bin/bash
GO ?= go
GOTESTFLAGS ?= -count=1
BIN := bin/trovato

.PHONY: run test bench security desktop build plugins frontend vet fmt clean

build: plugins frontend
	$(GO) build -o $(BIN) ./server/cmd/trovato

## run: install what is missing, start the embedded services, load the demo, serve.
run:
	build/deps.sh run
	$(MAKE) --no-print-directory build
	$(BIN) run

## test: every test against one private PostgreSQL and one redis-server.
test:
	build/deps.sh test
	$(MAKE) --no-print-directory plugins frontend
	$(GO) vet ./...
	$(GO) run ./build/testenv -- $(GO) test $(GOTESTFLAGS) ./...
	@for mod in plugins/*/go.mod plugins/testplugins/*/go.mod; do \
		[ -e "$$mod" ] || continue; dir=$$(dirname $$mod); \
		echo "== $$dir"; (cd $$dir && $(GO) vet ./... && $(GO) test $(GOTESTFLAGS) ./...) || exit 1; \
	done

## bench: benchmarks, printed as a table (not part of test).
bench:
	build/deps.sh bench
	$(MAKE) --no-print-directory plugins frontend
	$(GO) run ./build/testenv -- $(GO) test -run '^$$' -bench . -benchmem -timeout 90m ./... | tee bench.out
	$(MAKE) --no-print-directory desktop
	build/bench-desktop.sh | tee -a bench.out

## security: long security scans (not part of test).
security:
	build/deps.sh security
	@if [ -x build/security.sh ]; then build/security.sh; else echo "security: no scans yet"; fi

## desktop: the Wails desktop editor.
desktop:
	build/deps.sh desktop
	$(MAKE) --no-print-directory plugins frontend
	$(GO) build -tags desktop,production,webkit2_41 -o bin/trovato-desktop .

## plugins: build the reference plugins into plugins/dist (embedded by the binary).
plugins:
	@if [ -x build/plugins.sh ]; then build/plugins.sh; fi

## frontend: build the editor into frontend/dist (embedded by the binary).
frontend:
	@if [ -f frontend/package.json ]; then build/deps.sh run >/dev/null && (cd frontend && npm run --silent build); fi

fmt:
	gofmt -l -w $$(git ls-files '*.go')

clean:
	rm -rf bin bench.out
