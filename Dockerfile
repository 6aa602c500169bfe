FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY monitor ./monitor
COPY notifications ./notifications
RUN python -m pip install --upgrade pip && python -m pip install . \
    && useradd --create-home --uid 10001 monitor \
    && mkdir -p /data/state && chown -R monitor /data
COPY sources.toml /data/sources.toml

USER monitor
WORKDIR /data
VOLUME ["/data/state"]
ENTRYPOINT ["monitor"]
CMD ["check", "--config", "/data/sources.toml", "--state", "/data/state"]
