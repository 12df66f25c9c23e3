"""The one button table: every action id the cards can send (`shared.cards.parts`: bare, and indexed where a
list repeats the button) belongs to exactly one button, and every button answers one of them."""

from __future__ import annotations

import re

import pytest

import shared.cards.parts as parts
from bot.slack.buttons import BUTTONS, button_for

_CONSTANTS = {name: value for name, value in vars(parts).items() if name.startswith("ACTION_")}
BARE = sorted(value for value in _CONSTANTS.values() if isinstance(value, str))
# The buttons a list repeats carry an index (`shared.cards.parts.action_id`); parts says which by a pattern.
REPEATED = sorted(
    base
    for base in BARE
    if any(isinstance(p, re.Pattern) and p.fullmatch(parts.action_id(base, 0)) for p in _CONSTANTS.values())
)


def matching(action_id: str) -> list[object]:
    return [button for button in BUTTONS if button.matches(action_id)]


@pytest.mark.parametrize("action_id", BARE)
def test_every_bare_action_id_belongs_to_exactly_one_button(action_id: str) -> None:
    assert len(matching(action_id)) == 1 and button_for(action_id) is matching(action_id)[0]


@pytest.mark.parametrize("action_id", [parts.action_id(base, index) for base in REPEATED for index in (0, 12)])
def test_every_indexed_action_id_belongs_to_exactly_one_button(action_id: str) -> None:
    assert len(matching(action_id)) == 1 and button_for(action_id) is matching(action_id)[0]


def test_every_button_answers_an_id_the_cards_send() -> None:
    assert REPEATED  # (the patterns were found)
    assert all(any(button.matches(action_id) for action_id in BARE) for button in BUTTONS)


def test_an_id_no_card_sends_belongs_to_no_button() -> None:
    assert parts.ACTION_REFRESH not in REPEATED and button_for(parts.action_id(parts.ACTION_REFRESH, 0)) is None
    assert button_for(f"{parts.ACTION_DETAILS}_x") is None and button_for("other_app_button") is None
