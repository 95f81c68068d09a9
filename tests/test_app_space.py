"""The explorer Space's files, and `sagan-hf push --space_repo` refusing bad input before any upload.

Serving a Space's app.py against the loopback Hub is in test_app_api.py (it needs gradio).
"""

import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import RepositoryNotFoundError

from hub_fixtures import tiny_pipeline
from hub_server import LoopbackHubServer
from sagan_hf.app.space import GRADIO_SDK_VERSION, space_files

TOKEN = LoopbackHubServer.VALID_TOKEN


def test_the_space_runs_sagan_hf_explore_on_the_pinned_model_revision():
    files = space_files("org/sagan-x", revision="0123abcd" * 5, requirement="sagan-hf[app] @ git+https://example.org/sagan-hf")
    assert sorted(files) == ["README.md", "app.py", "requirements.txt"]
    namespace = {}
    exec(compile(files["app.py"], "app.py", "exec"), namespace)  # defines the constants; main() not run
    assert namespace["MODEL"] == "org/sagan-x" and namespace["REVISION"] == "0123abcd" * 5
    from sagan_hf.cli import explore

    assert namespace["main"] is explore.main
    assert files["requirements.txt"] == "sagan-hf[app] @ git+https://example.org/sagan-hf\n"
    metadata = files["README.md"].split("---")[1]
    for line in ("sdk: gradio", f"sdk_version: {GRADIO_SDK_VERSION}", "app_file: app.py", "- org/sagan-x"):
        assert line in metadata.splitlines(), line
    unpinned = space_files("org/sagan-x")
    assert "REVISION = None" in unpinned["app.py"] and unpinned["requirements.txt"] == "sagan-hf[app]==0.1.0\n"


@pytest.mark.parametrize("kwargs, message", [
    (dict(model_repo_id="not a repo"), r"Invalid repo id 'not a repo'"),
    (dict(model_repo_id="org/x", requirement="a\nb"), r"one pip requirement line"),
])
def test_bad_space_inputs_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        space_files(**kwargs)


@pytest.mark.parametrize("flags, message", [
    (["--space_repo", "no slash"], "error: Invalid repo id 'no slash'"),
    (["--space_repo", "tester/space", "--space_requirement", "sagan-hf\nrm"], "error: the Space requirement must be one"),
])
def test_push_refuses_a_bad_space_before_uploading_anything(hub_server, tmp_path, capsys, flags, message):
    from sagan_hf.cli.main import main

    tiny_pipeline().save_pretrained(tmp_path / "pipe")
    status = main(["push", "--pipeline", str(tmp_path / "pipe"), "--repo_id", "tester/sagan-space-refused",
                   "--token", TOKEN, *flags])
    assert status == 2 and capsys.readouterr().err.startswith(message)
    with pytest.raises(RepositoryNotFoundError):
        HfApi(token=TOKEN).model_info("tester/sagan-space-refused")
