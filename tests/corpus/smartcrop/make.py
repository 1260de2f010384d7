"""Makes tests/corpus/smartcrop/: 20 pictures with an off-centre subject and labels.json, the
subject's box in each (display orientation). Needs Pillow. Run from the repository root:
    python3 tests/corpus/smartcrop/make.py tests/corpus/smartcrop
"""
import json, sys
from PIL import Image

C = 'tests/corpus/'
OUT = sys.argv[1]

def load(src, mode='RGB'):
    im = Image.open(C + src)
    if im.mode == 'CMYK':
        im = im.convert('RGB')
    return im.convert(mode)

def region(src, box, size, thumbw=None):
    """`box` of `src` (in a `thumbw`-wide preview's pixels, or the file's), resized to `size`."""
    im = load(src)
    if thumbw:
        s = im.width / thumbw
        box = tuple(round(v * s) for v in box)
    return im.crop(box).resize(size, Image.LANCZOS)

# Subjects with alpha, cut to their opaque box.
def cutout(src, box=None, width=None):
    im = load(src, 'RGBA')
    if box:
        im = im.crop(box)
    im = im.crop(im.split()[3].getbbox())
    if width:
        im = im.resize((width, round(im.height * width / im.width)), Image.LANCZOS)
    return im

def inset(src, width, border=6):
    """A photo print with a white border (a picture on a wall)."""
    im = load(src)
    im = im.resize((width, round(im.height * width / im.width)), Image.LANCZOS)
    out = Image.new('RGBA', (im.width + 2 * border, im.height + 2 * border), (250, 250, 250, 255))
    out.paste(im, (border, border))
    return out

def paste(bg, subject, at):
    bg = bg.convert('RGBA')
    bg.alpha_composite(subject, at)
    a = subject.split()[3].getbbox()
    return bg.convert('RGB'), [at[0] + a[0], at[1] + a[1], at[0] + a[2], at[1] + a[3]]

P6 = 'photos/phone12mp.jpg'; P5 = 'photos/photo6mp.jpg'; BO = 'photos/boats4mp.jpg'
FO = 'photos/forest4mp.jpg'; FL = 'photos/flowers1080p.jpg'; PARK = 'formats/Channel_digital_image_CMYK_color.jpg'
L, PT = (600, 400), (400, 600)
bg = {
    'flowers': lambda: region(FL, (0, 0, 1620, 1080), L),
    'flowers-tall': lambda: region(FL, (600, 0, 1320, 1080), PT),
    'forest': lambda: region(FO, (300, 0, 800, 333), L, 800),
    'forest-tall': lambda: region(FO, (1400, 0, 2467, 1600), PT),
    'gravel': lambda: region(BO, (450, 330, 705, 500), L, 800),
    'gravel-tall': lambda: region(BO, (560, 330, 673, 500), PT, 800),
    'garage': lambda: region(P5, (560, 0, 800, 160), L, 800),
    'sunset': lambda: region(BO, (400, 0, 625, 150), L, 800),
    'water': lambda: region(P6, (560, 440, 800, 600), L, 800),
    'water-tall': lambda: region(P6, (640, 300, 800, 540), PT, 800),
    'cranes': lambda: region(P6, (420, 0, 800, 253), L, 800),
}
compass = lambda w: cutout('formats/5_webp_a.webp', width=w)
aws = lambda w: cutout('oss/aws_logo.png', width=w)
writing = lambda w: cutout('formats/blackbug.png', (517, 711, 2048, 983), w)
gears = lambda w: cutout('oss/example.gif', width=w)
flag = lambda w: load('formats/Flag_of_the_Netherlands-alpha.png').resize((w, w * 2 // 3), Image.LANCZOS).convert('RGBA')

# name: (picture, subject box or None when pasted, EXIF orientation to store it with)
natural = {
    'building': (region(P6, (100, 150, 700, 550), L, 800), [52, 35, 257, 373]),
    'tower': (region(P6, (420, 160, 800, 413), L, 800), [374, 66, 521, 386]),
    'saw': (region(P5, (100, 120, 800, 587), L, 800), [22, 20, 305, 296]),
    'hand': (region(P5, (445, 260, 800, 497), L, 800), [58, 115, 187, 347]),
    'park': (region(PARK, (100, 55, 420, 268), L), [318, 15, 532, 400]),
    'waterfall': (region('orient/Portrait_1.jpg', (100, 150, 400, 600), PT), [63, 14, 237, 377]),
    'forestpath': (region(FO, (120, 240, 495, 490), L, 800), [45, 0, 207, 400]),
}
composed = {
    'compass-flowers': ('flowers', compass(220), (25, 90)),
    'compass-sunset': ('sunset', compass(170), (410, 40)),
    'logo-forest': ('forest', aws(250), (335, 200)),
    'writing-garage': ('garage', writing(330), (12, 60)),
    'gears-water': ('water', gears(294), (295, 220)),
    'flag-gravel': ('gravel', flag(180), (15, 150)),
    'puppy-garage': ('garage', inset('oss/example.jpg', 230), (350, 120)),
    'tree-flowers': ('flowers-tall', inset('formats/4.webp', 200), (170, 20)),
    'compass-forest': ('forest-tall', compass(150), (40, 430)),
    'logo-cranes': ('cranes', aws(200), (20, 30)),
    'park-water': ('water-tall', inset(PARK, 210), (95, 420)),
    'writing-flowers': ('flowers-tall', writing(300), (50, 500)),
    'gears-gravel': ('gravel-tall', gears(300), (50, 20)),
}
orient = {'waterfall': 6, 'tree-flowers': 8, 'compass-sunset': 3}
# Stored turned so that applying the EXIF orientation shows the labelled picture.
store_turn = {6: Image.ROTATE_90, 8: Image.ROTATE_270, 3: Image.ROTATE_180}

labels = []
items = [(k, im, box) for k, (im, box) in natural.items()]
for k, (b, s, at) in composed.items():
    im, box = paste(bg[b](), s, at)
    items.append((k, im, box))
for k, im, box in items:
    o = orient.get(k, 1)
    kw = {'quality': 85}
    if o != 1:
        im = im.transpose(store_turn[o])
        exif = Image.Exif(); exif[0x0112] = o
        kw['exif'] = exif.tobytes()
    im.save(f'{OUT}/{k}.jpg', **kw)
    labels.append({'file': f'{k}.jpg', 'subject': box, 'orientation': o})
with open(f'{OUT}/labels.json', 'w') as f:
    f.write('[\n' + ',\n'.join('  ' + json.dumps(l) for l in labels) + '\n]\n')
