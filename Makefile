GO ?= go
# Packages that start goroutines run under the race detector too.
RACE_PKGS = ./dataset/ ./profile/ ./detectors/ ./cli/ ./stats/ ./broker/ ./consumer/ ./service/ ./alerting/... ./statuspage/ ./calibrate/ ./flag/ ./checkpoint/ ./metrics/
FUZZTIME ?= 20s

.PHONY: test bench fuzz lint golden examples dashboards

test:
	$(GO) vet ./...
	@# Test support stays out of the shipped binary.
	! $(GO) list -deps ./cmd/driftwatch | grep -E '^testing$$|chromedp'
	$(GO) test -count=1 ./...
	$(GO) test -count=1 -race -short $(RACE_PKGS)
	GOEXPERIMENT=simd $(GO) test -count=1 ./stats/ ./monitor/

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./stats/ ./dataset/
	GOEXPERIMENT=simd $(GO) test -run '^$$' -bench HotLoop -benchmem -count=3 ./stats/

# End-to-end comparison with pandas + scipy on 1M + 1M rows (see bench/RESULTS.md).
bench-e2e:
	bash bench/e2e.sh

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzReadCSV -fuzztime $(FUZZTIME) ./dataset/
	$(GO) test -run '^$$' -fuzz FuzzReadJSONL -fuzztime $(FUZZTIME) ./dataset/
	$(GO) test -run '^$$' -fuzz FuzzDecodeProfile -fuzztime $(FUZZTIME) ./profile/
	$(GO) test -run '^$$' -fuzz FuzzReadArrow -fuzztime $(FUZZTIME) ./dataset/
	$(GO) test -run '^$$' -fuzz FuzzParseFloat -fuzztime $(FUZZTIME) ./fastfloat/
	$(GO) test -run '^$$' -fuzz 'FuzzParse$$' -fuzztime $(FUZZTIME) ./config/
	$(GO) test -run '^$$' -fuzz FuzzParseCheck -fuzztime $(FUZZTIME) ./config/
	$(GO) test -run '^$$' -fuzz FuzzDecodeJSON -fuzztime $(FUZZTIME) ./events/
	$(GO) test -run '^$$' -fuzz FuzzDecodeArrow -fuzztime $(FUZZTIME) ./events/
	$(GO) test -run '^$$' -fuzz FuzzParseNote -fuzztime $(FUZZTIME) ./flag/
	$(GO) test -run '^$$' -fuzz 'FuzzEstimate$$' -fuzztime $(FUZZTIME) ./cbpe/
	$(GO) test -run '^$$' -fuzz FuzzEstimateMulti -fuzztime $(FUZZTIME) ./cbpe/

lint:
	test -z "$$(gofmt -l $$(git ls-files '*.go'))"
	$(GO) vet ./...
	@# staticcheck is pinned as a go.mod tool (honnef.co/go/tools v0.8.2).
	$(GO) tool staticcheck ./...
	$(GO) mod tidy && git diff --exit-code go.mod go.sum

# Regenerate golden values with Debian's python3-scipy / python3-sklearn.
golden:
	cd testdata/golden && /usr/bin/python3 gen_golden.py
	cd testdata/golden && /usr/bin/python3 gen_log_ndtr.py
	cd testdata/rollout && /usr/bin/python3 gen_rollout.py

examples:
	$(GO) run examples/gen.go

# Grafana dashboards (dashboards/grafana/*.json) and Prometheus rules
# (dashboards/prometheus/driftwatch-rules.yml), the example Alertmanager
# inhibit rules (dashboards/alertmanager/) from dashboards/*.go; commit them.
dashboards:
	$(GO) generate ./dashboards/
