"""Where the map puts a ticket that has a district but no coordinates: the district's centre.

APPROXIMATE: the 22 municipal districts of Tehran (منطقه ۱–۲۲), one point near the middle of each,
written by hand from general knowledge of the city's map (to about a kilometre), like the sample
gazetteer (nlp/data/gazetteer_tehran.toml). The map marks these tickets as placed by district
only. A city other than Tehran, or one with the municipality's own boundaries, replaces this table.
"""

from __future__ import annotations

# district (as tickets store it: "1"…"22") → (latitude, longitude)
DISTRICT_CENTRES: dict[str, tuple[float, float]] = {
    "1": (35.800, 51.470),  # Tajrish, Niavaran
    "2": (35.765, 51.365),  # Saadat Abad, Shahrak-e Gharb, Gisha
    "3": (35.760, 51.430),  # Vanak, Mirdamad
    "4": (35.750, 51.530),  # Tehranpars, Hakimiyeh
    "5": (35.745, 51.315),  # Janatabad, Punak, Ekbatan
    "6": (35.722, 51.400),  # Enghelab, Valiasr square, Yusefabad
    "7": (35.725, 51.445),  # Sabalan, Haft-e Tir
    "8": (35.727, 51.495),  # Narmak
    "9": (35.685, 51.320),  # Mehrabad
    "10": (35.685, 51.365),  # Salsabil
    "11": (35.685, 51.395),  # Rah Ahan, Jomhouri
    "12": (35.675, 51.425),  # the Bazaar
    "13": (35.705, 51.495),  # Piroozi north, Tehran No
    "14": (35.670, 51.470),  # Khavaran, Piroozi
    "15": (35.635, 51.475),  # Afsariyeh, Masoudieh
    "16": (35.635, 51.405),  # Javadieh, Yakhchiabad
    "17": (35.660, 51.355),  # Abuzar
    "18": (35.650, 51.290),  # Yaftabad, Shadabad
    "19": (35.615, 51.355),  # Nematabad, Khaniabad
    "20": (35.590, 51.435),  # Shahr-e Rey
    "21": (35.705, 51.240),  # Tehransar
    "22": (35.745, 51.190),  # Chitgar
}
# Tehran as a whole: where the map opens when no ticket is shown.
CITY_CENTRE = (35.700, 51.400)
