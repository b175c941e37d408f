"""Trend comparability: what must be equal for two versions of an item to form one series."""

from survey_api.questionnaires.document import Item

ItemSignature = tuple[
    str, tuple[tuple[int, float | None, bool, bool], ...], tuple[int, ...], tuple[int, ...]
]


def item_signature(item: Item) -> ItemSignature:
    """What must be equal for two versions of an item to form one trend series."""
    # Texts and labels are left out on purpose: fixing a translation must not break a series.
    # Scores are compared as floats so 4 and 4.0 match; substantiveness separates a missing
    # score from an explicit null.
    options = tuple(
        (
            option.code,
            None if option.score is None else float(option.score),
            option.is_substantive,
            option.exclusive,
        )
        for option in sorted(item.options, key=lambda option: option.code)
    )
    return (
        item.kind,
        options,
        tuple(sorted(set(item.favourable))),
        tuple(sorted(set(item.unfavourable))),
    )
