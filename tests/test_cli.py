"""The real CLI in a subprocess: build, ask (text and JSON), and every bad input."""
import json

import pytest

from conftest import CORPUS


@pytest.fixture(scope="module")
def cli_index(tmp_path_factory, shipped_index):
    return shipped_index


def assert_clean_error(result, fragment):
    assert result.returncode != 0
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Eroare:"), result.stderr
    assert fragment in lines[0]


def test_build_then_ask(run_cli, tmp_path):
    index = tmp_path / "index"
    built = run_cli("build", "--corpus", str(CORPUS), "--index", str(index))
    assert built.returncode == 0, built.stderr
    assert "2 pagini, 9 secțiuni" in built.stdout
    asked = run_cli("ask", "cui partajați datele mele?", "--index", str(index))
    assert asked.returncode == 0, asked.stderr
    first = asked.stdout.split("\n\n")[1]
    assert first.startswith("1. Partajarea datelor › Cum partajăm informații?")
    assert "Sursa: partajarea-datelor.md#cum-partajam-informatii" in first
    assert "Oblio.eu" in first


def test_ask_json_has_exactly_the_documented_shape(run_cli, cli_index):
    result = run_cli("ask", "ce faceti cu emailul meu?", "--index", str(cli_index), "--k", "4", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) == {"question", "abstained", "answers"}
    assert data["question"] == "ce faceti cu emailul meu?" and data["abstained"] is False
    assert len(data["answers"]) == 4
    for answer in data["answers"]:
        assert set(answer) == {"document", "section", "section_path", "quote", "score", "source", "anchor"}
        assert isinstance(answer["section_path"], list) and isinstance(answer["score"], float)
    assert len({(a["source"], a["anchor"]) for a in data["answers"]}) == 4


def test_off_topic_abstains_in_json_and_in_text(run_cli, cli_index):
    data = json.loads(run_cli("ask", "Care e rețeta de clătite?", "--index", str(cli_index), "--json").stdout)
    assert data["abstained"] is True and len(data["answers"]) == 3
    text = run_cli("ask", "xyzzy 123", "--index", str(cli_index)).stdout
    assert "nu pare să răspundă" in text


def test_empty_question(run_cli, cli_index):
    assert_clean_error(run_cli("ask", "   ", "--index", str(cli_index)), "goală")


def test_huge_question(run_cli, cli_index):
    assert_clean_error(run_cli("ask", "datele mele " * 9000, "--index", str(cli_index)), "prea lungă")


def test_missing_corpus_folder(run_cli, tmp_path):
    assert_clean_error(run_cli("build", "--corpus", str(tmp_path / "lipsa"), "--index", str(tmp_path / "i")),
                       "nu există")


def test_corrupted_index_file(run_cli, index_copy):
    manifest = json.loads((index_copy / "manifest.json").read_text(encoding="utf-8"))
    (index_copy / manifest["generation"] / "metadata.json").write_text("{nu e json", encoding="utf-8")
    # Asked to rebuild, the CLI says why first; with the pages gone it fails cleanly.
    manifest["corpus"]["dir"] = str(index_copy / "pagini-sterse")
    (index_copy / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    result = run_cli("ask", "cum protejati datele?", "--index", str(index_copy))
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "deteriorat" in result.stderr and "Eroare:" in result.stderr


def test_garbage_manifest(run_cli, index_copy):
    (index_copy / "manifest.json").write_bytes(b"\x00\x01")
    result = run_cli("ask", "cum protejati datele?", "--index", str(index_copy), "--corpus", str(CORPUS))
    # The pages are known, so the CLI says the index is damaged and rebuilds it.
    assert result.returncode == 0, result.stderr
    assert "reconstruiesc" in result.stderr and "Cum protejăm informațiile?" in result.stdout


def test_stale_index_is_announced_and_rebuilt(run_cli, tiny_corpus, tmp_path):
    index = tmp_path / "index"
    assert run_cli("build", "--corpus", str(tiny_corpus), "--index", str(index)).returncode == 0
    (tiny_corpus / "cookie.md").write_text("# Cookie-uri\nNu folosim cookie-uri deloc.\n", encoding="utf-8")
    result = run_cli("ask", "folositi cookie-uri?", "--index", str(index), "--json")
    assert result.returncode == 0
    assert "paginile s-au schimbat: cookie.md" in result.stderr
    assert "Nu folosim cookie-uri deloc." in json.loads(result.stdout)["answers"][0]["quote"]


def test_bad_k(run_cli):
    result = run_cli("ask", "ceva", "--k", "0")
    assert result.returncode == 2 and "Traceback" not in result.stderr and "între 1 și 50" in result.stderr


def test_missing_index_is_built_from_the_default_pages_or_fails_clearly(run_cli, tmp_path):
    result = run_cli("ask", "ceva despre date", "--index", str(tmp_path / "gol"), cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "Nu există niciun index" in result.stderr and "Dosarul cu pagini nu există: corpus" in result.stderr


def test_build_if_needed_skips_a_fresh_index(run_cli, tiny_corpus, tmp_path):
    index = tmp_path / "index"
    first = run_cli("build", "--corpus", str(tiny_corpus), "--index", str(index), "--if-needed")
    assert first.returncode == 0 and "Nu există niciun index" in first.stderr and "Index construit" in first.stdout
    again = run_cli("build", "--corpus", str(tiny_corpus), "--index", str(index), "--if-needed")
    assert again.returncode == 0 and "este la zi" in again.stdout
