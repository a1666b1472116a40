"""The README's Python verification of driftwatch's webhook signature.

TestVerifyPython runs it: the secret in $SECRET, the two headers in
$TIMESTAMP and $SIGNATURE, the body on stdin; it prints ok or rejected.
"""
import hashlib
import hmac
import os
import sys
import time


def verify(secret: bytes, headers, body: bytes, tolerance: int = 300) -> bool:
    ts = headers.get("X-Driftwatch-Timestamp", "")
    sig = headers.get("X-Driftwatch-Signature", "")
    if not ts.isdigit() or abs(time.time() - int(ts)) > tolerance:
        return False  # missing, or too old: a replay
    mac = hmac.new(secret, ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest("sha256=" + mac, sig)


if __name__ == "__main__":
    headers = {"X-Driftwatch-Timestamp": os.environ["TIMESTAMP"], "X-Driftwatch-Signature": os.environ["SIGNATURE"]}
    print("ok" if verify(os.environ["SECRET"].encode(), headers, sys.stdin.buffer.read()) else "rejected")
