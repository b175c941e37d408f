"""The results page's own words, in Swedish and English."""

LABELS: dict[str, dict[str, str]] = {
    "sv": {
        "title": "Resultat",
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
    },
    "en": {
        "title": "Results",
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
    },
}
