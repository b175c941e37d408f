"""The results page's own words, in Swedish and English."""

from survey_api.results.cells import (
    REASON_ANSWERED,
    REASON_BREAKDOWN,
    REASON_INDEX,
    REASON_OVERLAP,
)

# The results payload says why a figure is unavailable in English prose (its
# `unavailable_reason`); pages show a short text of their own language keyed on it. A reason
# this map does not know yet reads as the general one, never as a suppression.
UNAVAILABLE_KEYS: dict[str, str] = {
    REASON_INDEX: "index",
    REASON_ANSWERED: "answered",
    REASON_OVERLAP: "overlap",
    REASON_BREAKDOWN: "breakdown",
}


def unavailable_key(reason: str | None) -> str | None:
    """The key of a payload's `unavailable_reason` (None: the figure is not unavailable)."""
    if reason is None:
        return None
    return UNAVAILABLE_KEYS.get(reason, "other")


LABELS: dict[str, dict[str, str]] = {
    "sv": {
        "title": "Resultat",
        "survey": "Enkät",
        "all_areas": "Alla områden",
        "period": "Period",
        "as_of": "Svar till och med",
        "responses": "Svar",
        "response_rate": "Svarsfrekvens",
        "households": "Hushåll",
        "key_figures": "Nyckeltal",
        "figure": "Mått",
        "value": "Värde",
        "interval": "95\u00a0% konfidens\u00adintervall",
        "n": "Antal svar (n)",
        "suppressed": "För få svar för att visa",
        "low_precision": "osäker skattning (intervallet är bredare än ±10\u00a0procentenheter)",
        "trends": "Utveckling över tid",
        "trend_note": "Linjen visar värdet, det skuggade bandet 95\u00a0% konfidensintervall. "
        "Streckade linjer markerar när en satsning startade.",
        "distributions": "Svarsfördelning per fråga",
        "favourable": "Andel positiva",
        "areas": "Områden",
        "area": "Område",
        "organisation": "Hela organisationen",
        "method": "Om siffrorna",
        "method_text": "Andelar räknas på dem som gett ett sakligt svar (”Vet inte” och "
        "liknande räknas inte). Intervall: Wilson (andelar) och t-fördelning (index). "
        "Celler med färre svar än {min_cell} visas inte, för att skydda de svarandes "
        "anonymitet. Sammanvägningar över områden viktas med antal hushåll.",
        "interventions": "Satsningar",
        "started": "startade",
        "share_unit": "%",
        "index_unit": "av 100",
        "print": "Skriv ut eller spara som PDF från webbläsaren.",
        "expires": "Länken gäller till",
        "source_imported": "Historisk mätning, importerade svar",
        "source_imported_tallies": "Historisk mätning, endast svarsfördelningar "
        "(importerade antal)",
        "unavailable": "Finns inte",
        "unavailable_short": "finns ej",
        "unavailable_index": "Finns inte: ett index kräver varje svarandes svar, och för denna "
        "mätning importerades bara svarsfördelningar",
        "unavailable_answered": "Finns inte: antalet som besvarade frågan importerades inte för "
        "denna mätning",
        "unavailable_overlap": "Finns inte: en svarande kan kryssa i flera av svarsalternativen, "
        "och svarsfördelningarna visar inte hur många som kryssade i minst ett",
        "unavailable_breakdown": "Finns inte: en uppdelning kräver varje svarandes svar, och för "
        "denna mätning importerades bara svarsfördelningar",
        "unavailable_other": "Finns inte: bara svarsfördelningar importerades för denna mätning",
        "history_mark": "†",
        "history_note": "Historisk mätning",
        "benchmark": "Områden av samma typ i andra bolag",
        "benchmark_hidden": "för få bolag eller områden för att visa",
        "benchmark_none": "ej jämförbar",
        "benchmark_none_note": "standardenkäten ställer inte frågan på samma sätt",
        "benchmark_note": "”Områden av samma typ i andra bolag” väger samman områdena av samma "
        "områdestyp och period hos alla bolag som deltar i jämförelsen, viktat med antal "
        "hushåll. En siffra visas bara när minst 3 bolag och 5 områden bidrar.",
    },
    "en": {
        "title": "Results",
        "survey": "Survey",
        "all_areas": "All areas",
        "period": "Period",
        "as_of": "Responses up to",
        "responses": "Responses",
        "response_rate": "Response rate",
        "households": "Households",
        "key_figures": "Key figures",
        "figure": "Measure",
        "value": "Value",
        "interval": "95% confi\u00addence inter\u00adval",
        "n": "Answers (n)",
        "suppressed": "Too few responses to show",
        "low_precision": "imprecise estimate (the interval is wider than ±10 percentage points)",
        "trends": "Trends",
        "trend_note": "The line shows the value, the shaded band the 95% confidence interval. "
        "Dashed lines mark when an intervention started.",
        "distributions": "Answers per question",
        "favourable": "Favourable share",
        "areas": "Areas",
        "area": "Area",
        "organisation": "Whole organisation",
        "method": "About the figures",
        "method_text": "Shares are of respondents who gave a substantive answer (\u201cDon't "
        "know\u201d and the like are left out). Intervals: Wilson (shares) and t (indices). "
        "Cells with fewer than {min_cell} responses are not shown, to protect the "
        "respondents' anonymity. Figures pooled over areas are weighted by households.",
        "interventions": "Interventions",
        "started": "started",
        "share_unit": "%",
        "index_unit": "of 100",
        "print": "Print or save as PDF from the browser.",
        "expires": "This link is valid until",
        "source_imported": "Historical round, imported answers",
        "source_imported_tallies": "Historical round, answer counts only (imported counts)",
        "unavailable": "Not available",
        "unavailable_short": "n/a",
        "unavailable_index": "Not available: an index needs each respondent's answers, and only "
        "answer counts were imported for this round",
        "unavailable_answered": "Not available: the number who answered this question was not "
        "imported for this round",
        "unavailable_overlap": "Not available: one respondent may tick several of these options, "
        "and answer counts cannot tell how many ticked at least one",
        "unavailable_breakdown": "Not available: a breakdown needs each respondent's answers, and "
        "only answer counts were imported for this round",
        "unavailable_other": "Not available: only answer counts were imported for this round",
        "history_mark": "†",
        "history_note": "Historical round",
        "benchmark": "Areas of the same type in other companies",
        "benchmark_hidden": "too few companies or areas to show",
        "benchmark_none": "not comparable",
        "benchmark_none_note": "the standard questionnaire does not ask this in the same way",
        "benchmark_note": "\u201cAreas of the same type in other companies\u201d pools the areas "
        "of the same area type and period in every company that takes part in the benchmark, "
        "weighted by households. A figure is shown only when at least 3 companies and 5 areas "
        "contribute.",
    },
}


def unavailable_text(words: dict[str, str], key: str) -> str:
    """The page's short text for an unavailable figure's reason key."""
    return words.get(f"unavailable_{key}", words["unavailable_other"])


def source_text(words: dict[str, str], source: str) -> str | None:
    """Where a round's data came from, when not collected through the service."""
    return words.get(f"source_{source}") if source != "collected" else None
