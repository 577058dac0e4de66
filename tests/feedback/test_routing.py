import pytest

from ihanoi.feedback.models import Category, RoutingRule
from ihanoi.feedback.routing import route


@pytest.fixture
def environment(world):
    return Category.objects.get(code="moi-truong-ve-sinh")


def test_without_a_rule_the_wards_peoples_committee_receives_it(world, environment):
    decision = route(category=environment, ward=world.hoan_kiem)
    assert decision.agency == world.hk_committee
    assert decision.reason == "ward_committee"


def test_a_city_wide_category_rule_beats_the_committee(world):
    lighting = Category.objects.get(code="chieu-sang-dien")
    decision = route(category=lighting, ward=world.hoan_kiem)
    assert decision.agency.code == "evn-hanoi"
    assert decision.reason == "rule_category"


def test_a_rule_for_the_category_in_this_ward_beats_the_city_wide_rule(world):
    lighting = Category.objects.get(code="chieu-sang-dien")
    RoutingRule.objects.create(category=lighting, unit=world.hoan_kiem, agency=world.hk_committee)
    assert route(category=lighting, ward=world.hoan_kiem).reason == "rule_category_ward"
    assert route(category=lighting, ward=world.hoan_kiem).agency == world.hk_committee
    # The neighbouring ward still follows the city-wide rule.
    assert route(category=lighting, ward=world.cua_nam).agency.code == "evn-hanoi"


def test_a_ward_rule_applies_to_every_category_without_a_more_specific_rule(world, environment):
    RoutingRule.objects.create(category=None, unit=world.hoan_kiem, agency=world.cn_committee)
    decision = route(category=environment, ward=world.hoan_kiem)
    assert (decision.agency, decision.reason) == (world.cn_committee, "rule_ward")


def test_two_equally_specific_rules_for_different_agencies_go_to_the_hub(world, environment):
    RoutingRule.objects.create(category=environment, agency=world.hk_committee)
    RoutingRule.objects.create(category=environment, agency=world.cn_committee)
    decision = route(category=environment, ward=world.hoan_kiem)
    assert decision.agency is None
    assert decision.reason == "ambiguous"
    assert len(decision.rule_ids) == 2


def test_inactive_rules_and_inactive_agencies_are_ignored(world):
    lighting = Category.objects.get(code="chieu-sang-dien")
    RoutingRule.objects.filter(category=lighting).update(is_active=False)
    assert route(category=lighting, ward=world.hoan_kiem).agency == world.hk_committee
    world.hk_committee.is_active = False
    world.hk_committee.save()
    decision = route(category=lighting, ward=world.hoan_kiem)
    assert decision.agency is None
    assert decision.reason == "no_agency"
