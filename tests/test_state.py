"""The state's own helpers: `evolve` is attrs.evolve, only faster (and it keeps an instance
no change touches)."""

from __future__ import annotations

import attrs
import pytest

from listenspec.models.state import FMap, Host, Listener, Pending, Socket, SockState, evolve

SAMPLES = [
    Host(fds=FMap({3: 1}), next_id=4, log=("x",)),
    Socket(sid=1, domain="AF_INET", type="SOCK_STREAM", state=SockState.BOUND, addr=2),
    Listener(qlimit=2, comp=(Pending(conn=5, client=6),), lastover=-3),
    Pending(conn=1, client=2, data=b"x", upcall="dataready"),
]


@pytest.mark.parametrize("inst", SAMPLES, ids=lambda x: type(x).__name__)
def test_evolve_is_attrs_evolve(inst: object) -> None:
    fields = attrs.fields(type(inst))
    for f in fields:
        for value in (None, 0, 7, "v", ()):
            got = evolve(inst, **{f.name: value})
            assert got == attrs.evolve(inst, **{f.name: value})
            assert type(got) is type(inst)
            # the instance itself exactly when the change is the value it holds already
            assert (got is inst) == (getattr(inst, f.name) is value)
        held = getattr(inst, f.name)
        assert evolve(inst, **{f.name: held}) is inst
    assert evolve(inst) is inst  # no change at all
    changed = evolve(inst, **{fields[0].name: object()})
    assert changed is not inst and evolve(changed, **{fields[0].name: getattr(
        inst, fields[0].name)}) == inst
    with pytest.raises(TypeError):
        evolve(inst, no_such_field=1)
