#!/usr/bin/env python3
"""Fetches COUNT challenges from BASE/challenge and prints "token solution" lines, solved."""
import hashlib
import http.client
import json
import sys
from urllib.parse import urlparse


def leading_zero_bits(digest: bytes) -> int:
    bits = 0
    for byte in digest:
        if byte == 0:
            bits += 8
            continue
        return bits + 8 - byte.bit_length()
    return bits


def main() -> None:
    base, count = urlparse(sys.argv[1]), int(sys.argv[2])
    conn = http.client.HTTPConnection(base.hostname, base.port)
    out = sys.stdout
    for _ in range(count):
        conn.request("GET", "/challenge")
        challenge = json.loads(conn.getresponse().read())
        nonce, difficulty = challenge["nonce"], challenge["difficulty"]
        n = 0
        while leading_zero_bits(hashlib.sha256(f"{nonce}:{n}".encode()).digest()) < difficulty:
            n += 1
        out.write(f"{challenge['token']} {n}\n")


if __name__ == "__main__":
    main()
