# Build stage: the release binary (SQLite is compiled in; PostgreSQL needs libpq).
FROM rust:1.95-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends libpq-dev && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY migrations ./migrations
# Embedded in the binary at build time.
COPY dashboard ./dashboard
# A workspace member: cargo reads its manifest even when building the service alone.
COPY bench ./bench
RUN cargo build --release --locked --bin uppfoljning

# Run stage: the binary and the C library it links.
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends libpq5 ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /var/lib/uppfoljning --create-home uppfoljning
COPY --from=build /src/target/release/uppfoljning /usr/local/bin/uppfoljning
USER uppfoljning
WORKDIR /var/lib/uppfoljning
ENV BIND=0.0.0.0:8080 DATA_DIR=/var/lib/uppfoljning/data
EXPOSE 8080
ENTRYPOINT ["uppfoljning"]
CMD ["serve"]
