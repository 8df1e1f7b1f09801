"""Which pictures scripts/fetch_corpus.sh takes from each source, and what they are.

One entry per source (a folder of data/corpus). Pins (package=version and SHA-256)
live in scripts/fetch_corpus.sh; this file says, per source:
  include   regexes on the path inside the package (the installed path without the
            leading "./"; members of .pk3/.zip archives as ARCHIVE!MEMBER); a file is
            considered when one matches (default: every picture),
  exclude   regexes that drop a file even when included (UI, icons, fonts, translated
            duplicates, model skins = UV atlases, ...),
  kind      default content kind: painted | photo | render | emoji,
  kinds     [(regex, kind)], first match overrides the default,
  min_alpha lowest share of visible pixels (default 0.25),
  licence   the licence to record when the copyright file is not machine-readable
            (DEP-5) or names no stanza for the file,
  licence_fn  optional function(root, path) -> licence or None, for per-folder licences
            kept outside debian/copyright (stellarium's sky cultures).
Generic filters applied to every source are in corpus_select.py.
"""

import os
import re

# Filename parts that mark non-pictures in game data: normal/bump/height/specular/
# gloss/glow/AO/roughness maps, masks, light maps, UI, fonts, cursors, atlases and
# sprite sheets. Matched case-insensitively on the file name (not the folder).
NON_PICTURE_NAME = (
    r"(^|[_\-.])(n|nm|norm|normal|normals|nrm|local|bump|h|height|heightmap|disp|"
    r"s|spec|specular|gloss|g|glow|luma|lum|emit|emissive|ao|occ|occlusion|rough|"
    r"roughness|metal|metallic|mask|alpha|a|lightmap|shadow|blend|mix|detail|"
    r"font|cursor|crosshair|atlas|sheet|sprites?|icon|icons|button|logo)"
    r"([_\-.@0-9]|$)"
)
# Folder names that hold non-pictures.
NON_PICTURE_DIR = r"(^|/)(fonts?|icons?|cursors?|crosshairs?|gui|ui|hud|l10n|lightmaps?|editor|particles?|caustics)(/|$)"

# Textures are opaque tiles: transparency in one marks a UV atlas (islands on an
# empty sheet), a decal or foliage cut-out, so texture sources keep only pictures
# that are at least 90% visible.
TEXTURE_MIN_ALPHA = 0.9

SOURCES = {
    # ---------------- painted / illustrated ----------------
    "wesnoth": dict(
        kind="painted",
        licence="GPL-2+",
        # Portraits, story art, campaign maps and the painted mountain terrain.
        include=[r"usr/share/games/wesnoth/1\.16/data/"],
        exclude=[r"/l10n/", r"/images/(misc|icons|help|buttons|dialogs|cursors|halo|projectiles|attacks|units)/",
                 r"/images/maps/", r"/maps/", r"/unit_env/"],
    ),
    "flare": dict(
        kind="painted",
        licence="CC-BY-SA-3.0",
        # Avatar layers (images/avatar/) are body parts for character building: drop.
        include=[r"usr/share/games/flare/mods/"],
        exclude=[r"/images/avatar/", r"/images/(menus|icons|tilesets|enemies|npcs|powers|loot)/"],
    ),
    "ardentryst": dict(kind="painted", licence="CC-BY-SA-3.0",
                       exclude=[r"/(Fonts|Sprites|Tiles)/"]),
    "supertux": dict(
        kind="painted",
        licence="GPL-2+",
        include=[r"/images/(background|worldmap|creatures|objects|decal)/"],
        exclude=[r"/lightmap", r"/engine/"],
    ),
    "warmux": dict(kind="painted", licence="GPL-2+",
                   include=[r"/warmux/(map|menu)/"],
                   exclude=[r"/mask\.", r"/preview\."]),
    "hedgewars": dict(kind="painted", licence="GPL-2",
                      include=[r"/Data/(Themes|Graphics/Missions|Forts|Maps)/"],
                      exclude=[r"/Forts/"]),
    "naev": dict(kind="render", licence="GPL-3+",
                 include=[r"/dat/gfx/(planet|loading|bkg|ship|commodity)/"],
                 # Ship folders: NAME.png is a sheet of rotations (dropped); NAME_comm.png is
                 # the ship's portrait.
                 exclude=[r"/ship/[^/]+/(?![^/]*_comm\.)[^/]*$"],
                 kinds=[(r"/(loading|commodity)/", "painted")]),
    "freeorion": dict(kind="render", licence="CC-BY-SA-3.0",
                      include=[r"/art/(planets|nebulae|species|hulls_design|icons/monsters|icons/building|misc|stars|fields)/"],
                      exclude=[r"/(atmospheres|overlays|citylights|damage|rings)/"],
                      kinds=[(r"/(species|icons|misc)/", "painted")]),
    "openclipart": dict(
        kind="painted",
        licence="public-domain",
        min_alpha=0.12,
        # Icon themes, symbol sets, flags, road signs and gradient swatches are not
        # pictures an artist paints.
        exclude=[r"/computer/", r"/signs_and_symbols/", r"/shapes/", r"/special/", r"/roadsigns/",
                 r"/aiga-symbols/", r"/flags?/", r"/icons?/", r"/buttons/", r"/borders/", r"/alphabets/",
                 r"/map_symbols/", r"/geography/"],
    ),
    "stellarium": dict(
        kind="photo",
        licence="GPL-2+",
        include=[r"/stellarium/(nebulae/default|skycultures|landscapes|textures)/"],
        exclude=[r"/textures/(neb|fog|halo|cross|gear|disk|gray|TestSquare|comet)", r"_normals?\.",
                 r"/scenery3d/", r"/models/"],
        kinds=[(r"/skycultures/", "painted"), (r"/textures/", "render")],
        licence_fn="stellarium_skyculture",
    ),
    "endless-sky": dict(
        kind="render",
        licence="CC-BY-SA-4.0",
        # Only the @2x pictures of endless-sky-high-dpi: endless-sky-data holds the same
        # pictures at half the size.
        include=[r"@2x\.(png|jpg)$"],
        exclude=[r"/images/(ui|label|_menu|effect|star|outfit)/"],
        kinds=[(r"/images/land/", "photo")],
    ),
    "fluent-emoji-3d": dict(kind="emoji", licence="MIT", min_alpha=0.12),
    # ---------------- photographs / textures ----------------
    "openarena": dict(kind="photo", min_alpha=TEXTURE_MIN_ALPHA, licence="GPL-2+",
                      exclude=[r"/(sfx|liquids|skies|ctf|effects|gfx|menu|models|sprites)/"]),
    "nexuiz": dict(kind="photo", min_alpha=TEXTURE_MIN_ALPHA, licence="GPL-2+",
                   exclude=[r"/(gfx|models|sprites|env)/", r"_(fx|shirt|pants|reflect)\."]),
    "ufoai": dict(kind="photo", min_alpha=TEXTURE_MIN_ALPHA, licence="GPL-2+",
                  exclude=[r"/tex_(pics|material)/"]),
    "redeclipse": dict(kind="photo", min_alpha=TEXTURE_MIN_ALPHA, licence="CC-BY-SA-3.0+",
                       include=[r"/redeclipse/data/"],
                       exclude=[r"/data/(textures|particles|caustics|crosshairs|fonts|sounds|maps|skyboxes|torley/glass)/",
                                r"/mayhem/", r"/(sky|env)/"]),
    "supertuxkart": dict(kind="photo", min_alpha=TEXTURE_MIN_ALPHA, licence="CC-BY-SA-3.0",
                         include=[r"/data/(textures|tracks)/"],
                         exclude=[r"/textures/(skybox|deprecated)/", r"/screenshot", r"_(map|minimap)\.",
                                  r"/textures/.*(kart|sara|tux|konqi)"]),
    "torcs": dict(kind="photo", min_alpha=TEXTURE_MIN_ALPHA, licence="GPL-2+",
                  include=[r"/torcs/tracks/"],
                  exclude=[r"/(outline|background)\.", r"-trk-"]),
}


def stellarium_skyculture(root, path):
    """Sky-culture art carries its own licence in skycultures/NAME/info.ini."""
    m = re.search(r"(.*/skycultures/[^/]+)/", path)
    if not m:
        return None
    ini = os.path.join(root, m.group(1), "info.ini")
    try:
        text = open(ini, encoding="utf-8", errors="replace").read()
    except OSError:
        return "unknown"
    lm = re.search(r"^\s*license\s*=\s*(.+)$", text, re.M | re.I)
    if not lm:
        return "unknown"
    raw = lm.group(1).strip()
    # Normalise to SPDX-like names.
    out = []
    for part in re.split(r"\s*\+\s*", raw):
        p = part.strip()
        if re.match(r"GNU GPL v2", p, re.I):
            out.append("GPL-2.0")
        elif re.match(r"Free Art", p, re.I):
            out.append("LAL-1.3")
        else:
            cm = re.match(r"CC (BY(?:-[A-Z]+)*) (\d\.\d)", p)
            out.append(f"CC-{cm.group(1)}-{cm.group(2)}" if cm else p)
    return " AND ".join(out)
