# Andon in a container: one image for every command (andon serve, edge, simulate, ingest, ...).
#
#   docker build -t andon:0.2.0 .
#   docker run --rm andon:0.2.0 --version
#
# The build stage needs the package index (it builds wheels of Andon and its dependencies);
# the image it makes needs no network at run time but the plant's own (broker, database).
# compose.yaml runs a broker, the central server, an edge and the simulator from it;
# docs/operations.md, "Container", says more.

FROM python:3.11-slim AS wheels
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
# a dedicated user without a shell or a password; everything it writes is under /var/lib/andon
RUN groupadd --system --gid 10001 andon \
 && useradd --system --uid 10001 --gid andon --home-dir /var/lib/andon --create-home \
            --shell /usr/sbin/nologin andon
COPY --from=wheels /wheels /tmp/wheels
RUN pip install --no-cache-dir --no-index --find-links /tmp/wheels andon \
 && rm -rf /tmp/wheels
COPY examples /opt/andon/examples
# what every command reads unless told otherwise (flags win over these, docs/reference/settings.md)
ENV ANDON_SPEC=/opt/andon/examples/demo-plant.yaml \
    ANDON_DB=sqlite:////var/lib/andon/andon.db \
    ANDON_MODELS_DIR=/var/lib/andon/models \
    ANDON_DATA_DIR=/var/lib/andon/demo \
    ANDON_LOG_FORMAT=json
USER andon:andon
WORKDIR /var/lib/andon
VOLUME ["/var/lib/andon"]
EXPOSE 8080
ENTRYPOINT ["andon"]
CMD ["--help"]
