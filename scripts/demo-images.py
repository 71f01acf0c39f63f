#!/usr/bin/env python3
"""Draws the demo catalogue's photos: flat illustrations, one per product and category, so the offline demo
has pictures of its own. Run once after changing a drawing; the files are committed (shop/demo/images/) and
embedded in the binary, where `vivr serve` loads them into the image store like any upload.

    pip install pillow && python3 scripts/demo-images.py
"""
from pathlib import Path
from PIL import Image, ImageDraw, ImageFilter

S = 2          # drawn at twice the size, then reduced: smooth edges
W = 800
OUT = Path(__file__).resolve().parent.parent / "shop" / "demo" / "images"

WALLS = {
    "salon": (233, 223, 208), "chambre": (222, 226, 234), "cuisine": (236, 228, 214),
    "bureau": (220, 228, 222), "salle-de-bain": (214, 230, 232), "exterieur": (216, 232, 214),
}
WOOD, OAK, DARK = (176, 132, 88), (196, 158, 110), (60, 58, 56)
LINEN, WHITE, GOLD = (238, 230, 214), (248, 246, 242), (200, 162, 80)
GREY, SAGE, TERRA = (150, 150, 148), (142, 164, 132), (196, 110, 72)


def canvas(category):
    img = Image.new("RGB", (W * S, W * S), WALLS[category])
    d = ImageDraw.Draw(img)
    floor = tuple(max(0, c - 22) for c in WALLS[category])
    d.rectangle([0, 600 * S, W * S, W * S], fill=floor)
    return img, d


def p(*xy):
    return [v * S for v in xy]


def shadow(d, cx, w, y=640):
    d.ellipse(p(cx - w, y - 14, cx + w, y + 14), fill=(0, 0, 0, 40) if False else (170, 160, 150))


def lamp(d, shade=LINEN, base=WOOD, tall=False):
    shadow(d, 400, 110)
    top = 170 if tall else 230
    d.rectangle(p(392, top + 150, 408, 600), fill=base)
    d.ellipse(p(330, 585, 470, 640), fill=base)
    d.polygon(p(300, top + 170, 500, top + 170, 450, top, 350, top), fill=shade)
    d.line(p(300, top + 170, 500, top + 170), fill=tuple(c - 30 for c in shade), width=6 * S)


def vase(d):
    shadow(d, 400, 100)
    d.ellipse(p(300, 300, 500, 620), fill=WHITE)
    d.rectangle(p(360, 220, 440, 330), fill=WHITE)
    d.ellipse(p(350, 205, 450, 240), fill=(225, 222, 216))
    for x, h in ((380, 90), (410, 130), (430, 70)):
        d.line(p(x, 215, x - 20 + h // 4, 215 - h), fill=SAGE, width=5 * S)
        d.ellipse(p(x - 30 + h // 4, 190 - h, x - 10 + h // 4, 215 - h), fill=SAGE)


def sofa(d, colour=(120, 134, 150)):
    shadow(d, 400, 300, 650)
    d.rounded_rectangle(p(120, 330, 680, 520), 40 * S, fill=colour)
    d.rounded_rectangle(p(90, 420, 710, 600), 40 * S, fill=tuple(c + 15 for c in colour))
    for x in (170, 370):
        d.rounded_rectangle(p(x, 440, x + 260, 520), 20 * S, fill=tuple(c + 30 for c in colour))
    for x in (140, 640):
        d.rectangle(p(x, 600, x + 20, 650), fill=WOOD)


def table(d, top=OAK):
    shadow(d, 400, 280, 650)
    d.rounded_rectangle(p(110, 430, 690, 470), 10 * S, fill=top)
    for x in (150, 620):
        d.rectangle(p(x, 470, x + 30, 640), fill=tuple(c - 30 for c in top))


def rug(d):
    d.polygon(p(120, 680, 680, 680, 600, 520, 200, 520), fill=WHITE)
    for i in range(5):
        y = 540 + i * 28
        d.line(p(200 - i * 15, y, 600 + i * 15, y), fill=DARK, width=3 * S)
    for x in range(260, 560, 60):
        d.polygon(p(x, 560, x + 30, 590, x, 620, x - 30, 590), outline=DARK, width=3 * S)


def cushion(d):
    shadow(d, 400, 180)
    d.rounded_rectangle(p(220, 300, 580, 620), 60 * S, fill=LINEN)
    d.line(p(240, 460, 560, 460), fill=(215, 205, 188), width=4 * S)


def mirror(d, led=False):
    if led:
        d.rounded_rectangle(p(250, 140, 550, 560), 30 * S, fill=(255, 250, 225))
        d.rounded_rectangle(p(270, 160, 530, 540), 24 * S, fill=(200, 214, 220))
    else:
        d.ellipse(p(220, 140, 580, 500), fill=GOLD)
        d.ellipse(p(240, 160, 560, 480), fill=(205, 218, 224))
        d.line(p(300, 240, 380, 200), fill=WHITE, width=6 * S)


def bed(d):
    shadow(d, 400, 320, 650)
    d.rectangle(p(90, 300, 130, 640), fill=WOOD)
    d.rounded_rectangle(p(120, 430, 700, 600), 20 * S, fill=WHITE)
    d.rounded_rectangle(p(140, 380, 300, 450), 30 * S, fill=LINEN)
    d.rounded_rectangle(p(300, 440, 710, 600), 20 * S, fill=SAGE)


def boards(d):
    for i, (x, c) in enumerate(((250, OAK), (340, WOOD), (430, (150, 108, 70)))):
        d.rounded_rectangle(p(x, 250 + i * 20, x + 140, 620), 40 * S, fill=c)
        d.ellipse(p(x + 55, 280 + i * 20, x + 85, 310 + i * 20), fill=WALLS["cuisine"])


def jars(d):
    for i, x in enumerate((140, 280, 420, 560)):
        h = 200 + (i % 2) * 60
        d.rounded_rectangle(p(x, 620 - h, x + 110, 620), 18 * S, fill=(214, 228, 230))
        d.rounded_rectangle(p(x + 5, 620 - h * 0.6, x + 105, 615), 14 * S, fill=(226, 200, 150) if i % 2 else (190, 150, 100))
        d.rounded_rectangle(p(x - 5, 600 - h, x + 115, 625 - h), 8 * S, fill=OAK)


def pendant(d):
    d.line(p(400, 0, 400, 260), fill=DARK, width=4 * S)
    d.pieslice(p(260, 230, 540, 470), 180, 360, fill=DARK)
    d.ellipse(p(370, 330, 430, 370), fill=(255, 236, 170))


def desk_lamp(d):
    shadow(d, 300, 90)
    d.ellipse(p(220, 595, 380, 640), fill=GREY)
    d.line(p(300, 610, 360, 380), fill=GREY, width=14 * S)
    d.line(p(360, 380, 500, 300), fill=GREY, width=14 * S)
    d.polygon(p(470, 270, 560, 330, 520, 420, 430, 360), fill=DARK)


def organiser(d):
    shadow(d, 400, 190)
    d.rectangle(p(220, 420, 580, 620), fill=OAK)
    d.rectangle(p(220, 340, 360, 420), fill=WOOD)
    for x, c in ((240, TERRA), (270, DARK), (300, SAGE)):
        d.line(p(x, 420, x + 10, 280), fill=c, width=8 * S)


def chair(d):
    shadow(d, 400, 160, 650)
    d.rounded_rectangle(p(290, 170, 510, 400), 40 * S, fill=DARK)
    d.rounded_rectangle(p(270, 410, 530, 470), 20 * S, fill=DARK)
    d.rectangle(p(390, 470, 410, 590), fill=GREY)
    d.line(p(300, 620, 500, 620), fill=GREY, width=10 * S)
    d.line(p(400, 590, 300, 620), fill=GREY, width=10 * S)
    d.line(p(400, 590, 500, 620), fill=GREY, width=10 * S)


def bamboo(d):
    shadow(d, 400, 220)
    d.rounded_rectangle(p(200, 360, 300, 620), 20 * S, fill=OAK)
    d.rectangle(p(235, 300, 265, 360), fill=GREY)
    d.rounded_rectangle(p(330, 450, 430, 620), 16 * S, fill=OAK)
    d.rounded_rectangle(p(460, 520, 620, 620), 16 * S, fill=WOOD)
    d.ellipse(p(480, 490, 600, 540), fill=WHITE)


def lantern(d):
    shadow(d, 400, 110)
    d.arc(p(350, 150, 450, 250), 180, 360, fill=DARK, width=6 * S)
    d.polygon(p(320, 230, 480, 230, 460, 200, 340, 200), fill=DARK)
    d.rectangle(p(330, 230, 470, 600), fill=(255, 240, 190))
    for x in (330, 400, 470):
        d.line(p(x, 230, x, 600), fill=DARK, width=6 * S)
    d.rectangle(p(315, 590, 485, 620), fill=DARK)


def garden(d):
    shadow(d, 400, 300, 650)
    d.rounded_rectangle(p(300, 420, 500, 450), 8 * S, fill=(110, 90, 70))
    d.rectangle(p(390, 450, 410, 620), fill=(110, 90, 70))
    for x in (110, 520):
        d.rounded_rectangle(p(x, 380, x + 170, 540), 24 * S, fill=(120, 100, 80))
        d.rounded_rectangle(p(x + 10, 440, x + 160, 500), 16 * S, fill=GREY)


def pot(d):
    shadow(d, 400, 170)
    d.polygon(p(250, 380, 550, 380, 510, 620, 290, 620), fill=TERRA)
    d.rectangle(p(235, 350, 565, 390), fill=(206, 122, 84))
    for dx, h in ((-60, 200), (0, 260), (60, 190), (-20, 150), (30, 170)):
        d.ellipse(p(380 + dx, 350 - h, 420 + dx, 370), fill=SAGE)


PRODUCTS = {
    "lampe-table-nordique": ("salon", lambda d: lamp(d)),
    "vase-ceramique-minimal": ("salon", vase),
    "canape-3-places-oslo": ("salon", sofa),
    "table-basse-chene": ("salon", table),
    "tapis-berbere-ivoire": ("salon", rug),
    "coussin-lin-naturel": ("salon", cushion),
    "miroir-rond-dore": ("chambre", mirror),
    "lampe-chevet-murano": ("chambre", lambda d: lamp(d, shade=(214, 170, 150), base=GOLD)),
    "parure-lit-coton-bio": ("chambre", bed),
    "set-planches-decouper": ("cuisine", boards),
    "bocaux-verre-lot-4": ("cuisine", jars),
    "suspension-cuisine-industrielle": ("cuisine", pendant),
    "lampe-bureau-articulee": ("bureau", desk_lamp),
    "organiseur-bureau-bois": ("bureau", organiser),
    "fauteuil-bureau-ergonomique": ("bureau", chair),
    "miroir-salle-bain-led": ("salle-de-bain", lambda d: mirror(d, led=True)),
    "set-accessoires-bambou": ("salle-de-bain", bamboo),
    "lanterne-solaire-decorative": ("exterieur", lantern),
    "salon-jardin-resine": ("exterieur", garden),
    "pot-fleur-xxl-terracotta": ("exterieur", pot),
}
# Each category shows two of its products side by side.
CATEGORIES = {
    "salon": ("canape-3-places-oslo", "lampe-table-nordique"),
    "chambre": ("parure-lit-coton-bio", "miroir-rond-dore"),
    "cuisine": ("bocaux-verre-lot-4", "suspension-cuisine-industrielle"),
    "bureau": ("fauteuil-bureau-ergonomique", "lampe-bureau-articulee"),
    "salle-de-bain": ("miroir-salle-bain-led", "set-accessoires-bambou"),
    "exterieur": ("salon-jardin-resine", "pot-fleur-xxl-terracotta"),
}


def render(category, draw):
    img, d = canvas(category)
    draw(d)
    return img.resize((W, W), Image.LANCZOS).filter(ImageFilter.SMOOTH_MORE)


def save(name, img):
    img.save(OUT / f"{name}.webp", "WEBP", quality=80, method=6)


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for slug, (category, draw) in PRODUCTS.items():
        save(slug, render(category, draw))
    for slug, (left, right) in CATEGORIES.items():
        # The two pictures at half size, their floors level, on the category's wall and floor.
        img = render(slug, lambda d: None)
        for x, product in ((0, left), (W // 2, right)):
            half = render(*PRODUCTS[product]).resize((W // 2, W // 2), Image.LANCZOS)
            img.paste(half, (x, 300))  # its floor line (300 of 400) meets the canvas floor (600)
        save(f"categorie-{slug}", img)
    print(f"{len(PRODUCTS) + len(CATEGORIES)} images in {OUT}")


if __name__ == "__main__":
    main()
