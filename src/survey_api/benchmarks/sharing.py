"""What an organisation shares when it opts in to the benchmark: the exact text, sv and en.

The API returns it next to the `benchmark_opt_in` setting so that an admin reads what the switch
does before turning it on; docs/methods.md ("Jämförelse mellan bolag") states the same rule.
"""

from typing import Final

BENCHMARK_SHARING_TEXT: Final[dict[str, str]] = {
    "sv": (
        "När ni deltar i jämförelsen används era mätomgångars sammanräknade svar (antal per "
        "svarsalternativ per område, aldrig enskilda svar eller fritext) tillsammans med "
        "områdenas antal hushåll, områdestyp och polisens klassning för att räkna fram "
        "sammanvägda siffror per områdestyp och per polisklass över alla deltagande bolag. "
        "Bara frågor, indikatorer och index som är identiska med standardenkätens ingår, och "
        "bara områden vars egen siffra visas hos er (minst er minsta cellstorlek). Andra bolag "
        "ser aldrig ert namn, era områden eller era siffror: en jämförelsecell visas bara när "
        "minst 3 bolag och minst 5 områden bidrar, antalet svar är minst den största minsta "
        "cellstorleken bland bidragsgivarna, inget bolag står för mer än 50 % av vikten och de "
        "två största tillsammans för högst 85 %; "
        "annars döljs den. Ni kan när som helst sluta delta."
    ),
    "en": (
        "When you take part in the benchmark, your survey rounds' tallied answers (counts per "
        "answer option per area, never single responses or free text) are used together with "
        "your areas' number of households, area type and police classification to compute "
        "pooled figures per area type and per police class across all participating "
        "organisations. Only items, indicators and indices identical to the standard "
        "questionnaire's take part, and only areas whose own figure is shown to you (at least "
        "your minimum cell size). Other organisations never see your name, your areas or your "
        "figures: a benchmark cell is shown only when at least 3 organisations and at least 5 "
        "areas contribute, the number of answers is at least the largest minimum cell size "
        "among the contributors, no organisation carries more than 50 % of the weight and the "
        "two largest together at most 85 %; "
        "otherwise it is hidden. You can stop taking part at any time."
    ),
}
