"""One read per vehicle pass: observations of a moving plate join one track; votes fuse frames."""

from datetime import UTC, datetime

import numpy as np

from edge.tracker import Observation, Tracker, TrackerSettings

T0 = datetime(2026, 11, 23, tzinfo=UTC)
FRAME = np.zeros((720, 1280, 3), np.uint8)


def _obs(x: int, probs: np.ndarray) -> Observation:
    return Observation((x, 400, x + 150, 435), 0.9, probs, FRAME[400:435, x : x + 150])


def _onehot(index: int, p: float = 0.9) -> np.ndarray:
    probs = np.full((10, 37), (1 - p) / 36, np.float32)
    probs[:, index] = p
    return probs


def test_two_plates_passing_give_two_tracks() -> None:
    tracker = Tracker(TrackerSettings(max_gap_frames=3))
    ended = []
    for f in range(30):  # two plates moving left at 30 px/frame, 600 px apart
        obs = [_obs(1100 - 30 * f, _onehot(1)), _obs(1700 - 30 * f, _onehot(2))]
        obs = [o for o in obs if 0 <= o.box[0] < 1130]
        ended += tracker.update(f, T0, FRAME, obs)
    ended += tracker.flush()
    assert len(ended) == 2
    assert sorted(t.frames for t in ended) == [10, 30]


def test_voting_prefers_the_majority_of_frames() -> None:
    tracker = Tracker(TrackerSettings())
    for f in range(7):
        tracker.update(f, T0, FRAME, [_obs(1000 - 20 * f, _onehot(5 if f in (2, 5) else 8, 0.7))])
    (track,) = tracker.flush()
    assert int(track.fused.argmax(axis=1)[0]) == 8
    assert track.best_crop is not None


def test_a_character_only_a_few_frames_considered_keeps_next_to_nothing() -> None:
    # Eight frames read '8' in slot 0; two of them also give 'B' 30 %. The mean would keep 'B' at 7.5 %, enough to
    # digest a spelling with it (an alternative that could only hit some other, innocent car).
    def frame(f: int) -> np.ndarray:
        probs = _onehot(8, 0.97)
        if f in (3, 6):
            probs[0, 8], probs[0, 11] = 0.67, 0.30  # 'B' is index 11 of 0-9A-Z_
        return probs

    fused = {}
    for fusion in ("mean", "log-mean"):
        tracker = Tracker(TrackerSettings(fusion=fusion))
        for f in range(8):
            tracker.update(f, T0, FRAME, [_obs(1000 - 20 * f, frame(f))])
        (track,) = tracker.flush()
        fused[fusion] = track.fused
    assert TrackerSettings().fusion == "log-mean"
    assert int(fused["log-mean"].argmax(axis=1)[0]) == int(fused["mean"].argmax(axis=1)[0]) == 8
    assert fused["mean"][0, 11] > 0.05 and fused["log-mean"][0, 11] < 0.01
    assert np.allclose(fused["log-mean"].sum(axis=1), 1.0, atol=1e-5)


def test_single_frame_flicker_is_not_reported() -> None:
    tracker = Tracker(TrackerSettings(min_frames=2, max_gap_frames=2))
    tracker.update(0, T0, FRAME, [_obs(500, _onehot(1))])
    ended = [t for f in range(1, 5) for t in tracker.update(f, T0, FRAME, [])]
    assert ended == [] and tracker.active == 0


def test_a_parked_car_in_view_past_the_maximum_age_gives_one_read() -> None:
    tracker = Tracker(TrackerSettings(max_age_frames=50, max_gap_frames=3))
    ended = []
    for f in range(400):  # the scan car waits next to a parked car for 400 frames
        ended += [(f, t) for t in tracker.update(f, T0, FRAME, [_obs(600 + (f % 3), _onehot(4))])]
    ended += [(400, t) for t in tracker.flush()]
    assert len(ended) == 1
    frame, track = ended[0]
    assert frame == 50 and track.frames == 51  # reported at the maximum age, not when it left
    assert tracker.active == 0


def test_a_track_keeps_the_ctc_columns_of_its_heaviest_frames_only() -> None:
    tracker = Tracker(TrackerSettings(column_frames=2))
    for f, sure in enumerate((0.5, 0.9, 0.6, 0.8)):
        cols = np.full((9, 40, 37), f, np.float32)  # marked by frame
        obs = Observation((1000 - 20 * f, 400, 1150 - 20 * f, 435), 0.9, _onehot(3, sure), FRAME[:35, :150], cols)
        tracker.update(f, T0, FRAME, [obs])
    (track,) = tracker.flush()
    assert [int(c[0, 0, 0]) for _, c in track.column_votes] == [1, 3]  # the surest two, heaviest first
    assert track.column_votes[0][0] > track.column_votes[1][0]
