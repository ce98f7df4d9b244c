# Redis for Weightless: redis-server and redis-sentinel from Debian, on the same base as the
# services. One image serves the primary, the replica and the sentinels (compose.yaml picks the
# command). Context: docker/.
ARG BASE_IMAGE=debian:bookworm
FROM ${BASE_IMAGE}
LABEL org.weightless.image=redis
RUN set -eux; \
    export DEBIAN_FRONTEND=noninteractive; \
    apt-get update -qq; \
    apt-get install -y -qq --no-install-recommends redis-server redis-sentinel redis-tools >/dev/null; \
    rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log /etc/redis/sentinel.conf; \
    install -d -o redis -g redis -m 0750 /data /etc/redis/sentinel
COPY sentinel-start.sh /usr/local/bin/wl-sentinel
USER redis
WORKDIR /data
VOLUME /data
EXPOSE 6379 26379
CMD ["redis-server", "--protected-mode", "no", "--dir", "/data", "--appendonly", "yes", "--appendfsync", "everysec"]
