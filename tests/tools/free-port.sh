#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Prints a loopback TCP port nothing listens on now (the kernel's choice
# for a bind to port 0), for a server that must be told its port before it
# starts: nginx in `make bench`, the AMF's notifyUri and the HTTP/2 sink in
# the integration tests, the Diameter peers. Two calls may print the same
# port; a caller that needs two distinct ones checks.
exec python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
