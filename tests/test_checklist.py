"""The checklist core: symptoms, the six steps filled from a real refresh of the demo, the
handoff sentence, saved state, the packet's contents (nothing secret, nothing active),
the cache warnings and the ticket webhook."""

from __future__ import annotations

import json
import os
import stat

import httpx
import pytest

from app import config as config_module
from app.checklist.case import gather
from app.checklist.escalate import cache_warnings, write_packet
from app.checklist.packet import markdown
from app.checklist.state import Checklist, load, save, unfinished
from app.checklist.steps import (
    build_steps,
    change_facts,
    handoff_sentence,
    lead_finding,
    owner_text,
    window_facts,
)
from app.checklist.symptoms import SYMPTOMS, symptom
from app.checklist.webhook import send
from app.clock import stamp, to_epoch
from app.diagnosis.catalogue import COUNT_CODES
from app.errors import ConfigError, UsageError
from tests.conftest import AFTER, BACKENDS
from tests.test_lookup import HISTORY_AT, seed

NOW = AFTER + 600
FAKE_SVG = "<svg><!-- the lookup screen --></svg>"


@pytest.fixture
async def seeded(config, sim, world, engine):
    await seed(config, sim, world, engine)
    return engine


def case_for(engine, config, sku, location, number, now=NOW):
    return gather(engine, config, sku, location, symptom(number), now)


def test_the_ten_symptoms_check_what_findings_md_says():
    assert [s.number for s in SYMPTOMS] == list(range(1, 11))
    assert symptom(1).codes == ("phantom-stock", "downstream-drift")
    assert symptom(7).codes == ("amendment-after-release", "supplier-unconfirmed",
                                "short-pick-risk")
    assert symptom(10).codes == COUNT_CODES
    for bad in (0, 11, -1):
        with pytest.raises(UsageError, match="choose 1 to 10"):
            symptom(bad)


async def test_short_pick_names_the_order_handoff_and_both_owners(seeded, config):
    case = case_for(seeded, config, "TEE-BLK-M", "DAL1", 7)
    assert [f.code for f in case.matching()] == ["amendment-after-release", "short-pick-risk"]
    sentence = handoff_sentence(case)
    assert sentence.startswith("ERP and WMS disagree on PO-1042 for TEE-BLK-M at DAL1: ")
    assert "ERP 60 ordered (v2, amended 2026-11-30 10:05 UTC)" in sentence
    assert "WMS pick 40, picked 40, picked, released 2026-11-30 09:30 UTC" in sentence
    owners = config.settings.owners
    assert owner_text(lead_finding(case), owners) == \
        f"{owners['procurement']} + {owners['warehouse_lead']}"
    changes = change_facts(case)
    assert any("ERP amended PO-1042 to 60 (v2)" in line for line in changes)
    assert changes == sorted(changes)  # in time order (each line starts with its time)


async def test_phantom_stock_sentence_quotes_the_pair_and_the_number(seeded, config):
    case = case_for(seeded, config, "MUG-WHT-12", "DAL1", 1)
    assert lead_finding(case).code == "phantom-stock"
    loc = case.loc
    sentence = handoff_sentence(case)
    wms, storefront = loc.counts["wms"].available, loc.counts["storefront"].available
    assert sentence.startswith("WMS and storefront disagree on DAL1 available for MUG-WHT-12 ")
    assert f"(WMS {wms}, storefront {storefront}, since " in sentence


async def test_ghost_reservation_is_what_symptom_4_finds(seeded, config):
    case = case_for(seeded, config, "TOWEL-BTH-GRY", "DAL1", 4)
    assert [f.code for f in case.matching()] == ["ghost-reservation"]
    assert "downstream-drift" in {f.code for f in case.findings}


async def test_a_symptom_whose_findings_do_not_hold_says_so(seeded, config):
    case = case_for(seeded, config, "TOWEL-BTH-GRY", "DAL1", 6)
    steps = build_steps(case)
    assert case.matching() == []
    assert any("None of the findings it checks (unconfirmed-shipment) holds here" in line
               for line in steps[4].facts)
    assert lead_finding(case).code != "unconfirmed-shipment"  # the sentence names what is


async def test_agreement_means_no_window_and_no_broken_handoff(seeded, config):
    case = case_for(seeded, config, "HOOD-GRY-L", "ATL1", 10)
    assert handoff_sentence(case) == ("WMS, ERP and storefront agree on ATL1 for HOOD-GRY-L; "
                                      "no handoff is broken; but see throttled-sync "
                                      "(storefront).")
    assert "there is no investigation window" in " ".join(window_facts(case))


async def test_the_window_runs_from_last_known_good_to_the_first_disagreement(seeded, config):
    case = case_for(seeded, config, "TEE-BLK-M", "DAL1", 10)
    facts = window_facts(case)
    assert facts[0] == f"All three last agreed {stamp(HISTORY_AT)}."
    # read agreeing at 08:00, disagreeing at 15:00; the storefront's 12 is from 09:40
    changed = to_epoch("2026-11-30T09:40:00Z")
    assert case.window_start == HISTORY_AT and case.window_end == changed
    assert facts[1] == f"Disagreeing since {stamp(changed)}, by the systems' clocks."
    assert facts[2] == "Investigation window: 2026-11-30 08:00 to 09:40 UTC (1 h 40 min)."


async def test_never_seen_agreeing_looks_back_a_day_from_the_disagreement(seeded, config):
    case = case_for(seeded, config, "CANDLE-SOY", "ATL1", 10)
    changed = to_epoch("2026-11-30T12:32:00Z")  # the WMS's 72 against the ERP's 12
    assert (case.loc.last_agreed_at, case.window_end) == (None, changed)
    assert case.window_start == changed - 24 * 3600
    assert window_facts(case)[1:] == [
        "Disagreeing since 2026-11-30 12:32 UTC, by the systems' clocks.",
        "Looking back 1 d 2 h: 2026-11-29 12:32 UTC to now."]
    assert handoff_sentence(case).endswith("since 2026-11-30 12:32 UTC).")


async def test_unknown_sku_or_location_is_a_usage_error(seeded, config):
    with pytest.raises(UsageError, match="no such SKU 'NOPE-1'"):
        case_for(seeded, config, "NOPE-1", None, 10)
    with pytest.raises(UsageError, match="no such location 'XYZ9'"):
        case_for(seeded, config, "TEE-BLK-M", "XYZ9", 10)


async def test_steps_confirmed_then_changed_then_saved_and_resumed(seeded, config):
    case = case_for(seeded, config, "TEE-BLK-M", "DAL1", 7)
    steps = build_steps(case)
    checklist = Checklist("TEE-BLK-M", "DAL1", 7, "ana", NOW)
    assert [checklist.status(s) for s in steps] == ["to do"] * 6
    checklist.confirm(steps[0], NOW)
    checklist.annotate(steps[2], "  supplier called at 10:00  ")
    checklist.sentence = "My own sentence"
    save(seeded, checklist, NOW)
    again = load(seeded, checklist.id)
    assert again.status(steps[0]) == "done" and again.steps[2].note == "supplier called at 10:00"
    assert again.sentence == "My own sentence" and again.steps[0].confirmed_at == NOW
    moved = steps[0].__class__(1, "counts", "Record the counts", ("WMS: 41",))
    assert again.status(moved) == "changed"  # the cache says something else now
    assert [c.id for c in unfinished(seeded)] == [checklist.id]
    again.unconfirm(steps[0])
    assert again.status(steps[0]) == "to do"


@pytest.mark.parametrize("cache_backend", BACKENDS)
async def test_the_packet_holds_every_step_the_findings_and_the_times(seeded, config, tmp_path):
    checklist = Checklist("TEE-BLK-M", "DAL1", 7, "ana", NOW)
    save(seeded, checklist, NOW)
    case = case_for(seeded, config, "TEE-BLK-M", "DAL1", 7)
    for step in build_steps(case)[:5]:
        checklist.confirm(step, NOW)
    folder = tmp_path / "out"
    outcome = write_packet(seeded, config, checklist, NOW, lambda sku, loc: FAKE_SVG, folder)
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["lookup.svg", "lookup.txt", "packet.json", "packet.md"]
    for path in folder.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    packet = json.loads((folder / "packet.json").read_text())
    assert packet == outcome.packet
    assert packet["operator"] == "ana" and packet["timezone"] == "UTC"
    assert packet["created_at"].endswith("Z") and packet["app_version"]
    assert [s["status"] for s in packet["steps"]] == ["done"] * 6
    assert packet["handoff"]["finding"] == "amendment-after-release"
    codes = {f["code"]: f["matches_symptom"] for f in packet["findings"]}
    assert codes["amendment-after-release"] and not codes["downstream-drift"]
    assert packet["lookup"]["systems"]["erp"]["on_hand"] == 40
    assert packet["orders"][0]["erp"]["quantity"] == 60
    assert packet["orders"][0]["wms"]["status"] == "picked"
    text = (folder / "packet.md").read_text()
    assert text == markdown(packet) + "\n"
    assert packet["handoff"]["sentence"].split(":")[0] in text
    assert "## Counts" in text and "## Order PO-1042" in text and "## Checklist" in text
    assert "== DAL1  Dallas DC" in (folder / "lookup.txt").read_text()
    assert (folder / "lookup.svg").read_text() == FAKE_SVG
    assert load(seeded, checklist.id).finished_at == NOW  # no longer unfinished
    assert unfinished(seeded) == []


async def test_hostile_text_stays_text_and_secrets_never_reach_the_packet(seeded, config,
                                                                          tmp_path, monkeypatch):
    secret = os.environ["SEAMDESK_SIM_TOKEN"]
    checklist = Checklist("TEE-BLK-M", "DAL1", 1, "ana", NOW)
    steps = build_steps(case_for(seeded, config, "TEE-BLK-M", "DAL1", 1))
    checklist.annotate(steps[2], f"pasted {secret} by mistake \x1b[31m[red]x[/] <b>b</b> "
                       "[click](http://evil)")
    checklist.owner = "*Ops* | `team`"
    write_packet(seeded, config, checklist, NOW, lambda sku, loc: f"<svg>{secret}</svg>",
                 tmp_path / "p")
    for path in (tmp_path / "p").iterdir():
        body = path.read_text()
        assert secret not in body and "\x1b" not in body, path.name
    packet = json.loads((tmp_path / "p" / "packet.json").read_text())
    note = packet["steps"][2]["note"]
    assert note.startswith("pasted [redacted] by mistake \\x1b[31m[red]x[/]")
    text = (tmp_path / "p" / "packet.md").read_text()
    assert r"\[red\]x\[/\] \<b>b\</b> \[click\](http://evil)" in text
    assert r"**Owner:** \*Ops\* \| \`team\`" in text


async def test_stale_and_empty_caches_are_named_in_one_line(seeded, config, engine, tmp_path):
    warnings, problem = cache_warnings(seeded, config, NOW)
    assert warnings == [] and problem is None
    warnings, problem = cache_warnings(seeded, config, NOW + 3 * 3600)
    assert problem.startswith("stale cache: WMS was last read 3 h ago (stale beyond the 1 h")
    empty = config_module.load(config.path)
    from app.cache.engine import make_engine

    fresh = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    _, problem = cache_warnings(fresh, empty, NOW)
    assert problem.startswith("the cache is empty")
    checklist = Checklist("TEE-BLK-M", "DAL1", 10, "ana", NOW)
    outcome = write_packet(fresh, empty, checklist, NOW, lambda s, loc: FAKE_SVG, tmp_path / "e")
    assert outcome.problem == problem
    packet = json.loads((tmp_path / "e" / "packet.json").read_text())
    assert packet["warnings"] == [problem] and packet["findings"] == []
    assert "the cache is empty" in (tmp_path / "e" / "packet.md").read_text()


def _with_handoff(config, text: str):
    config.path.write_text(config.path.read_text() + "\n[handoff]\n" + text)
    return config_module.load(config.path)


def test_handoff_settings_are_validated_and_resolved(config):
    with pytest.raises(ConfigError, match=r"handoff\.webhook_url: 'ftp://x' is not an http"):
        _with_handoff(config, 'webhook_url = "ftp://x"\n')
    config.path.write_text(config.path.read_text().split("\n[handoff]")[0])
    loaded = _with_handoff(config, 'packets_dir = "tickets"\n')
    assert loaded.packets_dir() == config.path.parent / "tickets"


def test_the_webhook_gets_the_packet_with_the_token(config, monkeypatch):
    monkeypatch.setenv("TICKET_TOKEN", "tkt-secret-9")
    loaded = _with_handoff(config, 'webhook_url = "https://tickets.example/hook"\n'
                           'token_env = "TICKET_TOKEN"\n')
    seen = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201)

    sent = send(loaded, {"sku": "TEE-BLK-M"}, httpx.MockTransport(answer))
    assert sent.ok and sent.text == "sent to tickets.example (HTTP 201)"
    assert json.loads(seen[0].content) == {"sku": "TEE-BLK-M"}
    assert seen[0].headers["authorization"] == "Bearer tkt-secret-9"
    assert "tkt-secret-9" in loaded.secrets()  # so packets and errors mask it too


@pytest.mark.parametrize(("answer", "expected"), [
    (lambda request: httpx.Response(500), "tickets.example answered HTTP 500"),
    (lambda request: (_ for _ in ()).throw(httpx.ConnectError("refused")),
     "tickets.example did not answer (refused)"),
])
def test_a_failed_post_says_why_and_keeps_the_packet(config, monkeypatch, answer, expected):
    monkeypatch.setenv("TICKET_TOKEN", "t")
    loaded = _with_handoff(config, 'webhook_url = "https://tickets.example/hook"\n'
                           'token_env = "TICKET_TOKEN"\n')
    sent = send(loaded, {}, httpx.MockTransport(answer))
    assert not sent.ok and expected in sent.text and "stays on disk" in sent.text


def test_an_unset_webhook_token_is_named(config, monkeypatch):
    monkeypatch.delenv("TICKET_TOKEN", raising=False)
    loaded = _with_handoff(config, 'webhook_url = "https://t.example/h"\n'
                           'token_env = "TICKET_TOKEN"\n')
    sent = send(loaded, {}, httpx.MockTransport(lambda r: httpx.Response(200)))
    assert not sent.ok and "$TICKET_TOKEN is not set" in sent.text
