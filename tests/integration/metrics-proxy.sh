#!/bin/bash
# metrics-proxy.sh: the README's recipe for scraping augurd's metrics across
# an untrusted network — nginx in front with TLS and basic auth, augurd's
# own endpoint on loopback — run for real.
#
# augurd (against libvirt's test driver: no guest is needed to serve
# metrics) listens on 127.0.0.1:P as shipped.  nginx, Debian's own binary,
# runs the README's server block on 127.0.0.1:Q with a throw-away
# self-signed certificate and an htpasswd file made with `openssl passwd`.
# Asserted:
#   - https with the right user and password: 200 and augur's exposition
#     (augur_build_info), verified against the certificate;
#   - no password, or a wrong one: 401, and no exposition;
#   - plain http to the TLS port: no exposition;
#   - the Prometheus scrape job the README gives (scheme https, basic_auth,
#     tls_config ca_file) passes `promtool check config` when promtool is
#     there.
# nginx is the binary from Debian's nginx package, unpacked by
# scripts/install-deps (no service is installed or started); without it
# the test skips.  Wall time: a few seconds.  Exit: 0 pass, 1 fail, 77 skip.
set -euo pipefail
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname -- "${BASH_SOURCE[0]}")/augurd-lib.sh"

augur_it_require_augur
NGINX=$(command -v nginx 2>/dev/null || echo /usr/local/libexec/augur-test/nginx)
[[ -x $NGINX ]] || augur_it_skip "no nginx (scripts/install-deps unpacks Debian's to /usr/local/libexec/augur-test/nginx)"
for c in openssl curl; do
    command -v "$c" >/dev/null 2>&1 || augur_it_skip "no $c"
done

AUGUR_IT_DIR=$(mktemp -d /tmp/augur-proxy.XXXXXX)
AUGUR_IT_URI=test:///default
NGINX_PID=
cleanup() {
    local rc=$?
    set +e
    augur_it_stop_augurd
    [[ -n $NGINX_PID ]] && kill "$NGINX_PID" 2>/dev/null && wait "$NGINX_PID" 2>/dev/null
    if ((rc == 0)); then rm -rf -- "$AUGUR_IT_DIR"; else echo "kept $AUGUR_IT_DIR for inspection"; fi
    exit "$rc"
}
trap cleanup EXIT
D=$AUGUR_IT_DIR

# augurd on a free loopback port (its own bind is the arbiter).
PORT=
for try in 1 2 3; do
    p=$((20000 + (RANDOM % 20000)))
    printf '[metrics]\nport=%d\n' "$p" >"$D/augur.conf"
    augur_it_start_augurd --tick 1 --mode observe
    if augur_it_wait_log "metrics on http://127.0.0.1:$p/metrics" 1 10; then
        PORT=$p
        break
    fi
    augur_it_stop_augurd
done
[[ -n $PORT ]] || augur_it_fail "augurd never served metrics: $(tail -n 3 "$D/augurd.log")"

# A certificate for 127.0.0.1 and the scraper's password.
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 -keyout "$D/key.pem" -out "$D/cert.pem" 2>/dev/null ||
    augur_it_fail "openssl could not make a certificate"
printf 'prometheus:%s\n' "$(openssl passwd -apr1 's3cret-scrape')" >"$D/augur.htpasswd"

# The README's server block, with this run's paths and ports; the rest is
# what nginx needs to run from a temp dir (as root, its workers too, so
# that they read the files here).
QPORT=
for try in 1 2 3; do
    q=$((20000 + (RANDOM % 20000)))
    ((q == PORT)) && continue
    mkdir -p "$D/nginx"
    cat >"$D/nginx.conf" <<EOF
user root;
daemon off;
master_process off;
pid $D/nginx/pid;
error_log $D/nginx/error.log;
events {}
http {
    access_log off;
    client_body_temp_path $D/nginx/body;
    proxy_temp_path $D/nginx/proxy;
    fastcgi_temp_path $D/nginx/fastcgi;
    uwsgi_temp_path $D/nginx/uwsgi;
    scgi_temp_path $D/nginx/scgi;
    server {
        listen 127.0.0.1:$q ssl;
        ssl_certificate $D/cert.pem;
        ssl_certificate_key $D/key.pem;
        auth_basic "augur";
        auth_basic_user_file $D/augur.htpasswd;
        location /metrics { proxy_pass http://127.0.0.1:$PORT; }
    }
}
EOF
    "$NGINX" -p "$D/nginx" -e "$D/nginx/error.log" -c "$D/nginx.conf" &
    NGINX_PID=$!
    up() { curl -sk -o /dev/null "https://127.0.0.1:$q/"; }
    if augur_it__poll 10 up; then
        QPORT=$q
        break
    fi
    kill "$NGINX_PID" 2>/dev/null; wait "$NGINX_PID" 2>/dev/null || true
    NGINX_PID=
done
[[ -n $QPORT ]] || augur_it_fail "nginx did not start: $(tail -n 3 "$D/nginx/error.log" 2>/dev/null)"
augur_it_log "augurd metrics on 127.0.0.1:$PORT, nginx (TLS + basic auth) on 127.0.0.1:$QPORT"

URL=https://127.0.0.1:$QPORT/metrics
code=$(curl -s --cacert "$D/cert.pem" -u 'prometheus:s3cret-scrape' -o "$D/ok.txt" -w '%{http_code}' "$URL") || true
[[ $code == 200 ]] || augur_it_fail "https with the password: HTTP $code"
grep -q '^augur_build_info{' "$D/ok.txt" || augur_it_fail "https with the password: no augur_build_info in $(head -c 200 "$D/ok.txt")"
code=$(curl -s --cacert "$D/cert.pem" -o "$D/noauth.txt" -w '%{http_code}' "$URL") || true
[[ $code == 401 ]] || augur_it_fail "https without a password: HTTP $code, not 401"
code=$(curl -s --cacert "$D/cert.pem" -u 'prometheus:wrong' -o "$D/wrong.txt" -w '%{http_code}' "$URL") || true
[[ $code == 401 ]] || augur_it_fail "https with a wrong password: HTTP $code, not 401"
if grep -qh '^augur_' "$D/noauth.txt" "$D/wrong.txt"; then
    augur_it_fail "the exposition came back without the right password"
fi
curl -s -u 'prometheus:s3cret-scrape' -o "$D/plain.txt" "http://127.0.0.1:$QPORT/metrics" || true
grep -q '^augur_' "$D/plain.txt" && augur_it_fail "plain http to the TLS port got the exposition"
augur_it_log "https + password: 200 with the exposition; no password, wrong password: 401; plain http: refused"

# The scrape job the README gives, checked by Prometheus' own tool.
if command -v promtool >/dev/null 2>&1; then
    printf 'prometheus-password\n' >"$D/password"
    cat >"$D/prometheus.yml" <<EOF
scrape_configs:
  - job_name: augur
    scheme: https
    tls_config:
      ca_file: $D/cert.pem
    basic_auth:
      username: prometheus
      password_file: $D/password
    static_configs:
      - targets: ['127.0.0.1:$QPORT']
EOF
    promtool check config "$D/prometheus.yml" >"$D/promtool.log" 2>&1 ||
        augur_it_fail "promtool check config: $(cat "$D/promtool.log")"
    augur_it_log "the README's scrape job passes promtool check config"
else
    augur_it_log "promtool not installed: the scrape job was not checked"
fi
augur_it_log "PASS"
