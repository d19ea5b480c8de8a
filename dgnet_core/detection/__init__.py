"""Detection: video frames in, each followed person's 2D joints per frame out (no bpy).

* ``video``: the one video reader (PyAV), rotation metadata, frame counts as hints;
* ``mediapipe_api``: MediaPipe Tasks imported without its drawing helpers;
* ``detect``: the PoseLandmarker in VIDEO mode over a clip, ``Detections``;
* ``parallel``: the same over consecutive chunks on worker processes, stitched in order;
* ``observation``: one person seen in one frame;
* ``tracking``: which of the people seen is the one person followed;
* ``people``: several people followed at once (``--people``), each their own Detections;
* ``people_parallel``: everybody seen on worker processes in chunks, followed once in order;
* ``gaps``: frames without the person, trimmed, filled or reported.
"""
