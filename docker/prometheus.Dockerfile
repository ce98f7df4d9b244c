# Prometheus from Debian's package, on the same base as the services, with the scrape config of
# docker/prometheus.yml baked in (mount another over /etc/prometheus/prometheus.yml to change it
# without a rebuild). Context: docker/.
ARG BASE_IMAGE=debian:bookworm
FROM ${BASE_IMAGE}
LABEL org.weightless.image=prometheus
RUN set -eux; \
    export DEBIAN_FRONTEND=noninteractive; \
    apt-get update -qq; \
    apt-get install -y -qq --no-install-recommends prometheus >/dev/null; \
    rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log; \
    # libjs-moment-timezone ships every tz release since 2014 (~210 MB); the classic UI loads
    # only moment-timezone-with-data.min.js
    rm -rf /usr/share/javascript/moment-timezone/data; \
    install -d -o prometheus -g prometheus -m 0750 /var/lib/prometheus/metrics2
COPY prometheus.yml /etc/prometheus/prometheus.yml
USER prometheus
VOLUME /var/lib/prometheus/metrics2
EXPOSE 9090
ENTRYPOINT ["/usr/bin/prometheus"]
CMD ["--config.file=/etc/prometheus/prometheus.yml", \
     "--storage.tsdb.path=/var/lib/prometheus/metrics2", \
     "--storage.tsdb.retention.time=15d", \
     "--web.listen-address=:9090", \
     "--web.console.libraries=/usr/share/prometheus/console_libraries", \
     "--web.console.templates=/etc/prometheus/consoles"]
