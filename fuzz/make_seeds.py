#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz harnesses into fuzz/corpus/<name>/seed_* (Python stdlib only).

Seeds come from the golden fixtures (configs, tokenizer prompts, tokenizer files) and from small
files built here in the formats the readers take (safetensors, torch.save zip + pickle, PNG with
parameter chunks). Run again after changing it; libFuzzer adds its own finds beside the seeds.
Usage: fuzz/make_seeds.py [fixtures dir]   (default ../shared/fixtures)
"""
import collections
import io
import json
import os
import pickle
import struct
import sys
import types
import zipfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", "shared", "fixtures")


def write(name, index, data):
    folder = os.path.join(HERE, "corpus", name)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "seed_%03d" % index), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode("utf-8"))


def fixture(relative):
    with open(os.path.join(FIXTURES, relative), "rb") as f:
        return f.read()


# --- safetensors -------------------------------------------------------------------------------
def safetensors(tensors, metadata=None):
    header, data = {}, b""
    for name, dtype, shape, payload in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(payload)]}
        data += payload
    if metadata is not None:
        header["__metadata__"] = metadata
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + data


seeds = [
    safetensors([("w", "F32", [2, 2], struct.pack("<4f", 1, 2, 3, 4))]),
    safetensors([("a", "F16", [3], b"\x00\x3c" * 3), ("b", "I64", [1], struct.pack("<q", 7)),
                 ("c", "BF16", [2, 1], b"\x80\x3f" * 2), ("d", "BOOL", [2], b"\x01\x00"),
                 ("e", "U8", [1], b"\x05")], {"format": "pt"}),
    safetensors([("empty", "F32", [0, 4], b""), ("scalar", "F64", [], struct.pack("<d", 0.5))]),
    safetensors([]),
    safetensors([("x", "I32", [2], struct.pack("<2i", 1, -1)), ("y", "I8", [1, 1, 1], b"\xff")]),
]
for i, s in enumerate(seeds):
    write("safetensors", i, s)


# --- torch.save .bin (zip + pickle protocol 2), with stand-ins for torch's globals ---------------
torch = types.ModuleType("torch")
torch_utils = types.ModuleType("torch._utils")


def _rebuild_tensor_v2(*args):
    raise RuntimeError("stand-in")


def _rebuild_parameter(*args):
    raise RuntimeError("stand-in")


for fn in (_rebuild_tensor_v2, _rebuild_parameter):
    fn.__module__ = "torch._utils"
    setattr(torch_utils, fn.__name__, fn)
storage_classes = {}
for cls_name in ("FloatStorage", "HalfStorage", "LongStorage", "BFloat16Storage", "BoolStorage",
                 "IntStorage", "DoubleStorage", "ByteStorage"):
    cls = type(cls_name, (), {})
    cls.__module__ = "torch"
    setattr(torch, cls_name, cls)
    storage_classes[cls_name] = cls
torch._utils = torch_utils
sys.modules["torch"] = torch
sys.modules["torch._utils"] = torch_utils


class Storage:
    def __init__(self, cls_name, key, numel):
        self.cls, self.key, self.numel = storage_classes[cls_name], key, numel


class Tensor:
    def __init__(self, storage, offset, size, stride, parameter=False):
        self.args = (storage, offset, tuple(size), tuple(stride), False, collections.OrderedDict())
        self.parameter = parameter

    def __reduce__(self):
        return (_rebuild_tensor_v2, self.args)


class Parameter:
    def __init__(self, tensor):
        self.tensor = tensor

    def __reduce__(self):
        return (_rebuild_parameter, (self.tensor, False, collections.OrderedDict()))


class Pickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            return ("storage", obj.cls, obj.key, "cpu", obj.numel)
        return None


class Evil:
    def __reduce__(self):
        return (os.system, ("true",))


def torch_bin(obj, storages, stem="archive"):
    buf = io.BytesIO()
    Pickler(buf, protocol=2).dump(obj)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        z.writestr(stem + "/data.pkl", buf.getvalue())
        for key, payload in storages.items():
            z.writestr(stem + "/data/" + key, payload)
        z.writestr(stem + "/version", b"3\n")
    return out.getvalue()


f4 = Storage("FloatStorage", "0", 6)
h2 = Storage("HalfStorage", "1", 2)
l1 = Storage("LongStorage", "2", 1)
bins = [
    torch_bin(collections.OrderedDict([("w", Tensor(f4, 0, [2, 3], [3, 1]))]),
              {"0": struct.pack("<6f", *range(6))}),
    torch_bin(collections.OrderedDict([("a", Tensor(f4, 0, [3], [1])), ("b", Tensor(f4, 3, [3], [1])),
                                       ("t", Tensor(f4, 0, [3, 2], [1, 3])),
                                       ("h", Tensor(h2, 0, [2], [1])), ("n", Tensor(l1, 0, [], []))]),
              {"0": struct.pack("<6f", *range(6)), "1": b"\x00\x3c\x00\x40", "2": struct.pack("<q", 9)}),
    torch_bin({"state_dict": collections.OrderedDict([("p", Parameter(Tensor(f4, 1, [2], [2])))])},
              {"0": struct.pack("<6f", *range(6))}, stem="model"),
    torch_bin(collections.OrderedDict(), {}),
    torch_bin(collections.OrderedDict([("evil", Evil())]), {}),
]
for i, s in enumerate(bins):
    write("torch_bin", i, s)


# --- configs: every JSON file of the fixtures' pipeline folders and configs ----------------------
config_files = sorted(
    os.path.relpath(os.path.join(root, f), FIXTURES)
    for base in ("pipelines", "configs", "models/unet2d_classcond/weights", "models/clip_text_gelu_bin/weights")
    for root, _, files in os.walk(os.path.join(FIXTURES, base))
    for f in files if f.endswith(".json") and f != "vocab.json")
for i, rel in enumerate(config_files):
    write("config", i, fixture(rel))


# --- CLIP tokenizer: mode byte + prompt (0), vocab.json (1), merges.txt (2), tokenizer_config (3) --
cases = json.loads(fixture("tokenizer/cases_public.json"))["cases"]
index = 0
for case in cases:
    write("clip_tokenizer", index, b"\x00" + case["prompt"].encode("utf-8"))
    index += 1
small_vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1, "!": 2, "a": 3, "c": 4, "t": 5, "a</w>": 6,
               "t</w>": 7, "ca": 8, "cat</w>": 9, "!</w>": 10}
for mode, text in ((1, json.dumps(small_vocab)), (2, "#version: 0.2\nc a\nca t</w>\n"),
                   (3, fixture("pipelines/sd_tiny/tokenizer/tokenizer_config.json").decode()),
                   (3, '{"model_max_length": 8, "pad_token": "!", "added_tokens_decoder": '
                       '{"11": {"content": "<x>", "special": true}}}')):
    write("clip_tokenizer", index, bytes([mode]) + text.encode("utf-8"))
    index += 1


# --- prompt weighting ------------------------------------------------------------------------------
prompts = [
    "a photo of a cat", "(masterpiece:1.2), best quality, [blurry]", "((nested)) [[down]] (a:0.5) b",
    r"literal \(brackets\) and \\ backslash", "one BREAK two BREAK", "(unbalanced [mix",
    "(a (b:1.5) c:0.8)", "x, " * 40 + "tail words after many commas", "(weight:1e3) (w:-2) (w:.5)",
    "", "漢字 and emoji 🐱 (かわいい:1.1)",
]
for i, p in enumerate(prompts):
    write("prompt_weighting", i, p)


# --- PNG parameters: mode byte + PNG (0), A1111 text (1), JSON (2) --------------------------------
def png_chunk(kind, payload):
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


a1111 = ("a cat, (masterpiece:1.2)\nNegative prompt: blurry\nSteps: 20, Sampler: DPM++ 2M Karras, "
         "CFG scale: 7.5, Seed: 42, Size: 32x32, Model: sd_tiny, Eta: 0.0")
params_json = json.dumps({"prompt": "a cat", "negative_prompt": "", "steps": 20, "scheduler": "DDIMScheduler",
                          "guidance_scale": 7.5, "seed": 42, "per_image_seed": False, "width": 32,
                          "height": 32, "model": "sd_tiny", "eta": None, "batch_index": 0, "batch_size": 1,
                          "extra": {"use_karras_sigmas": True}, "generator": "papillon"})
raw = b"".join(b"\x00" + b"\x10\x20\x30" * 2 for _ in range(2))
png = (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)) +
       png_chunk(b"tEXt", b"parameters\x00" + a1111.encode("latin-1")) +
       png_chunk(b"iTXt", b"papillon\x00\x00\x00\x00\x00" + params_json.encode()) +
       png_chunk(b"IDAT", zlib.compress(raw)) + png_chunk(b"IEND", b""))
png_seeds = [b"\x00" + png, b"\x01" + a1111.encode(), b"\x02" + params_json.encode(),
             b"\x01" + b"just a prompt", b"\x01" + b"p\nSteps: 5, Seed: 1, Size: 8x8, Sampler: Euler a"]
for i, s in enumerate(png_seeds):
    write("png_parameters", i, s)

# --- shard index (model.safetensors.index.json; the harness's folder holds a.safetensors {x, y} and
# b.safetensors {z}) ---------------------------------------------------------------------------------
shard_seeds = [
    fixture("t5_pixart/pipelines/pixart_tiny/text_encoder/model.safetensors.index.json"),
    json.dumps({"metadata": {"total_size": 20},
                "weight_map": {"x": "a.safetensors", "y": "a.safetensors", "z": "b.safetensors"}}),
    json.dumps({"weight_map": {"x": "b.safetensors", "y": "a.safetensors"}}),
    json.dumps({"weight_map": {"x": "a.safetensors", "w": "c.safetensors"}}),
    json.dumps({"weight_map": {"x": "../a.safetensors"}}),
    json.dumps({"weight_map": {}}),
]
for i, s in enumerate(shard_seeds):
    write("shard_index", i, s)

# --- T5 tokenizer config: mode byte + tokenizer_config.json (0), special_tokens_map.json (1),
# both split at a NUL (2) --------------------------------------------------------------------------
t5_config = fixture("t5_pixart/pipelines/pixart_tiny/tokenizer/tokenizer_config.json")
t5_map = fixture("t5_pixart/pipelines/pixart_tiny/tokenizer/special_tokens_map.json")
t5_seeds = [
    b"\x00" + t5_config,
    b"\x01" + t5_map,
    b"\x02" + t5_config + b"\x00" + t5_map,
    b"\x00" + json.dumps({"extra_ids": 2, "legacy": True, "additional_special_tokens": ["<extra_id_0>", "<extra_id_1>"],
                          "added_tokens_decoder": {"0": {"content": "<pad>", "lstrip": False, "rstrip": False,
                                                         "single_word": False, "special": True}},
                          "model_max_length": 1e30, "clean_up_tokenization_spaces": False}).encode(),
    b"\x01" + json.dumps({"eos_token": {"content": "</s>", "lstrip": True}, "pad_token": "<pad>"}).encode(),
]
for i, s in enumerate(t5_seeds):
    write("t5_tokenizer_config", i, s)
