# CouponPop — the two commands a newcomer needs are `make run` and `make test`.
SHELL := /bin/bash
GO ?= go
# -race doubles CPU per test; the suite stays well inside CI's budget with it.
GOTESTFLAGS ?= -race -count=1 -timeout 20m
export GOFLAGS := -buildvcs=false

.PHONY: run test services tools migrate demo build lint deploy-check image bench help

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

services: ## install (if missing) and start PostgreSQL+PostGIS, Redis, RabbitMQ, OpenSearch, embeddings
	scripts/services.sh ensure

tools: ## botocore, hadolint, shellcheck, envsubst, jq for the deploy checks; Chromium for the merchant page test
	scripts/pytools.sh ensure
	scripts/chromium.sh ensure

build: ## build every deployable into bin/
	$(GO) build -o bin/ ./cmd/...

migrate: build ## apply database migrations
	bin/migrate up

demo: migrate ## load the demo stores and events around Seoul (idempotent)
	bin/seed

run: services demo ## everything: services, migrations, demo data, then the API on 127.0.0.1:8080 with workers
	scripts/run.sh

test: services tools ## the whole test suite against the real services
	$(GO) vet ./...
	# internal/push restarts RabbitMQ to prove nothing is lost; it runs on
	# its own so the restart cannot cut the other packages' connections.
	$(GO) test $(GOTESTFLAGS) $$($(GO) list ./... | grep -v '/internal/push$$')
	$(GO) test $(GOTESTFLAGS) ./internal/push

deploy-check: tools ## deploy/ecs vs AWS API models, Dockerfile (hadolint), Jenkinsfile (shellcheck)
	$(GO) test -count=1 ./deploy/... ./jenkins/...

IMAGE ?= couponpop:dev
image: ## build the container image (needs a Docker daemon)
	docker build --platform linux/amd64 -t $(IMAGE) .
