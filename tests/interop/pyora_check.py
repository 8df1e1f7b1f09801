"""OpenRaster interop against an independent implementation, pyora.

    pyora_check.py read FILE            -> JSON: layers as pyora sees them, and
                                           FILE.pyora.png, pyora's own rendering
    pyora_check.py write OUT.ora        -> writes a layered file with pyora and
                                           prints the layers it wrote as JSON

Driven by tests/ora_interop.rs.
"""
import json
import sys

from PIL import Image
from pyora import Project


def read(path):
    project = Project.load(path)
    layers = [
        {
            "name": layer.name,
            "opacity": layer.opacity,
            "visible": layer.visible,
            "composite_op": layer.composite_op,
        }
        for layer in project.iter_layers
    ]
    w, h = project.dimensions
    project.get_image_data(use_original=False).convert("RGBA").save(path + ".pyora.png")
    print(json.dumps({"width": w, "height": h, "layers": layers}))


def write(path):
    project = Project.new(64, 48)
    layers = [
        # name, colour, box, opacity, visible, composite op
        ("paper", (240, 230, 210, 255), (0, 0, 64, 48), 1.0, True, "svg:src-over"),
        ("wash", (30, 90, 200, 255), (8, 6, 40, 30), 0.5, True, "svg:multiply"),
        ("notes", (200, 20, 20, 255), (30, 20, 20, 20), 1.0, False, "svg:src-over"),
        ("glaze", (250, 200, 40, 128), (20, 10, 30, 30), 0.8, True, "svg:screen"),
    ]
    for name, colour, (x, y, w, h), opacity, visible, op in layers:
        image = Image.new("RGBA", (w, h), colour)
        project.add_layer(image, name, offsets=(x, y), opacity=opacity, visible=visible, composite_op=op)
    project.save(path)
    print(json.dumps([
        {"name": n, "colour": c, "box": b, "opacity": o, "visible": v, "composite_op": op}
        for n, c, b, o, v, op in layers
    ]))


if __name__ == "__main__":
    {"read": read, "write": write}[sys.argv[1]](sys.argv[2])
