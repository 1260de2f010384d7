"""The official OSS Python SDK (oss2) driving imgedge's write path and bucket APIs, unchanged:
process_object with sys/saveas (same bucket, another bucket, an S3-backed bucket, variables,
V1 and V4), async_process_object, the style API, the referer API, processConfiguration through
signed requests, and the refusals of acceptance 2. Run by tests/write.rs in phases:

  IMGEDGE_PHASE=write     everything that writes and configures
  IMGEDGE_PHASE=refuse    only refused requests (tests/write.rs lists the buckets around it)
  IMGEDGE_PHASE=restarted what the APIs set must have survived the restart

Environment: IMGEDGE_ENDPOINT, IMGEDGE_WRITER_AK/SK, IMGEDGE_READER_AK/SK, IMGEDGE_HOSTILE (JSON
list of object keys). Exits non-zero on the first failure.
"""
import base64
import json
import os
import re
import struct
import sys
import time

import oss2
import requests

EP = os.environ["IMGEDGE_ENDPOINT"]
WAK, WSK = os.environ["IMGEDGE_WRITER_AK"], os.environ["IMGEDGE_WRITER_SK"]
RAK, RSK = os.environ["IMGEDGE_READER_AK"], os.environ["IMGEDGE_READER_SK"]
PHASE = os.environ["IMGEDGE_PHASE"]


def b64(s):
    return base64.urlsafe_b64encode(s.encode()).decode().rstrip("=")


def png_size(data):
    assert data[:8] == b"\x89PNG\r\n\x1a\n", data[:64]
    return struct.unpack(">II", data[16:24])


def xml_tag(text, tag):
    m = re.search(f"<{tag}>([^<]*)</{tag}>", text)
    return m.group(1) if m else None


def check(name, cond, detail=""):
    if not cond:
        print(f"FAIL {name} {detail}")
        sys.exit(1)
    print(f"ok   {name}")


def refused(name, fn, status, code, ec=None):
    try:
        fn()
    except oss2.exceptions.OssError as e:
        got_ec = e.details.get("EC")
        ok = e.status == status and e.code == code and (ec is None or got_ec == ec)
        check(name, ok, f"{e.status} {e.code} {got_ec}")
        return
    check(name, False, "was accepted")


def bucket(auth, name):
    # An IP endpoint: the SDK addresses buckets path-style (/<bucket>/<key>), as imgedge routes.
    return oss2.Bucket(auth, EP, name)


v1, v4 = oss2.Auth(WAK, WSK), oss2.AuthV4(WAK, WSK)
V4_REGION = "cn-hangzhou"
demo_v1, other_v1, cloud_v1 = (bucket(v1, n) for n in ("demo", "other", "cloud"))
demo_v4 = oss2.Bucket(v4, EP, "demo", region=V4_REGION)


def signed_bucket_call(b, method, params, data=None):
    """A bucket sub-resource the SDK has no method for (processConfiguration, the task status):
    the SDK's own request path and signer, V4 (which signs every query parameter)."""
    return b._Bucket__do_bucket(method, params=params, data=data)


def task_status(b, task_id):
    resp = signed_bucket_call(b, "GET", {"x-oss-async-task": task_id})
    return json.loads(resp.read())


if PHASE == "write":
    # saveas into the same bucket, V1 and V4.
    for name, b in [("V1", demo_v1), ("V4", demo_v4)]:
        target = f"out/{name}.png"
        r = b.process_object("example.jpg", f"image/resize,w_100/format,png|sys/saveas,o_{b64(target)}")
        check(f"{name} saveas answers OSS JSON", r.status == 200 and r.process_status == "OK" and r.object == target and r.bucket == "demo", vars(r))
        data = b.get_object(target).read()
        check(f"{name} saveas object decodes at the requested size", png_size(data) == (100, 67) and len(data) == r.fileSize)
    # Standard, padded base64 works too (the JS SDK writes it).
    std = base64.b64encode(b"out/std.png").decode()
    r = demo_v1.process_object("example.jpg", f"image/resize,w_40/format,png|sys/saveas,o_{std}")
    check("standard base64 target", r.object == "out/std.png" and png_size(demo_v1.get_object("out/std.png").read()) == (40, 27))
    # Another bucket (directory) and an S3-backed bucket.
    for target_bucket, reader in [("other", other_v1), ("cloud", cloud_v1)]:
        r = demo_v4.process_object("example.jpg", f"image/resize,w_64/format,png|sys/saveas,o_{b64('from-demo.png')},b_{b64(target_bucket)}")
        check(f"saveas into {target_bucket}", r.bucket == target_bucket and png_size(reader.get_object("from-demo.png").read()) == (64, 43), vars(r))
    # Same bucket on S3.
    # Purge by source (README "Scale-out"): V4 signs every parameter; V1 signs only known
    # sub-resources, so the SDK is told of x-imgedge-purge first.
    requests.get(f"{EP}/demo/example.jpg?x-oss-process=image/resize,w_30")
    r = demo_v4.delete_object("example.jpg", params={"x-imgedge-purge": ""})
    check("V4 purge by source", r.status == 204 and r.headers.get("Cache-Tag") == "demo/example.jpg", (r.status, dict(r.headers)))
    oss2.auth.ProviderAuth._subresource_key_set |= {"x-imgedge-purge"}
    r = demo_v1.delete_object("example.jpg", params={"x-imgedge-purge": ""})
    check("V1 purge by source", r.status == 204 and r.headers.get("x-imgedge-purged") == "0", (r.status, dict(r.headers)))
    check("a purge leaves the object", len(demo_v1.get_object("example.jpg").read()) > 0)
    r = cloud_v1.process_object("example.jpg", f"image/resize,w_30/format,png|sys/saveas,o_{b64('s3/thumb.png')}")
    check("saveas within the S3 bucket", png_size(cloud_v1.get_object("s3/thumb.png").read()) == (30, 20))
    # Variables: {dirname}/{barename}_w50.{autoext}, and {bucket} as the target bucket.
    r = demo_v1.process_object("sub/photo.jpg", f"image/resize,w_50/format,webp|sys/saveas,o_{b64('{dirname}/{barename}_w50.{autoext}')},b_{b64('{bucket}')}")
    check("variables expand", r.object == "sub/photo_w50.webp" and r.bucket == "demo", vars(r))
    check("expanded target exists", demo_v1.get_object("sub/photo_w50.webp").read()[8:12] == b"WEBP")
    # Overwriting a source with cached variants: the next GETs see the new bytes (dir and S3).
    for name, b in [("dir", demo_v1), ("s3", cloud_v1)]:
        info = lambda: json.loads(b.get_object("victim.jpg", process="image/info").read())
        check(f"{name} victim before", info()["ImageWidth"]["value"] == "400")
        b.process_object("victim.jpg", f"image/resize,w_200|sys/saveas,o_{b64('victim.jpg')}")
        check(f"{name} processed GET follows the overwrite", info()["ImageWidth"]["value"] == "200")
        raw = b.get_object("victim.jpg").read()
        check(f"{name} raw GET follows the overwrite", struct.unpack(">H", raw[raw.index(b"\xff\xc0") + 7:][:2])[0] == 200)
    # Asynchronous processing: answered at once, the target appears when done.
    r = demo_v1.async_process_object("example.jpg", f"image/resize,w_80/format,png|sys/saveas,o_{b64('async/a.png')}/notify,topic_{b64('ignored')}")
    check("async answers ids", bool(r.task_id) and bool(r.event_id) and bool(r.async_request_id), vars(r))
    state = {}
    for _ in range(100):
        state = task_status(demo_v4, r.task_id)
        if state["State"] in ("Succeeded", "Failed"):
            break
        time.sleep(0.1)
    check("async task succeeds", state.get("State") == "Succeeded" and state.get("Object") == "async/a.png", state)
    check("async target appears", png_size(demo_v1.get_object("async/a.png").read()) == (80, 53))
    bad = demo_v1.async_process_object("nosuch.jpg", f"image/resize,w_80|sys/saveas,o_{b64('async/never.jpg')}")
    for _ in range(100):
        state = task_status(demo_v4, bad.task_id)
        if state["State"] in ("Succeeded", "Failed"):
            break
        time.sleep(0.1)
    check("a failing task reports its error", state.get("State") == "Failed" and state.get("Code") == "NoSuchKey", state)
    refused("unknown task", lambda: task_status(demo_v4, "ImgProcess-nosuch"), 404, "NoSuchTask")

    # The style API.
    demo_v1.put_bucket_style("small", "image/resize,w_50/format,png")
    got = demo_v1.get_bucket_style("small")
    check("get_bucket_style", got.name == "small" and got.content == "image/resize,w_50/format,png" and got.create_time, vars(got))
    names = [s.name for s in demo_v4.list_bucket_style().styles]
    check("list_bucket_style", "small" in names and "thumb" in names, names)
    r = requests.get(f"{EP}/demo/example.jpg!small")
    check("a new style applies at once", r.status_code == 200 and png_size(r.content) == (50, 33), r.text[:200])
    demo_v4.put_bucket_style("small", "image/resize,w_60/format,png")
    r = requests.get(f"{EP}/demo/example.jpg!small")
    check("a changed style is never served from the old definition", png_size(r.content) == (60, 40))
    demo_v1.delete_bucket_style("small")
    refused("deleted style", lambda: demo_v1.get_bucket_style("small"), 404, "NoSuchStyle")
    r = requests.get(f"{EP}/demo/example.jpg?x-oss-process=style/small")
    check("deleted style no longer serves", r.status_code == 404 and xml_tag(r.text, "Code") == "NoSuchStyle", r.text[:200])
    refused("bad style name", lambda: demo_v1.put_bucket_style("bad!name", "image/resize,w_1"), 400, "InvalidArgument", "0017-00000251")
    # oss2 sends a space in a query value as `+` and signs the decoded value (V1 and V4 alike):
    # the name's own 400 must come back, not SignatureDoesNotMatch.
    refused("style name with a space, V1", lambda: demo_v1.put_bucket_style("bad name!", "image/resize,w_1"), 400, "InvalidArgument", "0017-00000251")
    refused("style name with a space, V4", lambda: demo_v4.put_bucket_style("bad name!", "image/resize,w_1"), 400, "InvalidArgument", "0017-00000251")
    refused("long style name", lambda: demo_v1.put_bucket_style("s" * 64, "image/resize,w_1"), 400, "InvalidArgument", "0017-00000250")
    refused("bad style content", lambda: demo_v1.put_bucket_style("broken", "image/resize,w_0"), 400, "InvalidArgument")
    refused("read-only key cannot put styles", lambda: bucket(oss2.Auth(RAK, RSK), "demo").put_bucket_style("x", "image/resize,w_1"), 403, "AccessDenied")
    demo_v1.put_bucket_style("keep", "image/resize,w_70/format,png")

    # The referer API: the rule takes effect on the next request.
    demo_v1.put_bucket_referer(oss2.models.BucketReferer(False, ["https://good.test", "https://*.good.test"]))
    got = demo_v4.get_bucket_referer()
    check("get_bucket_referer", got.allow_empty_referer is False and got.referers == ["https://good.test", "https://*.good.test"], vars(got))
    r = requests.get(f"{EP}/demo/example.jpg")
    check("empty referer now refused", r.status_code == 403 and xml_tag(r.text, "EC") == "0003-00000501", r.text[:300])
    r = requests.get(f"{EP}/demo/example.jpg", headers={"Referer": "https://img.good.test/page"})
    check("whitelisted referer allowed", r.status_code == 200)

    # processConfiguration: source protection and separators, normalised.
    body = ("<BucketProcessConfiguration><CompliedHost>Both</CompliedHost><SourceFileProtect>Enabled</SourceFileProtect>"
            "<SourceFileProtectSuffix>jpg</SourceFileProtectSuffix><StyleDelimiters>!,-</StyleDelimiters>"
            "<OssDomainSupportAtProcess>Disabled</OssDomainSupportAtProcess></BucketProcessConfiguration>")
    signed_bucket_call(demo_v4, "PUT", {"processConfiguration": ""}, body)
    got = signed_bucket_call(demo_v4, "GET", {"processConfiguration": ""}).read().decode()
    check("processConfiguration reads back normalised", xml_tag(got, "StyleDelimiters") == "-,!" and xml_tag(got, "SourceFileProtect") == "Enabled", got)
    r = requests.get(f"{EP}/demo/example.jpg?x-oss-process=image/resize,w_10", headers={"Referer": "https://good.test/"})
    check("protection applies at once", r.status_code == 403 and xml_tag(r.text, "EC") == "0040-00000031", r.text[:300])
    r = requests.get(f"{EP}/demo/example.jpg-keep", headers={"Referer": "https://good.test/"})
    check("the new separator works", r.status_code == 200 and png_size(r.content) == (70, 47), r.text[:300])
    r = requests.put(f"{EP}/demo/?processConfiguration", data=body)
    check("unsigned processConfiguration refused", r.status_code == 403 and xml_tag(r.text, "Code") == "AccessDenied", r.text[:300])
    r = requests.get(f"{EP}/demo/?style")
    check("unsigned ListStyle refused", r.status_code == 403, r.text[:300])

elif PHASE == "refuse":
    src = "image/resize,w_20/format,png|sys/saveas,o_"
    hostile = json.loads(os.environ["IMGEDGE_HOSTILE"])
    for i, key in enumerate(hostile):
        for b in (demo_v1, cloud_v1):
            refused(f"hostile key {i} into {b.bucket_name}", lambda: b.process_object("example.jpg", src + base64.urlsafe_b64encode(key.encode()).decode()), 400, "InvalidArgument")
    refused("hostile key through a variable", lambda: demo_v1.process_object("example.jpg", src + b64("{dirname}/../x.png")), 400, "InvalidArgument")
    refused("unknown bucket", lambda: demo_v1.process_object("example.jpg", src + b64("x.png") + ",b_" + b64("nosuch")), 404, "NoSuchBucket")
    refused("read-only origin", lambda: demo_v1.process_object("example.jpg", src + b64("x.png") + ",b_" + b64("webro")), 403, "AccessDenied")
    reader = bucket(oss2.Auth(RAK, RSK), "demo")
    refused("read-only key", lambda: reader.process_object("example.jpg", src + b64("x.png")), 403, "AccessDenied")
    refused("read-only key into S3", lambda: bucket(oss2.Auth(RAK, RSK), "cloud").process_object("example.jpg", src + b64("x.png")), 403, "AccessDenied")
    refused("purge with a read-only key", lambda: oss2.Bucket(oss2.AuthV4(RAK, RSK), EP, "demo", region=V4_REGION).delete_object("example.jpg", params={"x-imgedge-purge": ""}), 403, "AccessDenied")
    refused("wrong secret", lambda: bucket(oss2.Auth(WAK, WSK + "x"), "demo").process_object("example.jpg", src + b64("x.png")), 403, "SignatureDoesNotMatch")
    refused("V4 wrong secret", lambda: oss2.Bucket(oss2.AuthV4(WAK, WSK + "x"), EP, "demo", region=V4_REGION).process_object("example.jpg", src + b64("x.png")), 403, "SignatureDoesNotMatch")
    r = requests.post(f"{EP}/demo/example.jpg?x-oss-process", data="x-oss-process=" + src + b64("x.png"))
    check("unsigned saveas refused", r.status_code == 403 and xml_tag(r.text, "Code") == "AccessDenied", r.text[:300])
    refused("oversized body", lambda: demo_v1.process_object("example.jpg", src + b64("x.png") + "," + "a" * 70000), 400, "EntityTooLarge")
    refused("saveas of a missing source", lambda: demo_v1.process_object("nosuch.jpg", src + b64("x.png")), 404, "NoSuchKey")
    refused("POST without saveas", lambda: demo_v1.process_object("example.jpg", "image/resize,w_20"), 400, "MissingArgument")
    r = requests.get(f"{EP}/demo/example.jpg?x-oss-process=" + src + b64("x.png"))
    check("saveas in a GET refused", r.status_code == 400)

elif PHASE == "restarted":
    got = demo_v1.get_bucket_style("keep")
    check("styles survive a restart", got.content == "image/resize,w_70/format,png")
    names = [s.name for s in demo_v1.list_bucket_style().styles]
    check("deleted styles stay deleted", "small" not in names and "thumb" in names, names)
    r = requests.get(f"{EP}/demo/example.jpg")
    check("referer rules survive a restart", r.status_code == 403 and xml_tag(r.text, "EC") == "0003-00000501", r.text[:300])
    got = signed_bucket_call(demo_v4, "GET", {"processConfiguration": ""}).read().decode()
    check("processConfiguration survives a restart", xml_tag(got, "StyleDelimiters") == "-,!" and xml_tag(got, "SourceFileProtectSuffix") == "jpg", got)
    r = requests.get(f"{EP}/demo/example.jpg-keep", headers={"Referer": "https://good.test/"})
    check("a stored style serves after the restart", r.status_code == 200 and png_size(r.content) == (70, 47))

print(f"oss2 write path ({PHASE}): all checks passed")
