"""Word lists for fake but realistic-looking customer PII, written for this generator.

Phones use ranges reserved for fiction (Ofcom's 07700 900xxx for the UK, NANPA's 555-01xx for
North America, ACMA's 0491 570xxx for Australia); e-mails use the RFC 2606 example domains.
"""

from __future__ import annotations

from dataclasses import dataclass


def _w(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FEMALE_FIRST = _w(
    """Anna Emma Olivia Sophie Grace Chloe Lucy Hannah Amelia Isla Ella Freya Mia Ruby Evie Poppy
    Alice Lily Jessica Charlotte Megan Laura Sarah Rachel Emily Holly Zara Aisha Priya Fatima Leah
    Niamh Aoife Siobhan Maria Elena Clara Julia Nina Eva Ingrid Hana Yuki Mei Amara Chiara Lena
    Rosa Ava Harriet Imogen Martha Beatrice Esme Naomi Tara Kirsty Fiona Morag Eleanor Joanna"""
)
MALE_FIRST = _w(
    """James Oliver Jack Harry George Noah Charlie Thomas Oscar William Henry Leo Alfie Joshua
    Daniel Samuel Benjamin Lewis Ethan Adam Ryan Liam Connor Callum Aidan Sean Ciaran Rhys Owen
    Dylan Mohammed Omar Arjun Ravi Hamza Yusuf Luca Marco Mateo Lukas Felix Jonas Kenji Wei Kwame
    Tobias Hugo Arthur Edward Frederick Isaac Max Patrick Finn Ewan Angus Dominic Nathan Simon Paul"""
)
NEUTRAL_FIRST = _w("Alex Sam Jordan Morgan Robin Charlie Jamie Casey Riley Avery Quinn Rowan Sasha Ellis Remy")
LAST = _w(
    """Smith Jones Taylor Brown Williams Wilson Johnson Davies Robinson Wright Thompson Evans Walker
    White Roberts Green Hall Wood Jackson Clarke Patel Khan Lewis James Phillips Mason Mitchell Rose
    Davis Rodriguez Cox Alexander Garden Campbell Johnston Moore Smyth Murphy Kelly Byrne Ryan
    Walsh Doyle McCarthy Gallagher Quinn Lynch Fraser Stewart Reid Murray Ross Hughes Price Morgan
    Griffiths Edwards Lloyd Owen Parry Singh Shah Ahmed Ali Hussain Begum Chen Wong Li Nguyen Kim
    Okafor Mensah Adeyemi Kowalski Novak Schmidt Muller Rossi Bianchi Garcia Martin Dubois Silva
    Santos Ferreira Larsen Jensen Nilsson Berg Fischer Weber Hoffmann Baker Carter Turner Parker
    Cooper Ward Morris King Hill Scott Young Allen Bell Bennett Harrison Marshall Bailey Foster
    Hunter Palmer Holmes Barker Fletcher Chapman Webb Ellis Harper Fox Shaw Lawrence Spencer"""
)
STREET_NAMES = _w(
    """Willow Station Church Mill Park Victoria Albert Queens Kings Orchard Meadow Beech Elm
    Chestnut Rowan Hawthorn Harbour Bridge Castle Abbey Granary Foundry Canal Market Spring
    Windmill Lime Cedar Maple Ash Heather Bramble Foxglove Kestrel Falcon Heron Wren Lark Juniper"""
)

EMAIL_DOMAINS = ("example.com", "example.org", "example.net")


@dataclass(frozen=True)
class CountryProfile:
    """How addresses and phones look in one country, and its customer share and VAT rate."""

    code: str
    share: float
    vat_rate: float  # VAT/GST included in prices charged to this country
    shipping: float  # flat shipping below the free-shipping threshold
    street_suffixes: tuple[str, ...]
    places: tuple[tuple[str, str], ...]  # (city, region)
    postcode_pattern: str  # A = letter, # = digit, N = digit 2-9, other characters literal
    phone_pattern: str  # same placeholders; "" = no fictional range known, so no phone


COUNTRIES: tuple[CountryProfile, ...] = (
    CountryProfile(
        "GB", 0.74, 0.20, 3.95, _w("Road Street Lane Close Avenue Crescent Way Gardens"),
        (("London", "Greater London"), ("Manchester", "Greater Manchester"), ("Birmingham", "West Midlands"),
         ("Leeds", "West Yorkshire"), ("Bristol", "Bristol"), ("Glasgow", "Scotland"), ("Edinburgh", "Scotland"),
         ("Cardiff", "Wales"), ("Belfast", "Northern Ireland"), ("Liverpool", "Merseyside"),
         ("Nottingham", "Nottinghamshire"), ("Brighton", "East Sussex"), ("York", "North Yorkshire"),
         ("Norwich", "Norfolk"), ("Exeter", "Devon"), ("Oxford", "Oxfordshire")),
        "AA# #AA", "+44 7700 900###",
    ),
    CountryProfile(
        "IE", 0.07, 0.23, 6.95, _w("Road Street Lane Avenue Terrace Park"),
        (("Dublin", "Leinster"), ("Cork", "Munster"), ("Galway", "Connacht"), ("Limerick", "Munster"),
         ("Kilkenny", "Leinster")),
        "A## A#A#", "",
    ),
    CountryProfile(
        "US", 0.12, 0.0, 12.95, _w("St Ave Blvd Rd Dr Ln"),
        (("New York", "NY"), ("Boston", "MA"), ("Chicago", "IL"), ("Seattle", "WA"), ("Austin", "TX"),
         ("Denver", "CO"), ("Portland", "OR"), ("San Francisco", "CA")),
        "#####", "+1 N## 555 01##",
    ),
    CountryProfile(
        "AU", 0.07, 0.0, 14.95, _w("Street Road Avenue Parade Place Crescent"),
        (("Sydney", "NSW"), ("Melbourne", "VIC"), ("Brisbane", "QLD"), ("Perth", "WA"), ("Adelaide", "SA")),
        "N###", "+61 491 570 ###",
    ),
)
