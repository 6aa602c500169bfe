# statement monitor as a long-running service: `monitor run`, state on a volume.
#
#   docker build -t statement-monitor .
#   docker run -d --name monitor -p 127.0.0.1:8787:8787 \
#     -e MONITOR_TOKEN="$(openssl rand -hex 32)" \
#     -v "$PWD/sources.toml:/data/sources.toml:ro" -v monitor-state:/data/state \
#     statement-monitor
#
# Listening on 0.0.0.0 inside the container needs MONITOR_TOKEN (the daemon refuses to start
# without it). Reload the sources file with `docker kill -s HUP monitor`.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv && /opt/venv/bin/python -m pip install --upgrade pip
COPY pyproject.toml README.md /src/
COPY monitor /src/monitor
RUN /opt/venv/bin/python -m pip install /src

FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN useradd --system --uid 10001 --user-group --home-dir /data --shell /usr/sbin/nologin monitor \
    && mkdir -p /data/state && chown -R monitor:monitor /data
COPY --from=build /opt/venv /opt/venv
COPY --chown=monitor:monitor sources.toml /data/sources.toml

USER monitor
WORKDIR /data
VOLUME ["/data/state"]
EXPOSE 8787
STOPSIGNAL SIGTERM
# /healthz needs no token; it answers 503 when checks have stopped (urlopen raises: exit 1).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8787/healthz', timeout=4)"]
ENTRYPOINT ["monitor"]
CMD ["run", "--config", "/data/sources.toml", "--state", "/data/state", "--listen", "0.0.0.0:8787"]
