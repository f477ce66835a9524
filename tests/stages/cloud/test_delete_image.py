"""deleteImage (Orca's stage, and the ad-hoc task Deck sends): refused with the server group's
name while one uses the image, then done once it is destroyed (the image's files go too)."""

from __future__ import annotations

import sys
from pathlib import Path

from gennaker.model.status import ExecutionStatus as S
from tests.stages.cloud.conftest import CloudHarness, deploy_pipeline


def _delete(image_id: str) -> dict[str, object]:
    return {
        "refId": "1",
        "type": "deleteImage",
        "name": "Delete image",
        "cloudProvider": "local",
        "credentials": "local",
        "region": "local",
        "imageIds": [image_id],
    }


def test_an_image_in_use_is_refused_and_deleted_once_unused(cloud: CloudHarness, app_dir: Path) -> None:
    pipeline = deploy_pipeline("shop", str(app_dir), command=[sys.executable, "app.py"])
    deployed = cloud.run_until_complete(cloud.start(pipeline["stages"], application="shop").id, seconds=60)
    assert deployed.status == S.SUCCEEDED
    image = cloud.local.images.all()[0]
    assert Path(image.path).is_dir()

    refused = cloud.run_until_complete(cloud.start([_delete(image.id)], application="shop").id)
    assert refused.status == S.TERMINAL
    stage = refused.stage_by_ref_id("1")
    assert stage is not None
    assert stage.context["exception"]["details"]["errors"] == [
        f"image {image.id} is used by server group(s) shop-web-v000; destroy them first"
    ]
    assert cloud.local.images.get(image.id) is not None

    destroy = {
        "refId": "1",
        "type": "destroyServerGroup",
        "cloudProvider": "local",
        "credentials": "local",
        "region": "local",
        "serverGroupName": "shop-web-v000",
    }
    destroyed = cloud.run_until_complete(cloud.start([destroy], application="shop").id, seconds=60)
    assert destroyed.status == S.SUCCEEDED

    done = cloud.run_until_complete(cloud.start([_delete(image.id)], application="shop").id)
    assert done.status == S.SUCCEEDED
    stage = done.stage_by_ref_id("1")
    assert stage is not None
    assert stage.context["delete.image.ids"] == [image.id]
    assert stage.context["notification.type"] == "deleteImage"
    assert stage.context["delete.account.name"] == "local"
    assert cloud.local.images.get(image.id) is None
    assert not Path(image.path).exists()


def test_an_unknown_image_and_a_missing_list_say_so(cloud: CloudHarness) -> None:
    missing = cloud.run_until_complete(cloud.start([_delete("sha256:nope")], application="shop").id)
    assert missing.status == S.TERMINAL
    stage = missing.stage_by_ref_id("1")
    assert stage is not None
    assert "there is no local image 'sha256:nope'" in stage.context["exception"]["details"]["errors"][0]
    no_list = {**_delete("x"), "imageIds": []}
    bad = cloud.run_until_complete(cloud.start([no_list], application="shop").id)
    stage = bad.stage_by_ref_id("1")
    assert stage is not None
    assert stage.context["exception"]["details"]["errors"] == [
        'imageIds must be a list of image ids, like ["sha256:..."]'
    ]
