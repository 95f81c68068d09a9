"""The explorer through its HTTP API (gradio_client), and `sagan-hf explore` as a Space's app.py runs it."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

# find_spec, not importorskip: importing gradio takes seconds, paid only by the tests that run it
if importlib.util.find_spec("gradio") is None:
    pytest.skip("the explorer needs the app extra: pip install 'sagan-hf[app]'", allow_module_level=True)
from gradio_client import Client  # noqa: E402 (after the skip)

from explorer_app import free_port, served, small_pipeline, wait_until_served  # noqa: E402
from sagan_hf.app import Explorer  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def explorer():
    return Explorer(small_pipeline())


@pytest.fixture(scope="module")
def client(explorer):
    with served(explorer) as url:
        yield Client(url, verbose=False)


def _pngs(gallery) -> list[np.ndarray]:
    pictures = []
    for item in gallery:
        with Image.open(item["image"]) as picture:
            assert picture.format == "PNG"
            pictures.append(np.asarray(picture.convert("RGB")))
    return pictures


def test_both_endpoints_are_named_and_work_with_defaults_only(client):
    assert set(client.view_api(print_info=False, return_format="dict")["named_endpoints"]) == {"/generate", "/attention"}
    samples = client.predict(api_name="/generate")
    assert [item["caption"] for item in samples] == [f"circle, seed {i}" for i in range(4)]
    assert all(p.shape == (256, 256, 3) for p in _pngs(samples))
    attention = client.predict(api_name="/attention")
    assert [item["caption"].split(":")[0] for item in attention] == ["circle, seed 0", "16x16 layer, gamma +0.50"]
    assert "query pixel (16, 16)" in attention[0]["caption"]


def test_same_inputs_give_the_same_images_and_image_i_uses_seed_plus_i(client, explorer):
    first = _pngs(client.predict("triangle", 7, 0.8, 3, api_name="/generate"))
    again = _pngs(client.predict(class_name="triangle", seed=7, truncation=0.8, num_images=3, api_name="/generate"))
    shifted = _pngs(client.predict("triangle", 8, 0.8, 2, api_name="/generate"))
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(shifted[0], first[1])
    assert not np.array_equal(shifted[0], first[0])
    # what the page serves is exactly what the explorer makes in this process (PNG is lossless)
    np.testing.assert_array_equal(first[2], np.asarray(explorer.generate("triangle", 7, 0.8, 3)[2][0]))


def test_the_attention_image_changes_with_the_clicked_point(client, explorer):
    corner = client.predict("plus", 2, 0, 1, 2, 3, api_name="/attention")
    centre = client.predict("plus", 2, 0, 1, 17, 15, api_name="/attention")
    assert "query pixel (2, 3)" in corner[0]["caption"] and "query cell (1, 1)" in corner[1]["caption"]
    assert "query pixel (17, 15)" in centre[0]["caption"] and "query cell (8, 7)" in centre[1]["caption"]
    corner_maps, centre_maps = _pngs(corner), _pngs(centre)
    assert not np.array_equal(corner_maps[1], centre_maps[1])
    np.testing.assert_array_equal(corner_maps[1], np.asarray(explorer.attention("plus", 2, 0, 1, 2, 3)[1][0]))


def test_bad_input_comes_back_as_an_error_that_says_what_is_expected(client):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="number of images must be a whole number"):
        client.predict("ring", 0, 0, 2.5, api_name="/generate")
    with pytest.raises(AppError, match="hexagon"):
        client.predict("hexagon", 0, 0, 1, api_name="/generate")


def _serve_in_a_subprocess(command: list[str], port: int, cwd: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT / "src"), GRADIO_SERVER_PORT=str(port), OMP_NUM_THREADS="1",
               PYTHONUNBUFFERED="1")
    return subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.mark.slow
def test_the_space_app_serves_the_pushed_model_at_its_revision(hub_server, tmp_path, explorer):
    """push -> the Space's files -> its app.py (`sagan-hf explore` on the repo id) in a fresh process, which
    loads the pinned revision from the (loopback) Hub."""
    from sagan_hf.app.space import write_space
    from sagan_hf.hub import push_pipeline_to_hub

    repo_id = "tester/sagan-explorer-space"
    commit = push_pipeline_to_hub(explorer.pipe, repo_id, token=hub_server.VALID_TOKEN, include_images=False)
    later = small_pipeline()
    later.generator.attentions["16"].gamma.data.fill_(-1.0)
    push_pipeline_to_hub(later, repo_id, token=hub_server.VALID_TOKEN, include_images=False)  # not the pinned one

    space = write_space(tmp_path / "space", repo_id, revision=commit.oid)
    assert sorted(p.name for p in space.iterdir()) == ["README.md", "app.py", "requirements.txt"]
    assert (space / "requirements.txt").read_text() == "sagan-hf[app]==0.1.0\n"
    readme = (space / "README.md").read_text()
    assert "sdk: gradio" in readme and "app_file: app.py" in readme and f"- {repo_id}" in readme

    port = free_port()
    process = _serve_in_a_subprocess([sys.executable, "app.py"], port, cwd=space)
    try:
        wait_until_served(f"http://127.0.0.1:{port}/", process)
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        served_maps = _pngs(client.predict("square", 1, 0, 0, 5, 9, api_name="/attention"))
    finally:
        _stop(process)
    expected = explorer.attention("square", 1, 0, 0, 5, 9)
    for picture, (image, _) in zip(served_maps, expected):
        np.testing.assert_array_equal(picture, np.asarray(image))


def test_the_explore_command_reports_a_folder_that_is_not_a_pipeline_in_one_line(tmp_path, capsys):
    from sagan_hf.cli.main import main

    assert main(["explore", "--pipeline", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip() == f"error: {tmp_path} is not a saved pipeline folder (no model_index.json in it)"
