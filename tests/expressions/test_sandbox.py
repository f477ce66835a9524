"""Nothing but the allowed Java-like surface is reachable: no Python attributes, dunders,
imports, reflection, forbidden types or mutation of the data an expression reads."""

from __future__ import annotations

import copy

import pytest

from gennaker.expressions import EvaluationContext, evaluate_in
from tests.expressions.conftest import make_ctx

ATTACKS = [
    "${''.__class__}",
    "${''.__class__.__mro__}",
    "${''.__class__.__base__.__subclasses__()}",
    "${account.__class__}",
    "${account.__len__()}",
    "${account.__init__.__globals__}",
    "${#root.keys()}",
    "${#root.items()}",
    "${#root.clear()}",
    "${tags.put('x', 1)}",
    "${tags.clear()}",
    "${tags.pop('team')}",
    "${tags.update({a: 1})}",
    "${list.add(6)}",
    "${list.append(6)}",
    "${list.remove(0)}",
    "${list.clear()}",
    "${list.sort()}",
    "${{1,2}.pop()}",
    "${''.getClass()}",
    "${''.class}",
    "${''.getClass().forName('java.lang.Runtime')}",
    "${account.class.name}",
    "${account.format()}",
    "${account.join(list)}",
    "${account.encode()}",
    "${account.maketrans('a', 'b')}",
    "${T(java.lang.Runtime)}",
    "${T(java.lang.Runtime).getRuntime().exec('ls')}",
    "${T(java.lang.Runtime).runtime.exit(1)}",
    "${T(java.lang.System).exit(1)}",
    "${T(java.lang.System).getenv()}",
    "${T(java.lang.System).getProperty('user.home')}",
    "${T(System).exit(1)}",
    "${T(java.lang.Class).forName('java.lang.Runtime')}",
    "${T(java.lang.Boolean).forName('java.net.URI').getSimpleName()}",
    "${T(java.lang.Thread).sleep(100000)}",
    "${T(java.lang.ProcessBuilder)}",
    "${T(java.io.File).listRoots()}",
    "${T(java.nio.file.Files).readAllLines('/etc/passwd')}",
    "${T(os).system('ls')}",
    "${T(builtins).open('/etc/passwd')}",
    "${T(UUID).randomUUID()}",
    "${T(java.lang.Math).__class__}",
    "${T(java.lang.Math).class}",
    "${T(java.lang.Math).statics}",
    "${T(java.lang.Math).getClass()}",
    "${new java.io.File('/etc/passwd')}",
    "${new java.io.File('/etc/passwd').exists()}",
    "${new java.net.URL('http://google.com').openConnection()}",
    "${new java.lang.ProcessBuilder('ls').start()}",
    "${new java.lang.Math()}",
    "${new java.time.LocalDate()}",
    "${new rx.internal.util.RxThreadFactory('').newThread(null)}",
    "${new java.lang.Integer(1).wait(100000)}",
    "${new java.lang.Integer(1).getClass().getSimpleName()}",
    "${new java.util.Random().seed}",
    "${new java.util.Date().ms}",
    "${new java.util.Date().getClass()}",
    "${T(java.util.UUID).randomUUID().value}",
    "${T(java.util.UUID).randomUUID().getClass()}",
    "${new java.text.SimpleDateFormat('yyyy').tokens}",
    "${status.getMetaClass()}",
    "${status.metaClass.toString()}",
    "${1 .__class__}",
    "${(1).real}",
    "${(1).bit_length()}",
    "${true.__class__}",
    "${#getattr(account, '__class__')}",
    "${#eval('1+1')}",
    "${#exec('import os')}",
    "${#__import__('os')}",
    "${__import__('os')}",
    "${getattr(account, 'upper')}",
    "${#stage.__class__}",
    "${tags.entrySet()[0].__class__}",
    "${tags.entrySet()[0].__dataclass_fields__}",
    "${#doNotEval(1).value.__class__}",
    "${@environment}",
    "${#root = 1}",
    "${account = 'x'}",
    "${count++}",
    "${{1}.![#this.__class__]}",
    "${words.?[#this.__len__() > 1]}",
]


@pytest.mark.parametrize("text", ATTACKS)
def test_attack_is_rejected_and_changes_nothing(text: str) -> None:
    ctx = make_ctx(context=None)
    root_before = copy.deepcopy(dict(ctx.root))
    result = evaluate_in(text, ctx)
    assert result.value == text
    entries = [e for es in result.summary.failures.values() for e in es]
    assert len(entries) == 1
    assert entries[0]["level"] == "ERROR", entries
    assert dict(ctx.root) == root_before


@pytest.mark.parametrize(
    "text",
    [
        "${#root['__class__']}",
        "${tags['__dict__']}",
        "${#root.__builtins__}",
        "${__class__}",
        "${#root.__class__}",
        "${#root.__dict__}",
        "${#this.__globals__}",
        "${#stage('Bake').__class__}",
        "${#stage('Bake')._stage}",
        "${#currentStage().get('context').__class__}",
    ],
)
def test_dunder_keys_are_only_ever_map_lookups(text: str) -> None:
    result = evaluate_in(text, make_ctx())
    assert result.value == text
    assert [e["level"] for es in result.summary.failures.values() for e in es] == ["INFO"]


def test_python_objects_in_the_root_expose_nothing() -> None:
    class Secret:
        token = "s3cr3t"

        def reveal(self) -> str:
            return self.token

    ctx = EvaluationContext(root={"obj": Secret(), "fn": print})
    for text in [
        "${obj.token}",
        "${obj.reveal()}",
        "${obj['token']}",
        "${fn.__name__}",
        "${fn('x')}",
        "${obj.toString()}",
    ]:
        result = evaluate_in(text, ctx)
        assert result.value == text, text
        assert result.summary.has_failures


def test_results_are_copies_not_the_root_objects() -> None:
    ctx = make_ctx()
    result = evaluate_in("${tags}", ctx)
    result.value["team"] = "changed"
    assert ctx.root["tags"]["team"] == "core"
