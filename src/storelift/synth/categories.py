"""The synthetic store's departments, leaf categories and latent shopper segments.

Each category carries the economics the generator needs (median price, price spread, cost ratio,
units per line, price elasticity, return rate) and the words its product titles are built from.
All names and numbers are invented for the synthetic store.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Category:
    """A leaf category: its path, price economics and title vocabulary."""

    path: str
    median_price: float
    price_sigma: float  # log-normal spread of list prices
    cost_ratio: float  # unit cost / list price
    base_quantity: float  # mean units per line at list price (>= 1)
    elasticity: float  # E[quantity] scales as (price / list price) ** -elasticity
    return_rate: float  # probability a line is returned
    nouns: tuple[str, ...]
    materials: tuple[str, ...]
    adjectives: tuple[str, ...]

    @property
    def department(self) -> str:
        return self.path.split(" > ")[0]


def _w(text: str) -> tuple[str, ...]:
    return tuple(w.strip() for w in text.split(",") if w.strip())


CATEGORIES: tuple[Category, ...] = (
    Category("Home > Kitchen", 24, 0.6, 0.45, 1.08, 1.4, 0.04,
             _w("serving board, chef's knife, mixing bowl, saucepan, frying pan, colander, measuring jug, teapot, cafetiere, utensil set, baking tray, rolling pin"),
             _w("oak, bamboo, stainless steel, ceramic, cast iron, enamel, glass, copper"),
             _w("classic, everyday, professional, compact, heritage, nordic")),
    Category("Home > Bedding", 42, 0.5, 0.40, 1.10, 1.6, 0.06,
             _w("duvet cover, pillowcase pair, fitted sheet, throw, blanket, mattress topper, bedspread"),
             _w("cotton, linen, percale, sateen, wool, brushed cotton"),
             _w("soft, breathable, hotel quality, waffle, striped, washed")),
    Category("Home > Decor", 22, 0.6, 0.35, 1.12, 1.8, 0.05,
             _w("candle, vase, picture frame, wall mirror, cushion, table lamp, plant pot, wall clock"),
             _w("glass, rattan, brass, stoneware, velvet, marble, terracotta"),
             _w("minimal, vintage, scandi, botanical, ribbed, hand-finished")),
    Category("Home > Bath", 18, 0.5, 0.40, 1.20, 1.5, 0.04,
             _w("bath towel, bath mat, shower curtain, soap dispenser, bathrobe, hand towel set"),
             _w("cotton, bamboo, waffle cotton, ceramic, linen"),
             _w("plush, quick-dry, spa, organic, ribbed")),
    Category("Fashion > Women > Dresses", 48, 0.5, 0.35, 1.03, 2.0, 0.22,
             _w("midi dress, wrap dress, shirt dress, maxi dress, slip dress, tea dress"),
             _w("cotton, viscose, linen, jersey, silk, crepe"),
             _w("floral, pleated, tiered, belted, printed, relaxed")),
    Category("Fashion > Women > Knitwear", 40, 0.5, 0.35, 1.04, 1.9, 0.16,
             _w("jumper, cardigan, roll neck, knitted vest, crew neck"),
             _w("merino, cashmere, cotton, lambswool, alpaca blend"),
             _w("chunky, fine knit, cropped, oversized, cable")),
    Category("Fashion > Men > Shirts", 32, 0.45, 0.33, 1.08, 1.8, 0.14,
             _w("oxford shirt, linen shirt, flannel shirt, polo shirt, t-shirt, overshirt"),
             _w("cotton, linen, brushed cotton, pique, organic cotton"),
             _w("slim fit, regular fit, striped, washed, heavyweight")),
    Category("Fashion > Men > Outerwear", 95, 0.5, 0.38, 1.01, 1.7, 0.12,
             _w("parka, rain jacket, gilet, wool coat, bomber jacket, field jacket"),
             _w("waxed cotton, recycled nylon, wool blend, ripstop, down"),
             _w("waterproof, quilted, lightweight, insulated, packable")),
    Category("Fashion > Accessories", 20, 0.6, 0.30, 1.10, 1.7, 0.08,
             _w("scarf, belt, beanie, tote bag, wallet, sunglasses, gloves"),
             _w("leather, wool, canvas, cotton, recycled polyester"),
             _w("everyday, patterned, classic, bold, woven")),
    Category("Fashion > Shoes", 62, 0.45, 0.40, 1.02, 1.9, 0.20,
             _w("trainers, chelsea boots, loafers, sandals, slippers, walking boots"),
             _w("leather, suede, canvas, knit, rubber"),
             _w("cushioned, lightweight, classic, chunky, vegan")),
    Category("Beauty > Skincare", 16, 0.5, 0.30, 1.25, 1.2, 0.03,
             _w("face serum, moisturiser, cleanser, eye cream, face mask, toner"),
             _w("hyaluronic, vitamin C, rosehip, niacinamide, aloe, shea"),
             _w("hydrating, brightening, gentle, overnight, daily")),
    Category("Beauty > Fragrance", 45, 0.5, 0.35, 1.05, 1.3, 0.03,
             _w("eau de parfum, eau de toilette, body mist, solid perfume, gift set"),
             _w("cedar, neroli, vanilla, fig, amber, bergamot"),
             _w("fresh, warm, floral, woody, citrus")),
    Category("Beauty > Haircare", 11, 0.45, 0.28, 1.35, 1.1, 0.02,
             _w("shampoo, conditioner, hair oil, hair mask, styling cream, dry shampoo"),
             _w("argan, coconut, keratin, tea tree, oat"),
             _w("nourishing, volumising, repairing, clarifying, curl-defining")),
    Category("Electronics > Audio", 75, 0.75, 0.60, 1.01, 2.4, 0.07,
             _w("wireless earbuds, headphones, bluetooth speaker, soundbar, turntable, radio"),
             _w("matte black, walnut, aluminium, white, graphite"),
             _w("noise-cancelling, portable, hi-fi, compact, waterproof")),
    Category("Electronics > Accessories", 18, 0.55, 0.40, 1.15, 1.6, 0.06,
             _w("charging cable, power bank, phone case, wireless charger, usb hub, laptop stand"),
             _w("braided nylon, silicone, aluminium, recycled plastic, leather"),
             _w("fast-charging, slim, rugged, magnetic, travel")),
    Category("Electronics > Smart Home", 42, 0.6, 0.55, 1.10, 2.1, 0.05,
             _w("smart plug, smart bulb, video doorbell, thermostat, security camera, motion sensor"),
             _w("white, black, matte grey, brushed steel"),
             _w("wifi, voice-controlled, energy-saving, outdoor, battery-powered")),
    Category("Garden > Tools", 20, 0.55, 0.40, 1.10, 1.5, 0.04,
             _w("trowel, pruning shears, watering can, garden hose, rake, kneeler, hand fork"),
             _w("stainless steel, ash wood, galvanised steel, recycled plastic, copper"),
             _w("ergonomic, heavy-duty, compact, traditional, lightweight")),
    Category("Garden > Furniture", 120, 0.6, 0.50, 1.02, 2.2, 0.05,
             _w("garden bench, bistro set, sun lounger, parasol, planter, hammock"),
             _w("acacia, teak, rattan, powder-coated steel, aluminium"),
             _w("folding, weatherproof, two-seater, reclining, modular")),
    Category("Sports > Fitness", 26, 0.6, 0.45, 1.10, 1.7, 0.06,
             _w("yoga mat, dumbbell set, resistance bands, kettlebell, foam roller, skipping rope"),
             _w("natural rubber, cast iron, neoprene, cork, TPE"),
             _w("non-slip, adjustable, studio, travel, high-density")),
    Category("Sports > Outdoor", 52, 0.65, 0.50, 1.05, 1.8, 0.07,
             _w("tent, sleeping bag, hiking backpack, water bottle, head torch, camping stove"),
             _w("ripstop nylon, stainless steel, titanium, recycled polyester, aluminium"),
             _w("ultralight, waterproof, insulated, two-person, rechargeable")),
    Category("Toys > Games", 21, 0.5, 0.45, 1.08, 1.6, 0.03,
             _w("board game, jigsaw puzzle, card game, building set, marble run, puzzle box"),
             _w("wooden, cardboard, recycled, bamboo, magnetic"),
             _w("family, strategy, 1000-piece, cooperative, classic")),
    Category("Toys > Baby", 16, 0.5, 0.42, 1.12, 1.5, 0.04,
             _w("soft toy, teething ring, stacking cups, activity mat, bath toys, rattle"),
             _w("organic cotton, natural rubber, beech wood, silicone, muslin"),
             _w("sensory, gentle, first, pastel, washable")),
    Category("Grocery > Pantry", 8, 0.45, 0.55, 1.80, 1.0, 0.01,
             _w("coffee beans, loose leaf tea, olive oil, granola, hot chocolate, honey, pasta"),
             _w("single origin, organic, cold-pressed, wildflower, dark roast, heritage grain"),
             _w("artisan, fair trade, small-batch, everyday, gourmet")),
    Category("Stationery > Office", 12, 0.55, 0.35, 1.30, 1.3, 0.02,
             _w("notebook, fountain pen, desk organiser, weekly planner, pencil set, letter tray"),
             _w("recycled paper, brass, cork, leather, walnut"),
             _w("dotted, refillable, minimal, undated, A5")),
)

DEPARTMENTS: tuple[str, ...] = tuple(dict.fromkeys(c.department for c in CATEGORIES))

BRANDS_BY_DEPARTMENT: dict[str, tuple[str, ...]] = {
    "Home": _w("Larkwell, Hearth & Fold, Millbrook, Ashcombe, Tidewell, Kettering Row"),
    "Fashion": _w("Northlane, Wren & Bow, Ossington, Marlow Thread, Halden, Fennick"),
    "Beauty": _w("Dewpoint, Lumen Botanics, Saltmere, Fernleigh, Petal & Stone"),
    "Electronics": _w("Voltique, Auralis, Brightcell, Nimbus Labs, Corvex"),
    "Garden": _w("Greenhollow, Thornbury, Mossgate, Allotment Co."),
    "Sports": _w("Peakform, Trailwright, Corefit, Summit & Sound"),
    "Toys": _w("Little Acorn, Puzzlewick, Tumbleroo, Brightblocks"),
    "Grocery": _w("Ember Roasters, Hive & Hollow, Olivaro, Morning Field"),
    "Stationery": _w("Inkwell & Co., Paperlark, Quillby, Deskcraft"),
}

VENDORS: tuple[str, ...] = _w(
    "Northbank Supply Co., Harbourline Trading, Eastgate Wholesale, Kestrel Distribution, "
    "Bridgewater Goods, Fairholm Imports, Westmoor Sourcing, Cobalt Street Partners"
)

COLOURS: tuple[str, ...] = _w("black, white, navy, sage, oatmeal, rust, charcoal, sky blue, olive, blush")

FEATURES_BY_DEPARTMENT: dict[str, tuple[str, ...]] = {
    "Home": _w("dishwasher safe, designed to last for years, made in small batches, easy to clean, "
               "finished by hand, sized for everyday use"),
    "Fashion": _w("cut for a relaxed fit, machine washable at 30 degrees, made with responsibly sourced fibres, "
                  "finished with reinforced seams, true to size"),
    "Beauty": _w("suitable for sensitive skin, free from added fragrance, dermatologist tested, "
                 "in a recyclable bottle, cruelty free"),
    "Electronics": _w("with a two-year warranty, with up to 20 hours of battery, USB-C charging, "
                      "works with popular voice assistants, low standby power"),
    "Garden": _w("rust resistant, built for all weathers, easy to store, FSC certified wood, "
                 "with a ten-year guarantee"),
    "Sports": _w("sweat resistant, easy to pack, non-slip grip, built for daily training, with a carry strap"),
    "Toys": _w("for ages 3 and up, tested to toy safety standards, made without plastic, "
               "great for family evenings, easy to tidy away"),
    "Grocery": _w("roasted weekly, packed in a resealable bag, sourced from a single estate, "
                  "with no added sugar, in a recyclable tin"),
    "Stationery": _w("with 120 gsm paper, lies flat when open, refillable, acid-free pages, with a ribbon marker"),
}


@dataclass(frozen=True)
class Segment:
    """A latent shopper segment: department tastes and its true response to the e-mail campaign."""

    name: str
    share: float
    department_weights: dict[str, float]
    campaign_uplift: float  # mean probability that the campaign e-mail causes one extra order


SEGMENTS: tuple[Segment, ...] = (
    Segment("homemaker", 0.25, {"Home": 5, "Garden": 2, "Grocery": 2, "Stationery": 1, "Toys": 0.5,
                                "Fashion": 0.5, "Beauty": 0.5, "Electronics": 0.5, "Sports": 0.3}, 0.05),
    Segment("style_seeker", 0.25, {"Fashion": 6, "Beauty": 3, "Home": 1, "Sports": 0.5, "Stationery": 0.3,
                                   "Electronics": 0.3, "Garden": 0.2, "Toys": 0.2, "Grocery": 0.5}, 0.09),
    Segment("tech_enthusiast", 0.15, {"Electronics": 6, "Sports": 2, "Stationery": 0.5, "Home": 0.5,
                                      "Fashion": 0.5, "Garden": 0.3, "Beauty": 0.2, "Toys": 0.3,
                                      "Grocery": 0.5}, 0.02),
    Segment("family_shopper", 0.20, {"Toys": 4, "Home": 2, "Grocery": 2, "Stationery": 1.5, "Fashion": 1,
                                     "Beauty": 0.5, "Garden": 0.5, "Sports": 0.5, "Electronics": 0.5}, 0.06),
    Segment("bargain_hunter", 0.15, {d: 1.0 for d in DEPARTMENTS}, 0.15),
)
