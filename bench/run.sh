#!/usr/bin/env bash
# Benchmarks on the demo gateway (`make demo`), each printing ratios measured side by side:
# auth overhead for each proxy (nginx as `make demo` left it, then the same host switched to
# Caddy, Debian's package, then back to nginx), Bearer keys vs Basic and the cost per request at
# 10/100/1,000 credentials with a static upstream (each proxy), rotating 200 users vs an htpasswd loop, and
# the cost of one Ansible task per connection setting (what the test suite's speed rests on).
set -euo pipefail
cd "$(dirname "$0")/.."
inv=inventories/local/hosts.yml
command -v wrk >/dev/null || apt-get install -y -qq wrk
python bench/auth_overhead.py --proxy nginx
python bench/access_overhead.py --proxy nginx
ansible-playbook -i "$inv" playbooks/gateway.yml -e ollama_gate_proxy=caddy -e caddy_gateway_install_method=distribution >/dev/null
python bench/auth_overhead.py --proxy caddy
python bench/access_overhead.py --proxy caddy
ansible-playbook -i "$inv" playbooks/gateway.yml -e ollama_gate_proxy=nginx >/dev/null
# Rotating 200 users: rotate-users.yml (whole run and --tags users) vs a community.general.htpasswd loop
python bench/rotate_users.py --users 200
# Cost of one Ansible task on a test host: Docker connection with and without pipelining, docker_api
python bench/connection.py
