# slpemu fleet shard: `slpemu fleet serve` on the pod's address, one device per port block.
#   docker build -t slpemu:0.1.0 .
#   docker run --rm -v slpemu-state:/var/lib/slpemu -p 30000-30029:30000-30029 -p 29999:29999 slpemu:0.1.0
# Kubernetes: deploy/k8s (kustomize), one StatefulSet pod per shard.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    SLPEMU_YANG_DIR=/opt/slpemu/yang

RUN groupadd --system --gid 10001 slpemu \
 && useradd --system --uid 10001 --gid slpemu --home-dir /var/lib/slpemu --shell /usr/sbin/nologin slpemu

WORKDIR /opt/slpemu
COPY pyproject.toml README.md ./
COPY emulator ./emulator
COPY bindings ./bindings
COPY yang ./yang
RUN pip install . \
 && mkdir -p /var/lib/slpemu /etc/slpemu \
 && chown slpemu:slpemu /var/lib/slpemu
COPY deploy/k8s/inventory.yaml /etc/slpemu/inventory.yaml

USER 10001:10001
# device state (SQLite store, flash, keys) lives on a volume: a restarted shard is the same routers
VOLUME ["/var/lib/slpemu"]
# management (fleet page, control RPCs) and the devices' port blocks (3 ports per device from 30000)
EXPOSE 29999 30000-30299

HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
  CMD ["slpemu", "fleet", "status", "--state-dir", "/var/lib/slpemu"]

ENTRYPOINT ["slpemu", "fleet", "serve"]
CMD ["/etc/slpemu/inventory.yaml", "--state-dir", "/var/lib/slpemu", "--single-address", "0.0.0.0", \
     "--port-start", "30000", "--shard", "local", "--quiet"]
