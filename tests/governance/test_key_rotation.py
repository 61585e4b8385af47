"""Key rotation: every stored pseudonym is re-keyed with a new key in the chain, joins still hold, the
old key alone reproduces nothing, and an interrupted rotation blocks loading until it is finished.

The workspace is built the way a store builds one: a Shopify export (its customer ids are e-mail
pseudonyms), canonical events carrying an e-mail in their properties, a quarantined row, the online
store the HTTP service writes, a fitted recommendation model, a score snapshot and a report.
"""

import json
import pickle
import shutil
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from storelift.artifacts import CUSTOMER_SCORES_SNAPSHOT, load_models
from storelift.cli import ingest_paths
from storelift.cli_recommend import run_fit
from storelift.data import pii
from storelift.errors import PrivacyError
from storelift.governance import key_rotation
from storelift.governance.audit_log import verify_workspace
from storelift.governance.key_rotation import KeyRotationError, rotate_key
from storelift.governance.rekey import TOKEN_RE, Rekeyer, remap_object
from storelift.online import OnlineStore
from storelift.online.events import event_from_segment
from storelift.online.identities import safe_traits
from storelift.warehouse import fetch
from storelift.workspace import CONFIG_NAME, Workspace

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "shopify_orders_export.csv"
JANE, BOB = "jane.doe@example.com", "bob.smith@example.com"
RAW_PII = {"email": [JANE, BOB, "carla.rossi@example.com", "dan.lee@example.com"],
           "phone": ["+1 555 201 0001", "+1 555 201 0005", "+1 555 201 0006"],
           "first_name": ["Jane", "Bob", "Carla", "Dan"], "last_name": ["Doe", "Smith", "Rossi", "Lee"]}
NOW = datetime(2024, 4, 1, tzinfo=timezone.utc)


def build_store(root: Path) -> None:
    ws = Workspace.init(root)
    ingest_paths(ws, [FIXTURE])
    key = ws.pii_key()
    jane = pii.pseudonym(key, "email", JANE)
    events = ws.root / "data" / "events.csv"
    events.write_text(
        "event_id,event,customer_id,occurred_at,product_id,properties\n"
        f'e1,Product Viewed,{jane},2024-03-10T10:00:00Z,LS-BLU-M,'
        f'"{{""note"": ""write to {BOB} or +44 20 7946 0958""}}"\n'
        f'e2,Bogus Event,{jane},2024-03-10T10:05:00Z,LS-BLU-M,"{{""email"": ""{JANE}""}}"\n')
    ingest_paths(ws, [events])
    with OnlineStore.open(None, ws.root) as store:
        store.link_identity("dev-1", jane, NOW, safe_traits({"email": JANE, "phone": "+1 555 201 0001"}, key).kept)
        store.write_events([event_from_segment(
            {"messageId": "m1", "type": "track", "event": "Product Viewed", "userId": jane, "anonymousId": "dev-1",
             "timestamp": NOW, "properties": {"product_id": "MUG-SND", "referrer": f"mailto:{BOB}"}}, key)])
        store.record_consent(jane, {"email": True})
    run_fit(ws, "ease")
    customers = fetch(ws.warehouse.table("customers").select("customer_id"))
    snapshot = ws.models_dir / "customers-20240401" / CUSTOMER_SCORES_SNAPSHOT
    snapshot.parent.mkdir(parents=True)
    customers.assign(clv=range(len(customers))).to_parquet(snapshot)
    (ws.reports_dir / "top.html").write_text(f"<li>{jane}</li><li>order #1001</li>")
    ws.close()


@pytest.fixture(scope="module")
def built_store(tmp_path_factory):
    root = tmp_path_factory.mktemp("rotation")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("STORELIFT_KEY_DIR", str(root / "keys"))
        build_store(root / "store")
    return root / "store"


@pytest.fixture
def ws(built_store, tmp_path) -> Workspace:
    """A copy of the built store with its own key file (rotation changes the key file)."""
    target = tmp_path / "ws"
    shutil.copytree(built_store, target)
    config = target / CONFIG_NAME
    source_key = Workspace.open(target).config.key_file
    key_file = tmp_path / "keys" / Path(source_key).name
    key_file.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source_key, key_file)
    config.write_text(config.read_text().replace(source_key, str(key_file)))
    workspace = Workspace.open(target)
    yield workspace
    workspace.close()


class Recorder(Rekeyer):
    """Collects the pseudonym tokens it is shown and changes nothing."""

    def __init__(self):
        super().__init__(b"unused")
        self.seen: set[str] = set()

    def token(self, stored: str) -> str:
        self.seen.add(stored)
        return stored


def tokens_of_values(values) -> set[str]:
    return {t for v in values if isinstance(v, str) for t in TOKEN_RE.findall(v)}


def stored_tokens(ws: Workspace) -> dict[str, set[str]]:
    """Every pseudonym token by place: warehouse tables (evidence tables aside), online tables, files."""
    found: dict[str, set[str]] = {}
    for name in ws.warehouse.con.list_tables():
        if name in ("audit_log", "approvals"):
            continue
        frame = fetch(ws.warehouse.con.table(name))
        found[f"warehouse:{name}"] = set().union(*(tokens_of_values(frame[c]) for c in frame.columns))
    online = sqlite3.connect(ws.root / "online.sqlite")
    for (name,) in online.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
        frame = pd.read_sql_query(f'SELECT * FROM "{name}"', online)
        found[f"online:{name}"] = set().union(*(tokens_of_values(frame[c]) for c in frame.columns))
    online.close()
    for path in sorted(p for folder in ("models", "reports") for p in (ws.root / folder).rglob("*") if p.is_file()):
        label = str(path.relative_to(ws.root))
        if path.suffix == ".parquet":
            frame = pq.read_table(path).to_pandas()
            found[label] = set().union(*(tokens_of_values(frame[c]) for c in frame.columns))
        elif path.suffix == ".pkl":
            recorder = Recorder()
            with open(path, "rb") as fh:
                remap_object(pickle.load(fh), recorder)
            found[label] = recorder.seen
        else:
            found[label] = tokens_of_values([path.read_text()])
    return {place: tokens for place, tokens in found.items() if tokens}


def newest_key(ws: Workspace) -> bytes:
    return pii.read_key_chain(Path(ws.config.key_file)).newest


def test_rotation_rekeys_every_stored_pseudonym(ws):
    old_key = ws.pii_key()
    before = stored_tokens(ws)
    for place in ("warehouse:customers", "warehouse:orders", "warehouse:events", "warehouse:quarantine",
                  "online:identities", "online:events", "online:consents", "reports/top.html"):
        assert place in before, f"the built store should hold pseudonyms in {place}; it holds {sorted(before)}"
    assert any(p.endswith("interactions.pkl") for p in before) and any(p.endswith(".parquet") for p in before)

    result = rotate_key(ws)

    after = stored_tokens(ws)
    new_key = newest_key(ws)
    assert set(after) == set(before)
    for place, tokens in before.items():
        assert after[place] == {pii.rekeyed(new_key, t) for t in tokens}, place
    assert not set().union(*after.values()) & set().union(*before.values())
    assert result.keys == 2 and not result.resumed
    assert set(result.places.columns) == {"place", "action", "values"}
    assert {"warehouse:customers", "online:identities", "reports/top.html"} <= set(result.places["place"])
    assert pii.read_key_chain(Path(ws.config.key_file)).keys[0] == old_key


def test_new_loads_join_rotated_data(ws, tmp_path):
    rotate_key(ws)
    chain = ws.pii_key()
    assert isinstance(chain, pii.KeyChain) and len(chain) == 2
    customers = fetch(ws.warehouse.table("customers")).set_index("customer_id")
    jane = pii.pseudonym(chain, "email", "  Jane.Doe@Example.COM ")
    assert jane in customers.index and customers.loc[jane, "email"] == jane
    # a fresh ingest of the same raw e-mail computes the same pseudonym with the chain
    extra = tmp_path / "customers.csv"
    extra.write_text(f"customer_id,email,city\nc-new,{JANE},Portland\n")
    ingest_paths(ws, [extra])
    fresh = fetch(ws.warehouse.table("customers")).set_index("customer_id")
    assert fresh.loc["c-new", "email"] == customers.loc[jane, "email"]
    orders = fetch(ws.warehouse.table("orders"))
    assert set(orders["customer_id"].dropna()) <= set(customers.index)


def test_recommendation_artifact_users_follow_the_warehouse(ws):
    _, before = load_models(ws.models_dir, prefix="recommend-")
    old_users = list(before["interactions"].users)
    jane_before = pii.pseudonym(ws.pii_key(), "email", JANE)
    rotate_key(ws)
    _, after = load_models(ws.models_dir, prefix="recommend-")
    interactions = after["interactions"]
    new_key = newest_key(ws)
    assert list(interactions.users) == [pii.rekeyed(new_key, u) for u in old_users]
    buyers = set(fetch(ws.warehouse.table("orders").select("customer_id"))["customer_id"].dropna())
    assert set(interactions.users) <= buyers
    jane = pii.pseudonym(ws.pii_key(), "email", JANE)
    assert interactions.user_rows([jane]).tolist() == [old_users.index(jane_before)]
    assert (interactions.matrix != before["interactions"].matrix).nnz == 0


def test_old_key_alone_reproduces_no_stored_pseudonym(ws):
    old_key = ws.pii_key()
    guesses = {pii.pseudonym(old_key, kind, v) for kind, values in RAW_PII.items() for v in values}
    stored_before = set().union(*stored_tokens(ws).values())
    assert guesses & stored_before, "the old key should match stored pseudonyms before rotation"
    rotate_key(ws)
    stored_after = set().union(*stored_tokens(ws).values())
    assert not guesses & stored_after
    assert not {pii.rekeyed(old_key, t) for t in stored_before} & stored_after


def test_audit_entry_counts_places_and_chain_verifies(ws):
    result = rotate_key(ws, actor="alice@shop")
    count, problems = verify_workspace(ws)
    assert problems.empty and count >= 2
    log = fetch(ws.warehouse.table("audit_log")).sort_values("seq")
    entry = log.iloc[-1]
    assert (entry["action"], entry["actor"]) == ("pii.key_rotated", "alice@shop")
    details = json.loads(entry["details"])
    assert details["rotation_id"] == result.rotation_id and details["keys_in_chain"] == 2
    assert details["values_rekeyed"]["warehouse:customers"] > 0 and details["values_rekeyed"]["online:events"] > 0
    assert pii.PREFIX not in entry["details"] and "@" not in entry["details"]


def test_key_in_the_environment_is_refused(ws, monkeypatch):
    key_text = Path(ws.config.key_file).read_text()
    monkeypatch.setenv(pii.KEY_ENV, "x" * 64)
    with pytest.raises(KeyRotationError, match=f"{pii.KEY_ENV} is set.*key file"):
        rotate_key(ws)
    assert Path(ws.config.key_file).read_text() == key_text
    assert not pii.rotation_marker(Path(ws.config.key_file)).exists()


def test_interrupted_swap_blocks_loading_and_a_second_run_finishes(ws, monkeypatch):
    key_file = Path(ws.config.key_file)
    jane_before = pii.pseudonym(ws.pii_key(), "email", JANE)

    def interrupted(root):
        raise KeyboardInterrupt

    monkeypatch.setattr(key_rotation, "swap_files", interrupted)
    with pytest.raises(KeyboardInterrupt):
        rotate_key(ws)
    # the warehouse is re-keyed, the key file is not yet: loading data must be refused
    assert len(pii.read_key_chain(key_file)) == 1
    with pytest.raises(PrivacyError, match="rotate-key"):
        ws.pii_key()
    monkeypatch.undo()

    result = rotate_key(ws)

    assert result.resumed and result.keys == 2
    jane = pii.pseudonym(ws.pii_key(), "email", JANE)
    assert jane == pii.rekeyed(newest_key(ws), jane_before)
    customers = fetch(ws.warehouse.table("customers"))
    assert jane in set(customers["customer_id"])  # re-keyed once, not twice
    _, models = load_models(ws.models_dir, prefix="recommend-")
    assert jane in set(models["interactions"].users)
    log = fetch(ws.warehouse.table("audit_log"))
    assert (log["action"] == "pii.key_rotated").sum() == 1
    assert verify_workspace(ws)[1].empty


def test_interrupted_staging_changes_nothing_until_rerun(ws, monkeypatch):
    before = fetch(ws.warehouse.table("customers")).sort_values("customer_id", ignore_index=True)

    def interrupted(root, rekeyer):
        raise KeyboardInterrupt

    monkeypatch.setattr(key_rotation, "stage_files", interrupted)
    with pytest.raises(KeyboardInterrupt):
        rotate_key(ws)
    unchanged = fetch(ws.warehouse.table("customers")).sort_values("customer_id", ignore_index=True)
    pd.testing.assert_frame_equal(unchanged, before)
    monkeypatch.undo()
    rotate_key(ws)
    jane = pii.pseudonym(ws.pii_key(), "email", JANE)
    assert jane in set(fetch(ws.warehouse.table("customers"))["customer_id"])
    assert not [t for t in ws.warehouse.con.list_tables() if t.startswith("_rekey_")]


def test_second_rotation_extends_the_chain(ws):
    old = ws.pii_key()
    rotate_key(ws)
    rotate_key(ws)
    chain = ws.pii_key()
    assert len(chain) == 3 and chain.keys[0] == old
    jane = pii.pseudonym(chain, "email", JANE)
    assert jane in set(fetch(ws.warehouse.table("customers"))["customer_id"])


def test_one_key_file_reads_and_hashes_as_before(tmp_path):
    key_file = pii.create_key_file(tmp_path / "one.key")
    key = pii.load_key(key_file)
    assert isinstance(key, bytes) and key == key_file.read_text().strip().encode()
    assert pii.pseudonym(key, "email", JANE) == pii.pseudonym(pii.KeyChain((key,)), "email", JANE)
    assert pii.pseudonym([key, b"k" * 40], "email", JANE) == pii.rekeyed(b"k" * 40, pii.pseudonym(key, "email", JANE))
    key_file.write_text(key.decode() + "\nshort\n")
    with pytest.raises(PrivacyError, match="key 2 is shorter"):
        pii.load_key(key_file)


def test_remap_reaches_pandas_numpy_containers_and_attributes():
    import numpy as np

    old = "psn_" + "a" * 32
    rekeyer = Rekeyer(b"k" * 40)
    new = rekeyer.token(old)

    class Holder:
        def __init__(self):
            self.ids = pd.Index([old, "x"], name="user")
            self.frame = pd.DataFrame({"customer_id": [old], "n": [1]}, index=pd.Index([old]))
            self.cats = pd.Series([old, old], dtype="category")
            self.array = np.array([old, "y"])
            self.nested = {old: [old, (old, 1)], "text": f'{{"id": "{old}"}}', "other": f"x{old}"}

    holder = Holder()
    same, changed = remap_object(holder, rekeyer)
    assert same is holder and changed >= 8
    assert list(holder.ids) == [new, "x"] and holder.ids.name == "user"
    assert holder.frame["customer_id"].tolist() == [new] and holder.frame.index.tolist() == [new]
    assert holder.frame["n"].dtype == np.int64
    assert holder.cats.tolist() == [new, new] and holder.cats.dtype == "category"
    assert holder.array.tolist() == [new, "y"]
    assert holder.nested == {new: [new, (new, 1)], "text": f'{{"id": "{new}"}}', "other": f"x{old}"}
    untouched = {"a": pd.Index(["p1", "p2"]), "m": np.arange(3)}
    assert remap_object(untouched, rekeyer) == (untouched, 0)
