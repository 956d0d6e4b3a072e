# syntax=docker/dockerfile:1
# Build: docker build -t pregon .
# Run:   docker run -p 8090:8090 -v pregon_data:/pb_data -e PREGON_SECRET_KEY=... pregon

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN ./scripts/build-static.sh /out/pregon \
 && mkdir -p /out/pb_data

FROM scratch
# CA roots for HTTPS to the providers; time zones are compiled into the binary.
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/pregon /pregon
COPY --from=build --chown=65532:65532 /out/pb_data /pb_data
USER 65532:65532
VOLUME /pb_data
EXPOSE 8090
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 CMD ["/pregon", "healthcheck"]
ENTRYPOINT ["/pregon"]
CMD ["serve", "--http=0.0.0.0:8090", "--dir=/pb_data"]
