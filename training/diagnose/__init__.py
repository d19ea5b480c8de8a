"""Research checks behind the measured findings in docs/BENCHMARKS.md and the model card.

``python -m training.diagnose CHECK [args]``, CHECK one of:

* ``rendered``: what the model lifts from rendered clips' true 2D and MediaPipe's 2D
  (which error comes from the detector, which from the lift);
* ``conventions``: rendered clips' true 2D lifted as rendered and moved to Human3.6M's
  joint conventions (shoulder width, thorax, head top);
* ``generated-squats``: generated squats of the held-out people, lifted;
* ``floor-prior``: the floor prior's weight against camera pitch on rendered clips;
* ``motion-quality``: root error, foot skate and limb-length variation of the placement
  variants on rendered clips;
* ``turns``: hip and shoulder yaw against the truth on rendered clips, and the fastest
  turn between two frames;
* ``views``: held-out poses seen from below to above (the camera's elevation over the
  body), P1 per elevation;
* ``hands``: hands found per frame from the wrist crops against the whole frame;
* ``hand-depth``: the depth of MediaPipe's hand image and world landmarks, and the curl
  each gives relaxed real hands (why the angles come from the world landmarks);
* ``face``: head yaw and pitch from MediaPipe's face landmark model (built on demand by
  ``scripts/build_face_task.sh``) against the lift's head, on rendered turns and real clips.
"""
