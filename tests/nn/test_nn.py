"""WASI-NN (TensorFlow Lite), the edgecar_image module and the classify function, against
the real binary. The TensorFlow Lite runtime in Python (PyPI ai-edge-litert) is the
oracle for model outputs; Pillow for decoded pixels."""

import glob
import io
import json
import os
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from edgecar_server import BIN, Server  # noqa: E402

GUESTS = os.path.abspath(os.environ.get("NN_GUEST_DIR", "build/tests/nn_guests"))
FUNCTIONS = os.path.abspath(os.environ.get("FUNCTIONS_DIR", "build/functions"))
REGRESSIONS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fuzz-regressions")
from shared_data import DATA  # noqa: E402  (the suite runs only where it exists: tests/CMakeLists.txt)

IMAGES = sorted(glob.glob(os.path.join(DATA, "images", "*")))
MODELS = {  # file: input size
    "mobilenet_v2_1.0_224_quant": 224,
    "mobilenet_v1_0.75_192_quant": 192,
    "mobilenet_v1_0.25_128_quant": 128,
}
V2 = os.path.join(DATA, "models", "mobilenet_v2_1.0_224_quant.tflite")
LABELS = os.path.join(DATA, "labels")


def run(args, stdin=b"", env=()):
    cmd = [BIN, "run"]
    for e in env:
        cmd += ["--env", e]
    return subprocess.run(cmd + args, input=stdin, capture_output=True, timeout=120)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def test_data_present():
    assert len(IMAGES) == 7, IMAGES
    for m in MODELS:
        assert os.path.isfile(os.path.join(DATA, "models", m + ".tflite"))


# ---- the oracle: edgecar's outputs equal the TensorFlow Lite runtime's ----


@pytest.mark.parametrize("model", sorted(MODELS))
def test_outputs_equal_tflite_runtime(model):
    size = MODELS[model]
    path = os.path.join(DATA, "models", model + ".tflite")
    oracle = Interpreter(model_path=path, num_threads=1)
    oracle.allocate_tensors()
    inp, out = oracle.get_input_details()[0], oracle.get_output_details()[0]
    assert inp["dtype"] == np.uint8 and out["dtype"] == np.uint8
    for img in IMAGES:
        r = run(
            ["--nn-preload", f"m:tensorflowlite:cpu:{path}", f"{GUESTS}/nn_probe.wasm"],
            read(img),
            env=[f"SIZE={size}"],
        )
        assert r.returncode == 0, r.stderr.decode()
        b = r.stdout
        n = struct.unpack("<I", b[:4])[0]
        x = np.frombuffer(b[4 : 4 + n], np.uint8)
        m = struct.unpack("<I", b[4 + n : 8 + n])[0]
        y = np.frombuffer(b[8 + n : 8 + n + m], np.uint8)
        assert n == size * size * 3 and m == 1001
        oracle.set_tensor(inp["index"], x.reshape(inp["shape"]))
        oracle.invoke()
        ref = oracle.get_tensor(out["index"]).reshape(-1)
        # uint8 models: byte-identical.
        assert np.array_equal(ref, y), (
            f"{model} {os.path.basename(img)}: {int(np.abs(ref.astype(int) - y).max())} max difference"
        )


def test_float_model_with_every_operator(tmp_path):
    """f32 tensors through WASI-NN on a model using all the operators the issue lists."""
    sys.path.insert(0, os.path.dirname(__file__))
    import float_model

    path = tmp_path / "float.tflite"
    path.write_bytes(float_model.build())
    oracle = Interpreter(model_path=str(path), num_threads=1)
    oracle.allocate_tensors()
    rng = np.random.default_rng(3)
    for _ in range(5):
        x = rng.standard_normal((1, 8, 8, 3)).astype(np.float32)
        f32 = 1
        tensor = struct.pack("<II4I", f32, 4, 1, 8, 8, 3) + x.tobytes()
        r = run(["--nn-preload", f"m:tensorflowlite:cpu:{path}", f"{GUESTS}/nn_run.wasm"], tensor)
        assert r.returncode == 0, r.stderr.decode()
        y = np.frombuffer(r.stdout, np.float32)
        oracle.set_tensor(oracle.get_input_details()[0]["index"], x)
        oracle.invoke()
        ref = oracle.get_tensor(oracle.get_output_details()[0]["index"]).reshape(-1)
        assert y.shape == ref.shape == (5,)
        assert np.allclose(y, ref, rtol=1e-5, atol=0), (y, ref)
    # The wrong element type is refused with the expected shape in the message.
    r = run(
        ["--nn-preload", f"m:tensorflowlite:cpu:{path}", f"{GUESTS}/nn_run.wasm"],
        struct.pack("<II4I", 2, 4, 1, 8, 8, 3) + bytes(192),
    )
    assert r.returncode == 1 and "input 0 must be f32 [1,8,8,3]" in r.stderr.decode()


def test_unsupported_operator_named_at_load(tmp_path):
    sys.path.insert(0, os.path.dirname(__file__))
    import float_model

    path = tmp_path / "custom.tflite"
    path.write_bytes(float_model.build(custom_op="EdgecarMysteryOp"))
    r = run(["--nn-preload", f"m:tensorflowlite:cpu:{path}", f"{GUESTS}/nn_run.wasm"])
    assert r.returncode == 1
    assert "unsupported operator CUSTOM(EdgecarMysteryOp)" in r.stderr.decode()


# ---- classify, the demo's function ----


def classify(image_bytes, *extra):
    return run(
        [
            "--nn-preload",
            f"mobilenet:tensorflowlite:cpu:{V2}",
            "--dir",
            f"{LABELS}:/labels",
            f"{FUNCTIONS}/classify.wasm",
            *extra,
        ],
        image_bytes,
    )


@pytest.mark.parametrize(
    "image,label",
    [("food.jpg", "hotdog"), ("hotdog.png", "hotdog"), ("grace_hopper.jpg", "military uniform")],
)
def test_classify_names_the_object(image, label):
    r = classify(read(os.path.join(DATA, "images", image)))
    assert r.returncode == 0, r.stderr.decode()
    assert (
        r.stdout.decode()
        == f"It is very likely a <a href='https://www.google.com/search?q={label}'>{label}</a> in the picture\n"
    )


def test_classify_json_top5():
    r = classify(read(os.path.join(DATA, "images", "grace_hopper.jpg")), "--json")
    assert r.returncode == 0, r.stderr.decode()
    doc = json.loads(r.stdout)
    assert [t["label"] for t in doc["top"]][0] == "military uniform"
    assert len(doc["top"]) == 5
    raws = [t["raw"] for t in doc["top"]]
    assert raws == sorted(raws, reverse=True)
    assert "military uniform" in doc["sentence"]


def photos():
    """The photos of the shared data, and JPEGs of them enlarged 3x and 5x (so that a
    resize to 224 decodes them at 1/2 or 1/4 scale in the DCT)."""
    out = {}
    for name in [
        "food.jpg",
        "grace_hopper.jpg",
        "grayscale_test.jpg",
        "hot_dog.jpg",
        "hotdog.png",
        "hopper.png",
    ]:
        data = read(os.path.join(DATA, "images", name))
        out[name] = data
        if name.endswith(".jpg"):
            img = Image.open(io.BytesIO(data)).convert("RGB")
            for k in (3, 5):
                buf = io.BytesIO()
                img.resize((img.width * k, img.height * k), Image.BICUBIC).save(
                    buf, "JPEG", quality=90
                )
                out[f"{name} x{k}"] = buf.getvalue()
    return out


def resized(data, w, h):
    r = run([f"{GUESTS}/image_probe.wasm", "resize", str(w), str(h)], data)
    assert r.returncode == 0, r.stderr.decode()
    return np.frombuffer(r.stdout, np.uint8).reshape(h, w, 3)


def test_resize_is_pillows_antialiased_bilinear_byte_for_byte():
    """resize_rgb8 gives exactly Pillow's Image.resize(size, BILINEAR) (the triangle filter
    widened when shrinking), and for a JPEG much larger than the target exactly what Pillow
    gives after draft() to twice the size (decoded at 1/2, 1/4 or 1/8 in the DCT)."""
    for name, data in photos().items():
        for w, h in [(224, 224), (37, 100), (300, 300), (7, 5)]:
            img = Image.open(io.BytesIO(data))
            if img.format == "JPEG":
                img.draft("RGB", (2 * w, 2 * h))
            ref = np.asarray(img.convert("RGB").resize((w, h), Image.BILINEAR))
            got = resized(data, w, h)
            assert np.array_equal(got, ref), f"{name} to {w}x{h}: {(got != ref).sum()} bytes differ"
    big = Image.open(io.BytesIO(photos()["food.jpg x5"]))
    big.draft("RGB", (448, 448))
    assert big.size == (1208, 895)  # the 5x JPEG was decoded at 1/2: the DCT scaling is exercised


def top5(scores, labels):
    return [labels[i] for i in np.argsort(-scores.astype(int), kind="stable")[:5]]


def test_classify_top5_agrees_with_pillow_and_the_runtime():
    """The classify function (decode, DCT-scaled for big JPEGs, antialiased resize, infer)
    against Pillow's full-size antialiased resize fed to the TensorFlow Lite runtime: the
    same top label on every photo and at least four of the top five."""
    labels = open(os.path.join(LABELS, "labels_mobilenet_quant_v1_224.txt")).read().splitlines()
    oracle = Interpreter(model_path=V2, num_threads=1)
    oracle.allocate_tensors()
    for name, data in photos().items():
        x = np.asarray(
            Image.open(io.BytesIO(data)).convert("RGB").resize((224, 224), Image.BILINEAR), np.uint8
        )
        oracle.set_tensor(oracle.get_input_details()[0]["index"], x.reshape(1, 224, 224, 3))
        oracle.invoke()
        want = top5(oracle.get_tensor(oracle.get_output_details()[0]["index"]).reshape(-1), labels)
        r = classify(data, "--json")
        assert r.returncode == 0, r.stderr.decode()
        got = [t["label"] for t in json.loads(r.stdout)["top"]]
        assert got[0] == want[0] and len(set(got) & set(want)) >= 4, (name, got, want)


@pytest.mark.parametrize(
    "data,fragment",
    [
        (b"", "no image"),
        (b"hello, not an image", "not an image"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 64, "could not be decoded"),
    ],
)
def test_classify_rejects_bad_input(data, fragment):
    r = classify(data)
    assert r.returncode == 1
    assert fragment in r.stderr.decode()


def test_missing_model_and_corrupt_preload(tmp_path):
    r = run(
        ["--dir", f"{LABELS}:/labels", f"{FUNCTIONS}/classify.wasm"],
        read(os.path.join(DATA, "images", "food.jpg")),
    )
    assert r.returncode == 1 and "no model named mobilenet" in r.stderr.decode()
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(read(V2)[:5000])
    r = run(["--nn-preload", f"mobilenet:tensorflowlite:cpu:{bad}", f"{FUNCTIONS}/classify.wasm"])
    assert r.returncode == 1
    assert (
        str(bad) in r.stderr.decode() and "not a valid TensorFlow Lite model" in r.stderr.decode()
    )
    r = run(["--nn-preload", "mobilenet:onnx:cpu:x.onnx", f"{FUNCTIONS}/classify.wasm"])
    assert r.returncode == 2 and "unsupported encoding" in r.stderr.decode()
    r = run(["--nn-preload", "just-a-path.tflite", f"{FUNCTIONS}/classify.wasm"])
    assert r.returncode == 2 and "NAME:ENCODING:TARGET:PATH" in r.stderr.decode()


def test_rust_wasi_nn_crate_guest(tmp_path):
    """A guest on the Rust wasi-nn crate (official witx numbering) gets the same scores as
    the C probe and the TensorFlow Lite runtime."""
    (tmp_path / "model.tflite").write_bytes(read(V2))
    img = Image.open(os.path.join(DATA, "images", "food.jpg")).convert("RGB").resize((224, 224))
    x = np.asarray(img, np.uint8)
    r = run(
        ["--nn-allow-guest-models", "--dir", f"{tmp_path}:/m", f"{GUESTS}/nn_rust.wasm"],
        x.tobytes(),
    )
    assert r.returncode == 0, r.stderr.decode()
    y = np.frombuffer(r.stdout, np.uint8)
    oracle = Interpreter(model_path=V2, num_threads=1)
    oracle.allocate_tensors()
    oracle.set_tensor(oracle.get_input_details()[0]["index"], x.reshape(1, 224, 224, 3))
    oracle.invoke()
    assert np.array_equal(y, oracle.get_tensor(oracle.get_output_details()[0]["index"]).reshape(-1))
    assert int(y.argmax()) == 935  # hotdog


# ---- a guest misusing WASI-NN gets error codes ----


def test_guest_models_are_refused_unless_allowed(tmp_path):
    """A model from guest memory is untrusted input to TensorFlow Lite (a crafted one made
    it allocate 58 GB at compute time, found by fuzz_nn): `load` is refused by default with
    unsupported_operation and a message saying how to allow it; preloaded models work."""
    (tmp_path / "model.tflite").write_bytes(read(V2))
    r = run(["--dir", f"{tmp_path}:/m", f"{GUESTS}/nn_abuse.wasm"])
    got = dict(line.split("=") for line in r.stdout.decode().split())
    assert got["load_ok"] == "6" and got["load_truncated"] == "6" and got["hostile_loaded"] == "0"
    assert "models from guests are disabled" in r.stderr.decode()
    assert "nn_allow_guest_models" in r.stderr.decode()
    r = run(["--dir", f"{tmp_path}:/m", f"{GUESTS}/nn_rust.wasm"], bytes(224 * 224 * 3))
    assert r.returncode != 0 and "models from guests are disabled" in r.stderr.decode()


def test_bad_calls_get_error_codes(tmp_path):
    (tmp_path / "model.tflite").write_bytes(read(V2))
    r = run(["--nn-allow-guest-models", "--dir", f"{tmp_path}:/m", f"{GUESTS}/nn_abuse.wasm"])
    assert r.returncode == 0, r.stderr.decode()
    got = dict(line.split("=") for line in r.stdout.decode().split())
    invalid_argument, invalid_encoding, unsupported, too_large, not_found = "1", "2", "6", "7", "8"
    expected = {
        "load_ok": "0",
        "load_truncated": invalid_encoding,
        "load_garbage": invalid_encoding,
        "load_openvino": invalid_encoding,
        "load_gpu": unsupported,
        "load_oob_builder": invalid_argument,
        "load_oob_array": invalid_argument,
        "load_zero_builders": invalid_argument,
        "load_oob_result": invalid_argument,
        "load_by_name_unknown": not_found,
        "load_by_name_oob": invalid_argument,
        "init_bad_graph": invalid_argument,
        "init_ok": "0",
        "set_input_bad_context": invalid_argument,
        "set_input_bad_index": invalid_argument,
        "set_input_wrong_dims": invalid_argument,
        "set_input_wrong_type": invalid_argument,
        "set_input_unknown_type": invalid_argument,
        "set_input_short_data": invalid_argument,
        "set_input_oob_data": invalid_argument,
        "set_input_huge_rank": invalid_argument,
        "set_input_oob_tensor": invalid_argument,
        "get_output_before_compute": invalid_argument,
        "set_input_ok": "0",
        "compute_bad_context": invalid_argument,
        "compute_ok": "0",
        "get_output_small_buffer": too_large,
        "get_output_bad_index": invalid_argument,
        "get_output_oob_buffer": invalid_argument,
        "get_output_ok": "0",
        "output_bytes": "1001",
        "finalize_ok": "0",
        "compute_after_finalize": invalid_argument,
        "unload_ok": "0",
        "init_after_unload": invalid_argument,
        "hostile_other": "0",
    }
    for k, v in expected.items():
        assert got.get(k) == v, f"{k}: expected {v}, got {got.get(k)}"
    assert int(got["hostile_loaded"]) + int(got["hostile_rejected"]) == 24
    assert int(got["hostile_rejected"]) > 0
    assert "wasi_nn.set_input: input 0 must be u8 [1,224,224,3]" in r.stderr.decode()


# ---- the image module ----


def decode(data):
    r = run([f"{GUESTS}/image_probe.wasm"], data)
    return r.returncode, r.stdout


def converted(fmt, **kw):
    img = Image.open(os.path.join(DATA, "images", "grace_hopper.jpg")).convert("RGB")
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def test_gif_with_an_unknown_giflib_error_is_an_error_code():
    """An 839-byte GIF that makes giflib report an error code it has no message for
    crashed the host (std::string + NULL; found by fuzz_image): now error code 3."""
    r = run(
        [f"{GUESTS}/image_probe.wasm"],
        read(os.path.join(REGRESSIONS, "image", "gif-unknown-error-code")),
    )
    assert r.returncode == 23, (r.returncode, r.stderr.decode())
    assert "corrupt GIF: giflib error" in r.stderr.decode()


def test_host_decoding_is_charged_to_the_guests_memory_limit():
    """A 412-byte GIF declaring a 30848x1024 canvas made the host decode 95 MB for an 8x8
    resize (found by fuzz_image): refused (too_large = 4) when that is more than the
    function's own memory limit, decoded when the limit allows it."""
    bomb = read(os.path.join(REGRESSIONS, "image", "gif-30848x1024-canvas"))
    r = run(["--max-memory", "64", f"{GUESTS}/image_probe.wasm", "resize"], bomb)
    assert r.returncode == 54, r.stderr.decode()
    assert (
        "decoding 30848x1024 pixels takes 90 MiB, more than the function's memory limit (64 MiB)"
        in r.stderr.decode()
    )
    # A well-formed one (8000x4000 of one colour, 25 KB as a GIF) decodes without the limit.
    buf = io.BytesIO()
    Image.new("P", (8000, 4000)).save(buf, "GIF")
    r = run(["--max-memory", "64", f"{GUESTS}/image_probe.wasm", "resize"], buf.getvalue())
    assert r.returncode == 54 and "takes 91 MiB" in r.stderr.decode(), r.stderr.decode()
    r = run(["--max-memory", "128", f"{GUESTS}/image_probe.wasm", "resize"], buf.getvalue())
    assert r.returncode == 0 and len(r.stdout) == 8 * 8 * 3, r.stderr.decode()
    small = converted("PNG")
    r = run(["--max-memory", "64", f"{GUESTS}/image_probe.wasm", "resize"], small)
    assert r.returncode == 0 and len(r.stdout) == 8 * 8 * 3, r.stderr.decode()


@pytest.mark.parametrize(
    "name",
    [os.path.basename(p) for p in IMAGES]
    + ["bmp24", "bmp8", "webp-lossless", "webp-lossy", "png-rgba", "gif-interlaced"],
)
def test_decodes_like_pillow(name):
    if name == "bmp24":
        data = converted("BMP")
    elif name == "bmp8":
        img = Image.open(os.path.join(DATA, "images", "hopper.png")).convert("P")
        buf = io.BytesIO()
        img.save(buf, "BMP")
        data = buf.getvalue()
    elif name == "webp-lossless":
        data = converted("WEBP", lossless=True)
    elif name == "webp-lossy":
        data = converted("WEBP", quality=80)
    elif name == "png-rgba":
        data = read(os.path.join(DATA, "images", "hotdog.png"))
    elif name == "gif-interlaced":
        img = Image.open(os.path.join(DATA, "images", "hopper.png")).convert("P")
        buf = io.BytesIO()
        img.save(buf, "GIF", interlace=True)
        data = buf.getvalue()
    else:
        data = read(os.path.join(DATA, "images", name))
    code, out = decode(data)
    assert code == 0, f"exit {code}"
    w, h, fmt = struct.unpack("<III", out[:12])
    got = np.frombuffer(out[12:], np.uint8).reshape(h, w, 3).astype(int)
    ref_img = Image.open(io.BytesIO(data))
    ref = np.asarray(ref_img.convert("RGB")).astype(int)  # alpha dropped, as edgecar does
    # JPEG: libjpeg-turbo here and in Pillow, but not necessarily the same IDCT/upsampling.
    tolerance = 3 if data[:3] == b"\xff\xd8\xff" else 0
    assert (w, h) == ref_img.size
    diff = np.abs(got - ref)
    assert diff.max() <= tolerance, f"max difference {diff.max()}"


def png_header(width, height):
    def chunk(kind, body):
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"\x00" * 1000))
    )


@pytest.mark.parametrize(
    "data,code",
    [
        (png_header(60000, 60000), 10 + 4),  # decompression bomb: refused from its header
        (b"GIF89a" + struct.pack("<HH", 65000, 65000) + b"\x00\x00\x00;", 10 + 4),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 30, 10 + 3),  # corrupt
        (b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 8, 10 + 3),
        (b"BM" + b"\x00" * 60, 10 + 3),
        (b"just text", 10 + 2),  # not an image
    ],
)
def test_bad_images_get_error_codes(data, code):
    c, _ = decode(data)
    assert c == code


def test_truncated_images_are_errors():
    for name in ["food.jpg", "hopper.png", "hopper.gif"]:
        data = read(os.path.join(DATA, "images", name))
        c, _ = decode(data[: len(data) * 2 // 3])
        assert c in (13, 23), f"{name}: exit {c}"


@pytest.mark.parametrize("fmt,magic", [("encode-png", b"\x89PNG"), ("encode-gif", b"GIF8")])
def test_encodes_grey_images(fmt, magic):
    src = read(os.path.join(DATA, "images", "hopper.png"))
    r = run([f"{GUESTS}/image_probe.wasm", fmt], src)
    assert r.returncode == 0, r.stderr.decode()
    assert r.stdout[:4] == magic
    img = Image.open(io.BytesIO(r.stdout))
    assert img.size == (128, 128)
    rgb = np.asarray(Image.open(io.BytesIO(src)).convert("RGB")).astype(int)
    expect = rgb.sum(axis=2) // 3
    assert np.array_equal(np.asarray(img.convert("L")).astype(int), expect)


# ---- under edgecar serve ----


@pytest.fixture
def classify_server(tmp_path):
    text = f"""app_id: classify
functions:
  - name: classify
    route: /classify
    methods: [POST]
    module: {FUNCTIONS}/classify.wasm
    host_modules: [wasi_nn, image, dapr]
    nn_preload: ["mobilenet:tensorflowlite:cpu:{V2}"]
    dirs: ["{LABELS}:/labels"]
    limits: {{max_body_bytes: 5000000}}
"""
    s = Server(tmp_path, text)
    yield s
    s.stop()


def test_serve_classify(classify_server):
    s = classify_server
    for image, label in [
        ("food.jpg", "hotdog"),
        ("grace_hopper.jpg", "military uniform"),
        ("hotdog.png", "hotdog"),
    ]:
        status, headers, body = s.request(
            "POST", "/classify", read(os.path.join(DATA, "images", image))
        )
        assert status == 200 and label in body.decode()
        assert headers["Content-Type"].startswith("text/plain")
    status, headers, body = s.request(
        "POST",
        "/classify",
        read(os.path.join(DATA, "images", "food.jpg")),
        {"Accept": "application/json"},
    )
    assert status == 200 and json.loads(body)["top"][0]["label"] == "hotdog"


def test_serve_classify_failures_keep_serving(classify_server):
    s = classify_server
    assert s.request("POST", "/classify", b"not an image")[0] == 415
    assert s.request("POST", "/classify", png_header(60000, 60000))[0] == 413
    assert s.request("POST", "/classify", b"\xff\xd8\xff\xe0" + b"\x00" * 100)[0] == 400
    # Over max_body_bytes: refused from the headers, before the body is read.
    assert s.raw(
        b"POST /classify HTTP/1.1\r\nHost: x\r\nContent-Length: 6000000\r\n\r\n"
    ).startswith(b"HTTP/1.1 413")
    status, _, body = s.request("POST", "/classify", read(os.path.join(DATA, "images", "food.jpg")))
    assert status == 200 and b"hotdog" in body


def test_serve_requires_the_grant(tmp_path):
    text = f"app_id: x\nfunctions:\n  - route: /c\n    module: {FUNCTIONS}/classify.wasm\n"
    (tmp_path / "edgecar.yaml").write_text(text)
    r = subprocess.run(
        [BIN, "serve", "--check", str(tmp_path / "edgecar.yaml")], capture_output=True, timeout=60
    )
    assert r.returncode != 0
    err = r.stderr.decode()
    assert (
        any(m in err for m in ("wasi_ephemeral_nn", "edgecar_image", '"dapr"'))
        and "host_modules" in err
    )
    text = f'app_id: x\nfunctions:\n  - route: /c\n    module: {FUNCTIONS}/classify.wasm\n    host_modules: [image, dapr]\n    nn_preload: ["m:tflite:cpu:{V2}"]\n'
    (tmp_path / "edgecar.yaml").write_text(text)
    r = subprocess.run(
        [BIN, "serve", "--check", str(tmp_path / "edgecar.yaml")], capture_output=True, timeout=60
    )
    assert r.returncode != 0 and "needs host module wasi_nn" in r.stderr.decode()


@pytest.mark.parametrize("name", ["hopper.png", "food.jpg"])
def test_image_module_hostile_calls_get_error_codes(name):
    """Bad pointers, wrapping sizes, impossible dimensions, channels and formats: each call
    answers an error code (1 invalid argument, 2 unsupported, 5 buffer too small)."""
    r = run([f"{GUESTS}/image_abuse.wasm"], open(os.path.join(DATA, "images", name), "rb").read())
    assert r.returncode == 0, r.stderr
    got = dict(line.split("=") for line in r.stdout.decode().split() if "=" in line)
    assert r.stdout.decode().strip().endswith("end")
    expect = {
        "info_ok": 0,
        "info_far_image": 1,
        "info_len_wraps": 1,
        "info_far_result": 1,
        "decode_far_out": 1,
        "decode_small_out": 5,
        "resize_zero_width": 1,
        "resize_huge": 5,
        "resize_size_wraps": 5,
        "resize_small_out": 5,
        "resize_far_out": 1,
        "resize_f32_bad_norm": 1,
        "resize_f32_size_wraps": 5,
        "encode_short_pixels": 1,
        "encode_two_channels": 1,
        "encode_gif_rgb": 2,
        "encode_bad_format": 2,
        "encode_far_len": 1,
        "encode_far_out": 1,
        "encode_dims_wrap": 1,
        "encode_ok": 0,
    }
    assert {k: int(v) for k, v in got.items()} == expect
