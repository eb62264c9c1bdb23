#!/bin/sh
# Requests a client credentials token with a private key instead of a secret (private_key_jwt):
# signs a one-minute client assertion with client-key.pem (Ed25519) and sends it.
# Usage: CLIENT_ID=ktc_... [KEYTURN=http://127.0.0.1:8080] [KEY=client-key.pem] ./token-with-key.sh
# KEYTURN must be the server's public URL exactly: the assertion's aud names it.
# Needs OpenSSL 3 and curl.
set -eu
KEYTURN=${KEYTURN:-http://127.0.0.1:8080}
KEY=${KEY:-client-key.pem}
b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
now=$(date +%s)
header=$(printf '{"alg":"EdDSA","typ":"JWT"}' | b64url)
claims=$(printf '{"iss":"%s","sub":"%s","aud":"%s/oauth/token","iat":%s,"exp":%s,"jti":"%s"}' \
  "$CLIENT_ID" "$CLIENT_ID" "$KEYTURN" "$now" "$((now + 60))" "$(openssl rand -hex 16)" | b64url)
input=$(mktemp)
trap 'rm -f "$input"' EXIT
printf '%s.%s' "$header" "$claims" > "$input"
signature=$(openssl pkeyutl -sign -rawin -inkey "$KEY" -in "$input" | b64url)
curl -sS "$KEYTURN/oauth/token" -d grant_type=client_credentials \
  -d client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer \
  -d "client_assertion=$header.$claims.$signature"
echo
