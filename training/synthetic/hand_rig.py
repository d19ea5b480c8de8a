"""The Blender side of ``training.synthetic.hands``: the rigged hand, its forearm and skin,
the lights and the scene (``bpy`` is imported inside the functions).

Owns making the WebXR "generic hand" asset (``assets/hands``) renderable and posable:

- ``HandRig`` imports one hand and deletes the asset's stray icosphere. It rebuilds the
  flat joints as a hierarchy (wrist -> metacarpal -> proximal -> intermediate -> distal
  -> tip), each bone pointing at the next joint and rolled so that its local X is the
  flexion axis and Z points to the palm's inner side (the thumb's Z to its pad). It gives
  the hand a skin material and smooth shading (the UV-seam vertices welded) and a
  tapered forearm fitted to the wrist. It poses the fingers (``HandPose``), rolls the
  hand about the forearm, reads the 21 points back, and places the camera for a shot and
  view;
- ``hand_scene`` takes the Cycles settings and world of ``render._setup_scene``, without
  its floor and sun, and adds area lights that follow the camera.
"""

from __future__ import annotations

import math

import numpy as np

from .hands import (
    ASSETS,
    FINGERS,
    HANDS,
    MP_JOINTS,
    SHOTS,
    XR_CHAINS,
    HandLook,
    HandPose,
    HandRenderSpec,
    look_rotation,
    shot_distance,
)


class HandRig:
    """One imported hand with its rebuilt armature, skin and forearm (needs ``bpy``)."""

    def __init__(self, hand: str, look: HandLook) -> None:
        import bpy

        from dgnet_core.motion.hands import palm_frame

        self.side = HANDS.index(hand)
        before = set(bpy.data.objects)
        bpy.ops.import_scene.gltf(filepath=str(ASSETS / f"{hand}.glb"))
        new = [o for o in bpy.data.objects if o not in before]
        for o in new:
            if o.type == "MESH" and o.parent is None:   # the asset's stray icosphere
                bpy.data.objects.remove(o)
        self.arm = next(o for o in bpy.data.objects if o.type == "ARMATURE")
        self.mesh = next(o for o in bpy.data.objects if o.type == "MESH" and o.parent)
        self.head = {b.name: np.array(self.arm.matrix_world @ b.head_local)
                     for b in self.arm.data.bones}
        frame = palm_frame(np.array([self.head[n] for n in MP_JOINTS]), self.side)
        self.across, self.along, self.normal = frame[:, 0], frame[:, 1], frame[:, 2]
        self.thumbward = -self.across                   # the index's side of the palm
        pad = self.normal + self.across                 # the thumb's pad faces this way
        self.thumb_palmar = pad / np.linalg.norm(pad)
        self._rebuild()
        self._skin(look)
        self._forearm(look)
        self.rest = self.arm.matrix_world.copy()
        self.length = float(np.linalg.norm(self.head["middle-finger-tip"]
                                           - self.head["wrist"])) + 0.012
        self.centre = 0.5 * (self.head["wrist"] + self.head["middle-finger-tip"])

    def _rebuild(self) -> None:
        """Hierarchy, bones pointing at the next joint, local X the flexion axis."""
        import bpy
        from mathutils import Vector

        arm, head = self.arm, self.head
        bpy.context.view_layer.objects.active = arm
        bpy.ops.object.mode_set(mode="EDIT")
        eb = arm.data.edit_bones
        inv = np.array(arm.matrix_world.inverted())

        def local(p: np.ndarray) -> Vector:
            return Vector((inv @ np.append(p, 1.0))[:3])

        w = eb["wrist"]
        w.head, w.tail = local(head["wrist"]), local(head["middle-finger-phalanx-proximal"])
        w.align_roll(Vector(inv[:3, :3] @ self.normal))
        for f, chain in XR_CHAINS.items():
            up = self.thumb_palmar if f == "thumb" else self.normal
            for k, name in enumerate(chain):
                b = eb[name]
                b.use_connect = False
                b.parent = eb["wrist"] if k == 0 else eb[chain[k - 1]]
                h = head[name]
                if k + 1 < len(chain):
                    t = head[chain[k + 1]]
                else:                                   # the tip: 1 cm on along the finger
                    d = h - head[chain[k - 1]]
                    t = h + 0.01 * d / np.linalg.norm(d)
                b.head, b.tail = local(h), local(t)
                b.align_roll(Vector(inv[:3, :3] @ up))
        bpy.ops.object.mode_set(mode="OBJECT")
        for pb in arm.pose.bones:
            pb.rotation_mode = "XYZ"
            pb.rotation_euler = (0.0, 0.0, 0.0)
            pb.location = (0.0, 0.0, 0.0)

    def _skin_material(self, look: HandLook):
        import bpy

        mat = bpy.data.materials.new("skin")
        if mat.node_tree is None:  # Blender < 5 needs use_nodes; 5.x always has nodes
            mat.use_nodes = True
        bsdf = mat.node_tree.nodes.get("Principled BSDF")
        bsdf.inputs["Base Color"].default_value = (*look.skin, 1.0)
        bsdf.inputs["Roughness"].default_value = look.roughness
        bsdf.inputs["Subsurface Weight"].default_value = look.subsurface
        bsdf.inputs["Subsurface Radius"].default_value = look.subsurface_radius
        bsdf.inputs["Subsurface Scale"].default_value = look.subsurface_scale
        return mat

    def _skin(self, look: HandLook) -> None:
        """Skin material and smooth shading, with the UV-seam vertices welded."""
        import bpy

        mesh = self.mesh
        self.material = self._skin_material(look)
        mesh.data.materials.clear()
        mesh.data.materials.append(self.material)
        for poly in mesh.data.polygons:
            poly.use_smooth = True
        bpy.context.view_layer.objects.active = mesh
        bpy.ops.object.mode_set(mode="EDIT")
        bpy.ops.mesh.select_all(action="SELECT")
        bpy.ops.mesh.remove_doubles(threshold=1e-5)
        bpy.ops.object.mode_set(mode="OBJECT")

    def _forearm(self, look: HandLook) -> None:
        """A tapered elliptic cylinder fitted to the wrist's cross-section (a slice of the
        mesh 1.5 cm inside its open end), parented to the armature."""
        import bpy
        from mathutils import Matrix

        mesh, across, normal = self.mesh, self.across, self.normal
        mv = np.array([mesh.matrix_world @ v.co for v in mesh.data.vertices])
        out = -self.along                               # wrist -> elbow
        t_end = float((mv @ out).max())
        cut = mv[np.abs(mv @ out - (t_end - 0.015)) < 0.004]
        ca, cn = cut @ across, cut @ normal
        half_w, half_t = 0.5 * np.ptp(ca), 0.5 * np.ptp(cn)
        c0 = (across * 0.5 * (ca.max() + ca.min()) + normal * 0.5 * (cn.max() + cn.min())
              + out * (t_end - 0.015))
        length = look.forearm_length
        bpy.ops.mesh.primitive_cylinder_add(vertices=48, radius=1.0, depth=1.0)
        fa = bpy.context.active_object
        fa.name = "forearm"
        for v in fa.data.vertices:                      # z < 0: the wrist's end
            s = 1.0 if v.co.z < 0 else look.forearm_taper
            v.co.x *= s
            v.co.y *= s
        m = np.eye(4)
        m[:3, :3] = np.stack([across * half_w, normal * half_t, out * length], 1)
        m[:3, 3] = c0 + out * (length / 2 - 0.008)
        fa.matrix_world = Matrix(m.tolist())
        fa.data.materials.append(self.material)
        for poly in fa.data.polygons:
            poly.use_smooth = True
        fa.parent = self.arm
        fa.matrix_parent_inverse = self.arm.matrix_world.inverted()

    def _towards_thumb(self, bone: str) -> float:
        """+1 if turning ``bone`` about its local +Z moves it towards the thumb, else -1
        (+Z turns the bone's Y towards its -X)."""
        b = self.arm.pose.bones[bone].bone
        x_axis = np.array(self.arm.matrix_world.to_3x3() @ b.matrix_local.to_3x3().col[0])
        return 1.0 if -x_axis @ self.thumbward > 0 else -1.0

    def pose(self, pose: HandPose) -> None:
        import bpy

        bones = self.arm.pose.bones
        for pb in bones:
            pb.rotation_euler = (0.0, 0.0, 0.0)
        for f, (base, mid, end, spread) in zip(FINGERS, pose.angles()):
            chain = XR_CHAINS[f]
            b0, b1, b2 = chain[:3] if f == "thumb" else chain[1:4]
            away = -1.0 if f in ("ring", "little") else 1.0   # away from the middle finger
            sign = self._towards_thumb(b0) * away
            bones[b0].rotation_euler = (math.radians(base), 0.0, sign * math.radians(spread))
            bones[b1].rotation_euler = (math.radians(mid), 0.0, 0.0)
            bones[b2].rotation_euler = (math.radians(end), 0.0, 0.0)
        bpy.context.view_layer.update()

    def roll(self, degrees: float) -> None:
        """Turn the hand and forearm about the forearm's axis through the wrist."""
        import bpy
        from mathutils import Matrix, Vector

        r = Matrix.Rotation(math.radians(degrees), 4, Vector(self.along))
        pivot = Matrix.Translation(Vector(self.head["wrist"]))
        self.arm.matrix_world = pivot @ r @ pivot.inverted() @ self.rest
        bpy.context.view_layer.update()

    def points(self) -> np.ndarray:
        """(21, 3) posed points in MediaPipe's order, world metres."""
        mw, bones = self.arm.matrix_world, self.arm.pose.bones
        return np.array([mw @ bones[n].head for n in MP_JOINTS], dtype=np.float64)

    def camera(self, shot: str, view: str, spec: HandRenderSpec
               ) -> tuple[np.ndarray, np.ndarray]:
        """(rotation, centre) of the camera facing the rest hand's back or palm, fingers
        up, at the shot's distance."""
        outwards = self.normal if view == "palm" else -self.normal
        centre = self.centre + outwards * shot_distance(self.length, SHOTS[shot], spec)
        return look_rotation(self.centre - centre, self.along), centre


def _lights(scene, look: HandLook):
    """The area lights, parented to an empty that is moved with the camera."""
    import bpy
    from mathutils import Vector

    follow = bpy.data.objects.new("lights", None)
    scene.collection.objects.link(follow)
    for light in look.lights:
        data = bpy.data.lights.new(light.name, "AREA")
        data.energy, data.size = light.energy, light.size
        obj = bpy.data.objects.new(light.name, data)
        scene.collection.objects.link(obj)
        obj.parent = follow
        obj.location = light.offset
        obj.rotation_euler = Vector(light.offset).to_track_quat("Z", "Y").to_euler()
    return follow


def hand_scene(spec: HandRenderSpec, look: HandLook):
    """``render._setup_scene``'s Cycles settings and world, without its floor and sun; its
    camera gets the hand's lens. Returns (scene, camera, light follower)."""
    import bpy

    from .render import _setup_scene

    scene, floor = _setup_scene(spec.scene_spec(look))
    bpy.data.objects.remove(floor)
    for o in list(bpy.data.objects):
        if o.type == "LIGHT":
            bpy.data.objects.remove(o)
    return scene, scene.camera, _lights(scene, look)
