#!/usr/bin/env bash
# The main job on a local throwaway test host: `demo.sh up` stands up the stack with
# playbooks/site.yml against inventories/local, runs playbooks/verify.yml and shows a client's
# view with curl; `demo.sh down` removes the host.
set -euo pipefail
cd "$(dirname "$0")/../.."
host=ollama-gate-demo
inv=inventories/local/hosts.yml
url=http://127.0.0.1:8080

show() { # <what> <credentials or ""> <curl args...>: the password is not echoed
  local what=$1 cred=$2; shift 2
  if [ -n "$cred" ]; then
    printf '\n# %s\n$ curl -u %s:******** %s\n' "$what" "${cred%%:*}" "$*"
    curl -sS -w '\n-> HTTP %{http_code}\n' -u "$cred" "$@"
  else
    printf '\n# %s\n$ curl %s\n' "$what" "$*"
    curl -sS -w '\n-> HTTP %{http_code}\n' "$@"
  fi
}

case "${1:-up}" in
  up)
    ansible-playbook tests/testhost/demo-up.yml
    ansible-playbook -i "$inv" playbooks/site.yml
    ansible-playbook -i "$inv" playbooks/verify.yml
    user=alice
    password=$(ansible-inventory -i "$inv" --host "$host" \
      | python3 -c 'import json, sys; print(json.load(sys.stdin)["vault_ollama_gate_passwords"]["alice"])')
    echo
    echo "== The gateway on $url (test host $host) =="
    show "no credentials: refused" "" -i "$url/api/tags"
    show "user $user: the model list" "$user:$password" "$url/api/tags"
    show "user $user: the server version" "$user:$password" "$url/api/version"
    echo
    echo "Credentials: inventories/local/group_vars/ollama_servers/vault.yml (demo only)."
    echo "Log in: docker exec -it $host bash    Remove: make demo-down"
    ;;
  down)
    docker rm -f "$host" >/dev/null 2>&1 || true
    echo "removed $host"
    ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
