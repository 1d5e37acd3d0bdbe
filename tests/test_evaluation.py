"""The automation figures of `moderation eval`: computed from decisions per true label,
as sent and reweighted to a realistic mix."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from images import make_jpeg, reencode
from servers import REPO

from moderation.config import Settings
from moderation.errors import InvalidInput
from moderation.evaluation import (
    automation,
    eval_photos,
    read_photo_labels,
    run_photo_automation,
)
from moderation.policy import load_policy

# 100 acceptable texts and 20 harmful ones, decided as below.
DECIDED = {
    "ok": {"approve": 90, "review": 8, "reject": 2},
    "profanity_insult": {"approve": 2, "review": 8, "reject": 10},
}


def test_automation_as_sent_counts_every_item_once() -> None:
    a = automation(DECIDED)
    assert a["automation"] == pytest.approx((90 + 2 + 2 + 10) / 120)
    assert a["approve_precision"] == pytest.approx(90 / 92)
    assert a["reject_precision"] == pytest.approx(10 / 12)
    assert a["precision"] == pytest.approx((90 + 10) / (92 + 12))
    assert a["harm_approved"] == {"profanity_insult": pytest.approx(2 / 20)}


def test_automation_reweighted_gives_acceptable_items_their_share_of_the_mix() -> None:
    a = automation(DECIDED, ok_share=0.95)
    # each ok item weighs 0.95/100, each harmful one 0.05/20
    approved = 90 * 0.0095 + 2 * 0.0025
    rejected = 2 * 0.0095 + 10 * 0.0025
    assert a["automation"] == pytest.approx(approved + rejected)
    assert a["approve_precision"] == pytest.approx(90 * 0.0095 / approved)
    assert a["reject_precision"] == pytest.approx(10 * 0.0025 / rejected)
    assert a["harm_approved"] == automation(DECIDED)["harm_approved"]  # per label: a share of that label


def test_automation_without_decisions_says_nothing_rather_than_dividing_by_zero() -> None:
    a = automation({"ok": {"review": 3}})
    assert a["automation"] == 0.0 and a["approve_precision"] is None and a["reject_precision"] is None


def _photo_set(tmp_path: Path) -> Path:
    """A small labeled photo set: one banned photo (a bank reference only), an edited
    copy of it, two unrelated photos, and a file that is no image."""
    banned = make_jpeg(480, 360, seed=1)
    files = {
        "banned.jpg": banned,
        "copy.jpg": reencode(banned, quality=60, scale=0.5),
        "other1.jpg": make_jpeg(480, 360, seed=2),
        "other2.jpg": make_jpeg(400, 400, seed=3),
        "broken.jpg": b"not an image at all",
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    rows = [
        {"file": "banned.jpg", "bank": "banned"},
        {"file": "copy.jpg", "label": "banned_match"},
        {"file": "other1.jpg", "label": "ok"},
        {"file": "other2.jpg", "label": "ok", "context": "car_photo"},
        {"file": "broken.jpg", "label": "invalid"},
    ]
    path = tmp_path / "labeled.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_run_photo_automation_decides_each_labeled_photo_as_the_workers_would(tmp_path: Path) -> None:
    policy = load_policy(Settings().policy_path)
    decided = run_photo_automation(read_photo_labels(_photo_set(tmp_path), policy), policy)
    # the bank reference is not itself evaluated; the copy of the banned photo is rejected,
    # the unrelated photos approved, the broken file rejected as invalid
    assert decided == {"banned_match": {"reject": 1}, "invalid": {"reject": 1}, "ok": {"approve": 2}}
    a = automation(decided)
    assert a["automation"] == 1.0 and a["approve_precision"] == 1.0 and a["reject_precision"] == 1.0
    assert a["harm_approved"] == {"banned_match": 0.0, "invalid": 0.0}


def test_eval_photos_on_a_labeled_file_prints_automation_and_precision(tmp_path: Path) -> None:
    out = eval_photos(_photo_set(tmp_path), Settings())
    assert "as sent" in out and "95% acceptable" in out
    assert "banned_match 0.0%" in out  # harm approved, per label
    [ok_line] = [line for line in out.splitlines() if line.startswith("ok ")]
    assert ok_line.split()[1:] == ["2", "100.0%", "0.0%", "0.0%"]


@pytest.mark.parametrize(
    ("row", "says"),
    [
        ({"file": "other1.jpg", "label": "rude"}, "neither"),  # unknown label
        ({"file": "other1.jpg", "label": "ok", "context": "message"}, "not a photo context"),  # a text context
        ({"file": "other1.jpg", "bank": "nowhere"}, "bank 'nowhere'"),  # unknown bank
        ({"file": "missing.jpg", "label": "ok"}, "no file"),  # file absent
        ({"label": "ok"}, "needs a \"file\""),  # no file field
        ({"file": "other1.jpg"}, "a label, a bank or both"),  # nothing to do with it
    ],
)
def test_read_photo_labels_refuses_a_bad_row_naming_its_line(tmp_path: Path, row: dict, says: str) -> None:
    path = _photo_set(tmp_path)
    path.write_text(path.read_text() + json.dumps(row) + "\n")
    with pytest.raises(InvalidInput, match=rf"labeled.jsonl:6: .*{says}"):
        read_photo_labels(path, load_policy(Settings().policy_path))


def test_eval_photos_command_refuses_a_bad_labeled_file_with_its_line(tmp_path: Path) -> None:
    path = _photo_set(tmp_path)
    path.write_text(path.read_text() + '{"file": "other1.jpg", "label": "rude"}\n')
    out = subprocess.run(
        [sys.executable, "-m", "moderation.cli", "eval", "photos", str(path)],
        env={**os.environ, "MODERATION_DATA_DIR": str(tmp_path / "var")}, cwd=REPO, capture_output=True, text=True, check=False,
    )
    assert out.returncode == 2 and "labeled.jsonl:6" in out.stderr and not out.stdout
