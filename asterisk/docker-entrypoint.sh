#!/bin/sh
# Render /usr/share/hotline/templates/*.tmpl into /etc/asterisk from HOTLINE_* and start
# Asterisk in the foreground. The same {{placeholders}} as ivr/pbx/render.py; the AMI secret
# is required and checked like PbxConfig does (no ';', no whitespace: Asterisk config syntax).
# HOTLINE_RENDER_ONLY=1 renders into HOTLINE_RENDER_DIR and exits (tests/unit/test_pbx_docker.py
# compares the result with ivr/pbx/render.py).
set -eu
TEMPLATES=${HOTLINE_TEMPLATES_DIR:-/usr/share/hotline/templates}
TARGET=${HOTLINE_RENDER_DIR:-/etc/asterisk}

: "${HOTLINE_AMI_SECRET:?set HOTLINE_AMI_SECRET (12+ characters of A-Za-z0-9._~+/=@%^:-)}"
case "$HOTLINE_AMI_SECRET" in
  *[!A-Za-z0-9._~+/=@%^:-]*) echo "HOTLINE_AMI_SECRET has a character Asterisk configs can't hold" >&2; exit 2 ;;
esac
[ "${#HOTLINE_AMI_SECRET}" -ge 12 ] || { echo "HOTLINE_AMI_SECRET: 12 characters at least" >&2; exit 2; }

escape() { printf '%s' "$1" | sed -e 's/[\/&|]/\\&/g'; }

render() {
  sed \
    -e "s|{{ami_port}}|$(escape "${HOTLINE_AMI_PORT:-5038}")|g" \
    -e "s|{{ami_user}}|$(escape "${HOTLINE_AMI_USER:-hotline}")|g" \
    -e "s|{{ami_secret}}|$(escape "$HOTLINE_AMI_SECRET")|g" \
    -e "s|{{sip_port}}|$(escape "${HOTLINE_SIP_PORT:-5060}")|g" \
    -e "s|{{rtp_start}}|$(escape "${HOTLINE_RTP_PORT_START:-10000}")|g" \
    -e "s|{{rtp_end}}|$(escape "${HOTLINE_RTP_PORT_END:-10999}")|g" \
    -e "s|{{audiosocket_port}}|$(escape "${HOTLINE_AUDIOSOCKET_PORT:-9092}")|g" \
    -e "s|{{hotline_number}}|$(escape "${HOTLINE_HOTLINE_NUMBER:-19009120}")|g" \
    -e "s|{{agent_queue}}|$(escape "${HOTLINE_AGENT_QUEUE:-hotline-agents}")|g" \
    -e "s|{{prompts_path}}|/var/lib/hotline/prompts|g" \
    -e "s|{{recordings_path}}|/var/lib/hotline/recordings|g" \
    -e "s|{{agent_phones}}|; (none configured: HOTLINE_AGENT_PHONES)|g" \
    "$1"
}

for template in "$TEMPLATES"/*.conf.tmpl; do
  target="$TARGET/$(basename "$template" .tmpl)"
  render "$template" >"$target.tmp"
  if grep -q '{{' "$target.tmp"; then
    echo "unrendered placeholder in $target: $(grep -o '{{[^}]*}}' "$target.tmp" | head -1)" >&2
    exit 2
  fi
  if id asterisk >/dev/null 2>&1; then chown asterisk:asterisk "$target.tmp"; fi
  chmod 0640 "$target.tmp"
  mv "$target.tmp" "$target"
done
[ "${HOTLINE_RENDER_ONLY:-0}" = 1 ] && exit 0
chown asterisk:asterisk /var/lib/hotline/recordings /run/asterisk

exec /usr/sbin/asterisk -f -n -U asterisk -G asterisk -vvv
