# The hotline image: API, Celery worker and beat, and the AMI bridge all run from it.

# The staff console (console/): built here, so the image carries it and no Node.js at run time.
FROM node:20-bookworm-slim AS console
WORKDIR /src/console
COPY console/package.json console/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY console/ ./
RUN npm run build

FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
# espeak-ng and sox speak and convert the survey IVR's prompts (hotline prompts build).
RUN apt-get update && apt-get install -y --no-install-recommends espeak-ng sox && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 10001 hotline
COPY pyproject.toml README.md ./
COPY hotline ./hotline
COPY telephony ./telephony
COPY classifier ./classifier
COPY dispatch ./dispatch
COPY escalation ./escalation
COPY dashboards ./dashboards
COPY channels ./channels
COPY knowledge ./knowledge
COPY --from=console /src/hotline/console_dist ./hotline/console_dist
RUN pip install .
# The prompts in the image; the compose service `prompts` rebuilds them (with a center's
# recordings, if any) into the volume Asterisk plays them from.
RUN hotline prompts build --out /app/sounds && chown -R hotline /app/sounds
USER hotline
ENV HOTLINE_DATA_DIR=/home/hotline/var
EXPOSE 8000
CMD ["hotline", "api", "--host", "0.0.0.0", "--port", "8000"]
