# syntax=docker/dockerfile:1
# Build: one self-contained executable (migrations, PGlite and the docs UI embedded).
FROM oven/bun:1.4.5 AS build
WORKDIR /src
COPY package.json bun.lock ./
RUN bun install --frozen-lockfile
COPY . .
RUN bun run build && mkdir -p /data

# Run: only the binary, on a minimal glibc base, as a non-root user.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/dist/taskbase /usr/local/bin/taskbase
COPY --from=build --chown=65532:65532 /data /data
ENV ENVIRONMENT=production \
    HOST=0.0.0.0 \
    PORT=8000 \
    DATA_DIR=/data
VOLUME ["/data"]
WORKDIR /data
USER 65532:65532
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 CMD ["/usr/local/bin/taskbase", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/taskbase"]
CMD ["serve"]
