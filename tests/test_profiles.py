"""Profiles are data: every parameter of every profile cites where it comes from."""

from __future__ import annotations

import re

import pytest

from listenspec.models import sources
from listenspec.models.profiles import FREEBSD_SRC, PROFILES, Profile, derive

SOURCE_RE = re.compile(r"(seeds/\d{3}_[0-9a-f]{16}\.txt|reference/(freebsd|linux)\.md|"
                       r"spec/sources/(freebsd|linux-6\.18|gvisor-2022-12)\.md|listenspec choice)")


@pytest.mark.parametrize("profile", list(PROFILES.values()), ids=list(PROFILES))
def test_every_parameter_cites_a_seed_a_reference_or_a_recorded_choice(profile: Profile) -> None:
    for param in profile.parameters:
        cite = profile.cite[param]
        assert SOURCE_RE.search(cite), (profile.name, param, cite)


def test_documented_profiles_inherit_visibly() -> None:
    f9 = PROFILES["freebsd-9"]
    assert f9.cite["clamp"] == sources.SEED_FREEBSD_9
    assert f9.cite["half_open"].startswith("inherited from freebsd-src: ")


def test_derive_refuses_an_uncited_change() -> None:
    with pytest.raises(AssertionError, match="uncited"):
        derive(FREEBSD_SRC, "freebsd-src", {}, tcp_overflow="drop")


CONTRACT = ["freebsd-9", "freebsd-10", "freebsd-13", "freebsd-src", "dragonfly", "intime",
            "linux", "bsd-4.4"]
#: profiles the project adds (an extension of the contract, documented in docs/format.md)
EXTENSIONS = {"freebsd-main", "gvisor"}


def test_profile_names_are_the_contract() -> None:
    assert [n for n in PROFILES if n in CONTRACT] == CONTRACT
    assert set(PROFILES) - set(CONTRACT) <= EXTENSIONS


def test_every_gvisor_difference_from_linux_cites_gvisor() -> None:
    gv, lx = PROFILES["gvisor"], PROFILES["linux"]
    for param in gv.parameters:
        if getattr(gv, param) != getattr(lx, param):
            assert "spec/sources/gvisor-2022-12.md" in gv.cite[param], param
