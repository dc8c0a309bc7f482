"""One Encoder shared by four Python threads gives the single-thread results; the GIL is released in C calls."""

from __future__ import annotations

import ctypes
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import vitreous
from vitreous import _native

from conftest import IMAGE_FIXTURES, TINY, random_images


def test_four_threads_share_one_encoder(tiny, tmp_path):
    images = [vitreous.load_image(p) for p in random_images(tmp_path, 8, seed=21)]
    expected = [tiny.encode(image, size=224, token_norms=True).tokens for image in images]
    with ThreadPoolExecutor(max_workers=4) as pool:
        for _ in range(2):
            results = list(pool.map(lambda image: tiny.encode(image, size=224, token_norms=True).tokens, images))
            for got, want in zip(results, expected):
                assert np.array_equal(got, want)


def test_errors_stay_with_their_thread(tiny):
    """Each thread's error message is its own call's, even while others fail differently."""
    def fail(kind: int) -> str:
        try:
            if kind == 0:
                tiny.encode(np.zeros((50, 50, 3), np.uint8), size=None)
            else:
                tiny.encode(np.zeros((56, 56, 3), np.uint8), layers=[9])
        except vitreous.InvalidArgumentError as error:
            return str(error)
        return ""
    with ThreadPoolExecutor(max_workers=4) as pool:
        messages = list(pool.map(fail, [0, 1] * 8))
    for kind, message in zip([0, 1] * 8, messages):
        assert ("multiple of the patch" in message) if kind == 0 else ("layer 9" in message), message


def test_the_gil_is_released_during_calls(tmp_path):
    """A C call that blocks (opening a FIFO as a model file waits for a writer) lets this thread run: it is this
    thread that writes to the FIFO, as often as the call opens it, until the call returns. Were the GIL held
    during the call, the writer could never run and the call would never return."""
    assert isinstance(_native.lib, ctypes.CDLL) and not isinstance(_native.lib, ctypes.PyDLL)
    fifo = tmp_path / "model.fifo"
    os.mkfifo(fifo)
    outcome: dict[str, BaseException] = {}

    def load() -> None:
        try:
            vitreous.Encoder(fifo, device=0)
        except vitreous.VitreousError as error:
            outcome["error"] = error

    reader = threading.Thread(target=load, daemon=True)
    reader.start()
    writes = 0
    deadline = time.monotonic() + 120
    while reader.is_alive() and time.monotonic() < deadline:
        try:
            descriptor = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)  # fails (ENXIO) until the call opens it
        except OSError:
            time.sleep(0.001)
            continue
        try:
            os.write(descriptor, b"not a checkpoint")
        except OSError:
            pass
        os.close(descriptor)
        writes += 1
    reader.join(timeout=5)
    assert not reader.is_alive(), "the C call never returned"
    assert writes >= 1 and isinstance(outcome.get("error"), vitreous.VitreousError), outcome


@pytest.mark.skipif(not hasattr(os, "fork"), reason="this platform has no fork()")
def test_a_forked_child_encodes_like_its_parent(tmp_path):
    """The CPU backend's worker threads do not survive fork(): a child (multiprocessing's default start method on
    Linux) starts its own on its first parallel section and gets the parent's tokens bit for bit, without
    waiting on the parent's workers."""
    encoder = vitreous.Encoder(TINY, device="cpu")
    image = vitreous.load_image(random_images(tmp_path, 1, seed=5)[0])
    expected = encoder.encode(image, size=224).tokens  # the parent's workers are running now
    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            status = 0 if np.array_equal(encoder.encode(image, size=224).tokens, expected) else 2
        finally:
            os._exit(status)
    deadline = time.monotonic() + 120
    while True:
        done, wait_status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            pytest.fail("the forked child's encode did not return within 120 s")
        time.sleep(0.05)
    assert os.WIFEXITED(wait_status) and os.WEXITSTATUS(wait_status) == 0, \
        f"child status {wait_status} (2: tokens differ from the parent's)"
