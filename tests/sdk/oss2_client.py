"""The official OSS Python SDK (oss2) against a running imgedge, unchanged: header-signed
get_object with a process (V1 and V4), presigned URLs (V1 and V4), a private bucket, and
tampered or expired URLs refused. Run by tests/sdk.rs; exits non-zero on the first failure.

Environment: IMGEDGE_ENDPOINT (http://127.0.0.1:PORT), IMGEDGE_AK, IMGEDGE_SK.
"""
import os
import re
import struct
import sys
import time

import oss2
import requests

EP = os.environ["IMGEDGE_ENDPOINT"]
AK = os.environ["IMGEDGE_AK"]
SK = os.environ["IMGEDGE_SK"]
PNG_100 = "image/resize,w_100/format,png"


def png_size(data):
    assert data[:8] == b"\x89PNG\r\n\x1a\n", data[:64]
    return struct.unpack(">II", data[16:24])


def code_of(resp):
    m = re.search(r"<Code>([^<]+)</Code>", resp.text)
    return m.group(1) if m else None


def check(name, cond, detail=""):
    if not cond:
        print(f"FAIL {name} {detail}")
        sys.exit(1)
    print(f"ok   {name}")


# is_cname: the endpoint is the bucket's own domain (the proxy maps 127.0.0.1 to it).
v1 = oss2.Bucket(oss2.Auth(AK, SK), EP, "demo", is_cname=True)
v4 = oss2.Bucket(oss2.AuthV4(AK, SK), EP, "demo", is_cname=True, region="cn-hangzhou")

for name, bucket in [("V1", v1), ("V4", v4)]:
    data = bucket.get_object("example.jpg", process=PNG_100).read()
    check(f"{name} get_object with process", png_size(data) == (100, 67), png_size(data))
    raw = bucket.get_object("example.jpg").read()
    check(f"{name} get_object raw", raw[:3] == b"\xff\xd8\xff" and len(raw) == 21839)
    data = bucket.get_object("中文 photo.jpg", process=PNG_100).read()
    check(f"{name} non-ASCII key", png_size(data) == (100, 67))
    url = bucket.sign_url("GET", "example.jpg", 60, params={"x-oss-process": PNG_100})
    r = requests.get(url)
    check(f"{name} sign_url", r.status_code == 200 and png_size(r.content) == (100, 67), r.text[:300])
    tampered = url.replace("w_100", "w_101")
    check(f"{name} tampered URL differs", tampered != url)
    r = requests.get(tampered)
    check(f"{name} tampered URL refused", r.status_code == 403 and code_of(r) == "SignatureDoesNotMatch", r.text[:300])
    try:
        bucket.get_object("nosuch.jpg")
        check(f"{name} missing key", False)
    except oss2.exceptions.NoSuchKey:
        check(f"{name} missing key raises NoSuchKey", True)

# Anonymous requests to the private bucket are refused; so is a wrong secret.
r = requests.get(f"{EP}/example.jpg?x-oss-process={PNG_100}")
check("anonymous refused", r.status_code == 403 and code_of(r) == "AccessDenied", r.text[:300])
wrong = oss2.Bucket(oss2.Auth(AK, SK + "x"), EP, "demo", is_cname=True)
try:
    wrong.get_object("example.jpg")
    check("wrong secret", False)
except oss2.exceptions.ServerError as e:
    check("wrong secret refused", e.status == 403 and e.code == "SignatureDoesNotMatch", e)

# Expired presigned URLs (V1: Expires; V4: x-oss-date + x-oss-expires).
for name, bucket in [("V1", v1), ("V4", v4)]:
    url = bucket.sign_url("GET", "example.jpg", 1, params={"x-oss-process": PNG_100})
    time.sleep(2.2)
    r = requests.get(url)
    check(f"{name} expired URL refused", r.status_code == 403 and code_of(r) == "AccessDenied", r.text[:300])

print("oss2 SDK: all checks passed")
