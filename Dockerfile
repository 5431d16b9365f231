# The atrest image: the static (musl) release binary and nothing else. The release workflow
# builds it from a directory holding atrest-linux-amd64 and atrest-linux-arm64, the binaries of
# its Linux archives (see .github/workflows/release.yml). To build one by hand:
#
#   cargo build --release --locked --target x86_64-unknown-linux-musl
#   mkdir image && cp target/x86_64-unknown-linux-musl/release/atrest image/atrest-linux-amd64
#   docker build --build-arg TARGETARCH=amd64 -t atrest -f Dockerfile image
#
# and to scan the current directory: docker run --rm -v "$PWD:/src:ro" atrest scan .
FROM scratch
ARG TARGETARCH
COPY --chmod=0755 atrest-linux-${TARGETARCH} /usr/local/bin/atrest
# CloudTrail scans spool candidate events to a temporary directory; scratch has none.
WORKDIR /tmp
ENV TMPDIR=/tmp
WORKDIR /src
ENTRYPOINT ["/usr/local/bin/atrest"]
CMD ["scan", "."]
