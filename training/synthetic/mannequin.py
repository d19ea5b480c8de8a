"""A procedural human-like mannequin for Blender, posed directly by the 17 joints.

Owns the mannequin's geometry and look: one edge-skeleton mesh with a Skin modifier per
clothing part (skin, shirt, trousers, shoes) so each part has its own colour, whose
vertices are joints (the 17 project joints plus points derived from them: hands, sleeve
ends, toes, heels, neck top), moved every frame with ``foreach_set("co", ...)``; and a
rigid head with a face (eyes with pupils, nose, mouth, ears) and hair that leaves the face
free, placed every frame by a matrix fitted to thorax, nose and head-top.

Seen on these machines: a faceless mannequin is not detected by MediaPipe at all, and hair
over the face makes it swap left and right, so the face is not optional.

The derived points (``derived_points``, ``head_matrices``) are plain NumPy; only
``build_mannequin`` and ``Mannequin.set_frame`` need ``bpy`` (imported lazily).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dgnet_core.skeleton import JOINT_NAMES, NUM_JOINTS, TEMPLATE_POSE

RGB = tuple[float, float, float]


@dataclass(frozen=True)
class MannequinStyle:
    """Colours (linear RGB 0..1) and thickness of the mannequin."""

    skin: RGB = (0.80, 0.55, 0.40)
    shirt: RGB = (0.10, 0.25, 0.65)
    trousers: RGB = (0.12, 0.12, 0.14)
    shoes: RGB = (0.55, 0.08, 0.05)
    hair: RGB = (0.08, 0.05, 0.03)
    eyes: RGB = (0.95, 0.95, 0.95)
    pupils: RGB = (0.02, 0.02, 0.02)
    lips: RGB = (0.45, 0.08, 0.08)
    girth: float = 1.0        # factor on every limb and torso radius
    head_size: float = 1.0    # factor on the head (on top of the body's own scale)
    short_sleeves: bool = True


# Names of the derived points, after the 17 joints.
EXTRA_POINTS: tuple[str, ...] = (
    "LHand", "RHand", "LSleeve", "RSleeve", "LToe", "RToe", "LHeel", "RHeel", "NeckTop",
    "Belly", "LThigh", "RThigh",
)
POINT_NAMES: tuple[str, ...] = JOINT_NAMES + EXTRA_POINTS
_P = {n: i for i, n in enumerate(POINT_NAMES)}

# Template-body radii (metres) of each point in each part it belongs to.
_RADII: dict[str, float] = {
    "Hip": 0.135, "Belly": 0.13, "Spine": 0.13, "Thorax": 0.125, "LShoulder": 0.06,
    "RShoulder": 0.06, "LSleeve": 0.052, "RSleeve": 0.052, "LElbow": 0.042, "RElbow": 0.042,
    "LWrist": 0.032, "RWrist": 0.032, "LHand": 0.038, "RHand": 0.038,
    "LHip": 0.095, "RHip": 0.095, "LThigh": 0.088, "RThigh": 0.088, "LKnee": 0.062,
    "RKnee": 0.062, "LFoot": 0.048, "RFoot": 0.048, "LToe": 0.045, "RToe": 0.045,
    "LHeel": 0.045, "RHeel": 0.045, "NeckTop": 0.048,
}


@dataclass(frozen=True)
class Part:
    """One mesh object: a material name, its points and its edges (pairs of point names)."""

    name: str
    material: str
    edges: tuple[tuple[str, str], ...]
    radius: dict[str, float] = field(default_factory=dict)  # overrides of _RADII

    @property
    def points(self) -> tuple[str, ...]:
        seen: list[str] = []
        for a, b in self.edges:
            for p in (a, b):
                if p not in seen:
                    seen.append(p)
        return tuple(seen)


def parts(style: MannequinStyle) -> tuple[Part, ...]:
    """The skinned parts of the mannequin for ``style`` (short or long sleeves)."""
    if style.short_sleeves:
        shirt_arms = tuple((s + "Shoulder", s + "Sleeve") for s in "LR")
        bare_arms = tuple(e for s in "LR" for e in ((s + "Sleeve", s + "Elbow"),
                                                  (s + "Elbow", s + "Wrist"),
                                                  (s + "Wrist", s + "Hand")))
    else:
        shirt_arms = tuple(e for s in "LR" for e in ((s + "Shoulder", s + "Elbow"),
                                                   (s + "Elbow", s + "Wrist")))
        bare_arms = tuple((s + "Wrist", s + "Hand") for s in "LR")
    return (
        Part("shirt", "shirt", (("Hip", "Belly"), ("Belly", "Spine"), ("Spine", "Thorax"),
                                ("Thorax", "LShoulder"), ("Thorax", "RShoulder")) + shirt_arms,
             radius={"Hip": 0.115}),
        Part("skin", "skin", bare_arms + (("Thorax", "NeckTop"),),
             radius={"Thorax": 0.05, "LSleeve": 0.045, "RSleeve": 0.045}),
        Part("trousers", "trousers", (
            ("Belly", "Hip"), ("Hip", "LHip"), ("LHip", "LThigh"), ("LThigh", "LKnee"),
            ("LKnee", "LFoot"), ("Hip", "RHip"), ("RHip", "RThigh"), ("RThigh", "RKnee"),
            ("RKnee", "RFoot")), radius={"Belly": 0.125}),
        Part("shoe_l", "shoes", (("LFoot", "LToe"), ("LFoot", "LHeel")),
             radius={"LFoot": 0.05}),
        Part("shoe_r", "shoes", (("RFoot", "RToe"), ("RFoot", "RHeel")),
             radius={"RFoot": 0.05}),
    )


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)


def body_scale(joints: np.ndarray) -> np.ndarray:
    """(T,) size of the body relative to the template (mean of spine-to-head and leg length)."""
    j = np.asarray(joints, dtype=np.float64)
    t = TEMPLATE_POSE

    def size(x):
        legs = (np.linalg.norm(x[..., 5, :] - x[..., 4, :], axis=-1)
                + np.linalg.norm(x[..., 6, :] - x[..., 5, :], axis=-1))
        trunk = np.linalg.norm(x[..., 10, :] - x[..., 0, :], axis=-1)
        return legs + trunk

    return size(j) / size(t)


def head_matrices(joints: np.ndarray) -> np.ndarray:
    """(T, 4, 4) world matrices of the head: rotation fitted (weighted Kabsch) from the
    template's thorax, nose, head-top and shoulders onto the frame's, uniform scale from
    the body size, origin at the head centre. Identity rotation at the template pose."""
    j = np.asarray(joints, dtype=np.float64)
    idx = [8, 9, 10, 11, 14]
    w = np.array([1.0, 2.0, 2.0, 0.3, 0.3])
    src = TEMPLATE_POSE[idx] - TEMPLATE_POSE[8]
    dst = j[:, idx] - j[:, 8:9]
    src_c = src - (w[:, None] * src).sum(0) / w.sum()
    dst_c = dst - (w[None, :, None] * dst).sum(1, keepdims=True) / w.sum()
    h = np.einsum("k,ki,tkj->tij", w, src_c, dst_c)
    u, _, vt = np.linalg.svd(h)
    d = np.sign(np.linalg.det(np.swapaxes(vt, -1, -2) @ np.swapaxes(u, -1, -2)))
    fix = np.tile(np.eye(3), (len(j), 1, 1))
    fix[:, 2, 2] = d
    rot = np.swapaxes(vt, -1, -2) @ fix @ np.swapaxes(u, -1, -2)
    s = body_scale(j)
    centre0 = head_centre_template() - TEMPLATE_POSE[8]
    m = np.tile(np.eye(4), (len(j), 1, 1))
    m[:, :3, :3] = rot * s[:, None, None]
    m[:, :3, 3] = j[:, 8] + s[:, None] * (rot @ centre0)
    return m


def head_centre_template() -> np.ndarray:
    """Centre of the head ellipsoid in the template body (between nose and head-top)."""
    return np.array([0.0, -0.005, 0.5 * (TEMPLATE_POSE[9, 2] + TEMPLATE_POSE[10, 2])])


def derived_points(joints: np.ndarray) -> np.ndarray:
    """(T, len(POINT_NAMES), 3): the 17 joints then ``EXTRA_POINTS`` derived from them."""
    j = np.asarray(joints, dtype=np.float64)
    if j.ndim != 3 or j.shape[1:] != (NUM_JOINTS, 3):
        raise ValueError(f"expected (T, {NUM_JOINTS}, 3) joints, got {j.shape}")
    s = body_scale(j)[:, None]
    up = np.array([0.0, 0.0, 1.0])
    left = j[:, 4] - j[:, 1]
    fwd = np.cross(left, up)
    fwd = _unit(fwd)
    out = np.zeros((len(j), len(POINT_NAMES), 3))
    out[:, :NUM_JOINTS] = j
    for side, sh, el, wr, hip, knee, ank in (("L", 11, 12, 13, 4, 5, 6),
                                             ("R", 14, 15, 16, 1, 2, 3)):
        out[:, _P[side + "Hand"]] = j[:, wr] + 0.085 * s * _unit(j[:, wr] - j[:, el])
        out[:, _P[side + "Sleeve"]] = j[:, sh] + 0.5 * (j[:, el] - j[:, sh])
        out[:, _P[side + "Thigh"]] = j[:, hip] + 0.35 * (j[:, knee] - j[:, hip])
        # Shoe: toe ahead of and heel behind the ankle along the body's forward direction.
        out[:, _P[side + "Toe"]] = j[:, ank] + s * (0.13 * fwd - 0.05 * up)
        out[:, _P[side + "Heel"]] = j[:, ank] + s * (-0.045 * fwd - 0.045 * up)
    hm = head_matrices(j)
    out[:, _P["NeckTop"]] = hm[:, :3, 3] + hm[:, :3, :3] @ np.array([0.0, 0.01, -0.07])
    out[:, _P["Belly"]] = 0.5 * (j[:, 0] + j[:, 7])
    return out


def part_radii(part: Part, style: MannequinStyle, scale: float = 1.0) -> np.ndarray:
    """(P,) skin radii of a part's points for the style and a body scale."""
    return np.array([part.radius.get(p, _RADII[p]) for p in part.points]) * style.girth * scale


# ----------------------------------------------------------------------------------------
# Head model, in head-local coordinates (x = the body's left, y = back, z = up, metres),
# each element an ellipsoid: (name, material, centre, radii).
# ----------------------------------------------------------------------------------------
HEAD_PARTS: tuple[tuple[str, str, tuple, tuple], ...] = (
    ("skull", "skin", (0.0, 0.0, 0.0), (0.082, 0.098, 0.112)),
    ("hair", "hair", (0.0, 0.022, 0.036), (0.09, 0.1, 0.104)),
    ("ear_l", "skin", (0.08, 0.008, 0.0), (0.014, 0.022, 0.03)),
    ("ear_r", "skin", (-0.08, 0.008, 0.0), (0.014, 0.022, 0.03)),
    ("eye_l", "eyes", (0.031, -0.083, 0.022), (0.017, 0.012, 0.012)),
    ("eye_r", "eyes", (-0.031, -0.083, 0.022), (0.017, 0.012, 0.012)),
    ("pupil_l", "pupils", (0.031, -0.094, 0.022), (0.008, 0.004, 0.008)),
    ("pupil_r", "pupils", (-0.031, -0.094, 0.022), (0.008, 0.004, 0.008)),
    ("brow_l", "hair", (0.032, -0.088, 0.044), (0.018, 0.005, 0.004)),
    ("brow_r", "hair", (-0.032, -0.088, 0.044), (0.018, 0.005, 0.004)),
    ("nose", "skin", (0.0, -0.1, -0.008), (0.012, 0.018, 0.022)),
    ("mouth", "lips", (0.0, -0.086, -0.048), (0.026, 0.01, 0.008)),
)


def _ellipsoid_mesh(centre, radii, segments: int = 16, rings: int = 10):
    """Vertices and quad/tri faces of an ellipsoid (UV sphere)."""
    verts = [(centre[0], centre[1], centre[2] - radii[2])]
    for r in range(1, rings):
        th = np.pi * r / rings
        for s in range(segments):
            ph = 2 * np.pi * s / segments
            verts.append((centre[0] + radii[0] * np.sin(th) * np.cos(ph),
                          centre[1] + radii[1] * np.sin(th) * np.sin(ph),
                          centre[2] - radii[2] * np.cos(th)))
    verts.append((centre[0], centre[1], centre[2] + radii[2]))
    faces = []
    top = len(verts) - 1
    for s in range(segments):
        faces.append((0, 1 + (s + 1) % segments, 1 + s))
    for r in range(rings - 2):
        a, b = 1 + r * segments, 1 + (r + 1) * segments
        for s in range(segments):
            s1 = (s + 1) % segments
            faces.append((a + s, a + s1, b + s1, b + s))
    last = 1 + (rings - 2) * segments
    for s in range(segments):
        faces.append((last + s, last + (s + 1) % segments, top))
    return verts, faces


class Mannequin:
    """Handle on the built Blender objects; ``set_frame`` poses them."""

    def __init__(self, objects: dict, part_list: tuple[Part, ...], head) -> None:
        self.objects = objects
        self.parts = part_list
        self.head = head
        self._index = {p.name: np.array([_P[n] for n in p.points]) for p in part_list}

    def set_frame(self, points: np.ndarray, head_matrix: np.ndarray) -> None:
        """Move every part's vertices to ``points`` (len(POINT_NAMES), 3) and the head."""
        from mathutils import Matrix

        for p in self.parts:
            me = self.objects[p.name].data
            me.vertices.foreach_set("co", points[self._index[p.name]].astype(
                np.float32).ravel())
            me.update()
        self.head.matrix_world = Matrix(head_matrix.tolist())


def _component_roots(n: int, edges: list[tuple[int, int]]) -> set[int]:
    """First vertex of every connected component (the Skin modifier needs one root each)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    e = np.asarray(edges).reshape(-1, 2)
    graph = coo_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return {int(np.flatnonzero(labels == k)[0]) for k in np.unique(labels)}


def _material(name: str, rgb: RGB, roughness: float = 0.6):
    import bpy

    mat = bpy.data.materials.new(name)
    if mat.node_tree is None:  # Blender < 5 needs use_nodes; 5.x always has nodes
        mat.use_nodes = True
    bsdf = mat.node_tree.nodes.get("Principled BSDF")
    bsdf.inputs["Base Color"].default_value = (*rgb, 1.0)
    bsdf.inputs["Roughness"].default_value = roughness
    mat.diffuse_color = (*rgb, 1.0)
    return mat


def build_mannequin(style: MannequinStyle, points0: np.ndarray, head_matrix0: np.ndarray,
                    scale: float = 1.0, collection=None) -> Mannequin:
    """Create the mannequin objects in ``collection`` (default: the scene's), posed at
    ``points0`` / ``head_matrix0``; ``scale`` is the body size for the skin radii."""
    import bpy
    from mathutils import Matrix

    coll = collection or bpy.context.scene.collection
    mats = {k: _material(f"mq_{k}", getattr(style, k), 0.4 if k in ("eyes", "lips") else 0.7)
            for k in ("skin", "shirt", "trousers", "shoes", "hair", "eyes", "pupils", "lips")}
    objects = {}
    part_list = parts(style)
    for p in part_list:
        names = p.points
        verts = [tuple(points0[_P[n]]) for n in names]
        edges = [(names.index(a), names.index(b)) for a, b in p.edges]
        me = bpy.data.meshes.new(f"mq_{p.name}")
        me.from_pydata(verts, edges, [])
        obj = bpy.data.objects.new(f"mq_{p.name}", me)
        coll.objects.link(obj)
        skin = obj.modifiers.new("skin", "SKIN")
        skin.use_smooth_shade = True
        radii = part_radii(p, style, scale)
        layer = me.skin_vertices[0].data
        roots = _component_roots(len(names), edges)
        for i, r in enumerate(radii):
            layer[i].radius = (float(r), float(r))
            layer[i].use_root = i in roots
        sub = obj.modifiers.new("smooth", "SUBSURF")
        sub.levels = sub.render_levels = 1
        me.materials.append(mats[p.material])
        objects[p.name] = obj

    head_me = bpy.data.meshes.new("mq_head")
    verts: list = []
    faces: list = []
    mat_index: list[int] = []
    slot = {}
    for _name, mat, centre, radii in HEAD_PARTS:
        r = np.asarray(radii) * style.head_size
        c = np.asarray(centre) * style.head_size
        v, f = _ellipsoid_mesh(c, r)
        if mat not in slot:
            slot[mat] = len(slot)
            head_me.materials.append(mats[mat])
        faces += [tuple(i + len(verts) for i in face) for face in f]
        mat_index += [slot[mat]] * len(f)
        verts += v
    head_me.from_pydata(verts, [], faces)
    head_me.polygons.foreach_set("material_index", mat_index)
    head_me.polygons.foreach_set("use_smooth", [True] * len(faces))
    head = bpy.data.objects.new("mq_head", head_me)
    coll.objects.link(head)
    head.matrix_world = Matrix(head_matrix0.tolist())
    objects["head"] = head
    return Mannequin(objects, part_list, head)
