# The two commands a newcomer needs: `make run` and `make test`.
GO       ?= go
# A count (Nx), not a duration: a duration races Go's fuzz coordinator at its
# deadline on a loaded machine and fails with a bare "context deadline exceeded"
# (go.dev/issue/75804, fixed only in Go 1.27).
FUZZTIME ?= 20000x

.PHONY: run test vet unit fuzz build bench

run:
	$(GO) run . serve

test: vet unit fuzz

vet:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

unit:
	$(GO) test -count=1 -timeout 30m ./...

# Each fuzz target runs briefly; `make fuzz FUZZTIME=2000000x` digs deeper.
fuzz:
	$(GO) test -run='^$$' -fuzz='^FuzzNormalizePhone$$' -fuzztime=$(FUZZTIME) ./contacts
	$(GO) test -run='^$$' -fuzz='^FuzzInAppDeliveries$$' -fuzztime=$(FUZZTIME) ./inbound
	$(GO) test -run='^$$' -fuzz='^FuzzNormalizeIdentifier$$' -fuzztime=$(FUZZTIME) ./contacts
	$(GO) test -run='^$$' -fuzz='^FuzzParseWhatsApp$$' -fuzztime=$(FUZZTIME) ./channels/whatsapp
	$(GO) test -run='^$$' -fuzz='^FuzzParseTelegram$$' -fuzztime=$(FUZZTIME) ./channels/telegram
	$(GO) test -run='^$$' -fuzz='^FuzzParseTwilio$$' -fuzztime=$(FUZZTIME) ./channels/twilio
	$(GO) test -run='^$$' -fuzz='^FuzzCompile$$' -fuzztime=$(FUZZTIME) ./segments
	$(GO) test -run='^$$' -fuzz='^FuzzConditionValue$$' -fuzztime=$(FUZZTIME) ./segments
	$(GO) test -run='^$$' -fuzz='^FuzzValidateContent$$' -fuzztime=$(FUZZTIME) ./outbox
	$(GO) test -run='^$$' -fuzz='^FuzzEscapeRoundTrips$$' -fuzztime=$(FUZZTIME) ./csvsafe
	$(GO) test -run='^$$' -fuzz='^FuzzReader$$' -fuzztime=$(FUZZTIME) ./csvfile
	$(GO) test -run='^$$' -fuzz='^FuzzRoundTrip$$' -fuzztime=$(FUZZTIME) ./csvfile
	$(GO) test -run='^$$' -fuzz='^FuzzRenderText$$' -fuzztime=$(FUZZTIME) ./broadcasts

build:
	./scripts/build-static.sh bin/pregon
