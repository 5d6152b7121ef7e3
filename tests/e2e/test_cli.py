"""The command line: ingest, search, ask, collections, documents, delete-collection, check, configuration."""
import json
import shutil
import subprocess

import pytest

from conftest import BIN, FIXTURES, SAMPLES, free_port, run_cli
from fake_llm import FakeLLM


@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "data"


@pytest.fixture
def ingested(data_dir):
    run_cli("ingest", SAMPLES, "--data-dir", data_dir, check=True)
    return data_dir


def test_ingest_handbook(data_dir):
    proc = run_cli("ingest", SAMPLES, "--data-dir", data_dir)
    assert proc.returncode == 0, proc.stderr
    assert "Ingested into 'default'" in proc.stderr
    assert "5 added, 0 updated, 0 unchanged, 0 duplicate, 0 failed" in proc.stderr
    again = run_cli("ingest", SAMPLES, "--data-dir", data_dir, check=True)
    assert "0 added, 0 updated, 5 unchanged" in again.stderr
    listing = run_cli("documents", "--data-dir", data_dir, "--json", check=True)
    docs = json.loads(listing.stdout)
    assert sorted(d["name"] for d in docs) == sorted(p.name for p in SAMPLES.iterdir())
    # The CLI identifies files by their absolute path.
    assert all(d["source"].startswith("/") for d in docs)


def test_ingest_keeps_originals_like_uploads(data_dir, tmp_path, make_server):
    """CLI-ingested files get "Open original" (and the web UI's PDF pages) as uploads do; an
    updated file's old bytes are dropped; --no-originals keeps none."""
    folder = tmp_path / "docs"
    folder.mkdir()
    shutil.copy(SAMPLES / "benefits-guide.pdf", folder)
    note = folder / "note.md"
    note.write_text("# Note\n\nThe first version of the note.\n")
    run_cli("ingest", folder, "--data-dir", data_dir, check=True)
    note.write_text("# Note\n\nThe second version of the note.\n")
    run_cli("ingest", folder, "--data-dir", data_dir, check=True)
    run_cli("ingest", SAMPLES / "it-security-policy.html", "-c", "bare", "--no-originals", "--data-dir", data_dir, check=True)
    originals = sorted(p.name for p in (data_dir / "collections" / "default" / "originals").iterdir())
    assert len(originals) == 2, originals  # the PDF and the note's second version
    assert not (data_dir / "collections" / "bare" / "originals").exists() or \
        not any((data_dir / "collections" / "bare" / "originals").iterdir())

    server = make_server(data_dir=data_dir)
    docs = {d["name"]: d for d in server.get("/v1/collections/default/documents").json()["documents"]}
    for name, path in (("benefits-guide.pdf", SAMPLES / "benefits-guide.pdf"), ("note.md", note)):
        r = server.get(f"/v1/collections/default/documents/{docs[name]['doc_id']}/original")
        assert r.status_code == 200, r.text
        assert r.content == path.read_bytes()
    bare = server.get("/v1/collections/bare/documents").json()["documents"][0]
    r = server.get(f"/v1/collections/bare/documents/{bare['doc_id']}/original")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_ingest_folder_with_corrupt_file(data_dir, tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    shutil.copy(SAMPLES / "employee-handbook.md", folder)
    shutil.copy(FIXTURES / "truncated.pdf", folder)
    shutil.copy(FIXTURES / "encrypted_ole2.docx", folder)
    (folder / ".hidden.md").write_text("# hidden\n\nnot ingested\n")
    proc = run_cli("ingest", folder, "--data-dir", data_dir, "-c", "mixed")
    assert proc.returncode == 0, proc.stderr
    assert "1 added" in proc.stderr and "2 failed" in proc.stderr, proc.stderr
    assert "Files that could not be ingested" in proc.stderr
    assert "truncated.pdf: [corrupt_input]" in proc.stderr
    assert "encrypted_ole2.docx: [encrypted]" in proc.stderr
    docs = json.loads(run_cli("documents", "-c", "mixed", "--data-dir", data_dir, "--json", check=True).stdout)
    assert [d["name"] for d in docs] == ["employee-handbook.md"]


def test_ingest_nonexistent_path_fails(data_dir, tmp_path):
    proc = run_cli("ingest", tmp_path / "does-not-exist", "--data-dir", data_dir)
    assert proc.returncode != 0
    assert "does-not-exist" in proc.stderr


def test_ingest_invalid_collection_name_fails(data_dir):
    proc = run_cli("ingest", SAMPLES, "--data-dir", data_dir, "-c", "../evil")
    assert proc.returncode != 0
    assert "invalid collection name" in proc.stderr


def test_ingest_with_metadata(data_dir):
    run_cli("ingest", SAMPLES / "office-locations.csv", "--data-dir", data_dir, "--metadata", '{"team": "ops"}',
            check=True)
    docs = json.loads(run_cli("documents", "--data-dir", data_dir, "--json", check=True).stdout)
    assert docs[0]["metadata"] == {"team": "ops"}
    bad = run_cli("ingest", SAMPLES, "--data-dir", data_dir, "--metadata", "{oops")
    assert bad.returncode != 0 and "metadata" in bad.stderr


def test_search_json(ingested):
    proc = run_cli("search", "How long is paid parental leave?", "--data-dir", ingested, "--json", "-k", "3",
                   check=True)
    body = json.loads(proc.stdout)
    assert body["query"] == "How long is paid parental leave?"
    assert 1 <= len(body["results"]) <= 3
    top = body["results"][0]
    assert top["document_name"] == "benefits-guide.pdf"
    assert top["citation"]["page_start"] <= 2 <= top["citation"]["page_end"]


def test_search_text_and_filter(ingested):
    proc = run_cli("search", "parental leave", "--data-dir", ingested, check=True)
    assert "benefits-guide.pdf" in proc.stdout and "score" in proc.stdout
    none = run_cli("search", "parental leave", "--data-dir", ingested, "--filter", '{"team": "x"}', check=True)
    assert "No matches." in none.stdout
    bad = run_cli("search", "parental leave", "--data-dir", ingested, "--filter", "{bad")
    assert bad.returncode != 0 and "filter" in bad.stderr


def test_ask_json_extractive(ingested):
    proc = run_cli("ask", "How many days of paid vacation do new employees get?", "--data-dir", ingested, "--json",
                   check=True)
    body = json.loads(proc.stdout)
    assert body["mode"] == "extractive"
    assert "25 days" in body["answer"]
    assert body["sources"] and body["sources"][0]["number"] == 1
    assert "citation" in body["sources"][0]


def test_ask_json_with_fake_llm(ingested):
    with FakeLLM() as fake:
        proc = run_cli("ask", "How many days of paid vacation do new employees get?", "--data-dir", ingested,
                       "--json", "--llm-url", fake.url, check=True)
    body = json.loads(proc.stdout)
    assert body["mode"] == "generative" and body["model"] == "fake-phi-3"
    assert "25 days" in body["answer"]
    assert body["citations"] == [1] and body["sources"][0]["cited"] is True


def test_ask_text_streams_answer_and_lists_sources(ingested):
    proc = run_cli("ask", "How many days a week may I work remotely?", "--data-dir", ingested, check=True)
    assert "three days" in proc.stdout
    assert "Sources:" in proc.stdout and "[1] employee-handbook.md" in proc.stdout


def test_ask_unknown_collection_fails(ingested):
    proc = run_cli("ask", "anything", "--data-dir", ingested, "-c", "nope")
    assert proc.returncode != 0 and "nope" in proc.stderr


def test_collections_and_delete_collection(ingested):
    listed = json.loads(run_cli("collections", "--data-dir", ingested, "--json", check=True).stdout)
    assert [c["name"] for c in listed] == ["default"] and listed[0]["documents"] == 5
    run_cli("delete-collection", "default", "--data-dir", ingested, check=True)
    assert json.loads(run_cli("collections", "--data-dir", ingested, "--json", check=True).stdout) == []
    again = run_cli("delete-collection", "default", "--data-dir", ingested)
    assert again.returncode != 0


def test_check(ingested):
    proc = run_cli("check", "--data-dir", ingested)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"


def print_config(*args, env=None):
    proc = run_cli("--print-config", *args, env=env)
    assert proc.returncode == 0, proc.stderr
    out = {}
    for line in proc.stdout.splitlines():
        key, rest = line.split(" = ", 1)
        value, _, origin = rest.partition("  # ")
        out[key] = (value, origin)
    return out


def test_print_config_shows_values_origins_and_masks_secrets():
    cfg = print_config("--llm-api-key", "sk-very-secret", "--api-keys", "k1,k2", "--port", "9001")
    assert cfg["port"] == ("9001", "flag")
    assert cfg["host"] == ("127.0.0.1", "default")
    assert cfg["llm_api_key"] == ("********", "flag")
    assert cfg["api_keys"] == ("********", "flag")
    proc = run_cli("--print-config", "--llm-api-key", "sk-very-secret", "--api-keys", "k1,k2")
    assert "sk-very-secret" not in proc.stdout + proc.stderr
    assert "k1,k2" not in proc.stdout + proc.stderr


def test_config_precedence_file_env_flag(tmp_path):
    conf = tmp_path / "kaito.conf"
    conf.write_text("# test config\nport = 1111\nhost = 0.0.0.0\nllm_api_key = \"from-file\"\ndefault_top_k = 3\n")
    env = {"KAITO_RAG_PORT": "2222", "KAITO_RAG_TOP_K": "4"}
    cfg = print_config("--config", conf, "--port", "3333", env=env)
    assert cfg["port"] == ("3333", "flag")
    assert cfg["default_top_k"] == ("4", "env KAITO_RAG_TOP_K")
    assert cfg["host"] == ("0.0.0.0", "file")
    assert cfg["llm_api_key"] == ("********", "file")
    cfg = print_config("--config", conf, env=env)
    assert cfg["port"] == ("2222", "env KAITO_RAG_PORT")
    cfg = print_config("--config", conf)
    assert cfg["port"] == ("1111", "file")
    cfg = print_config(env={"KAITO_RAG_CONFIG": str(conf)})
    assert cfg["port"] == ("1111", "file")


@pytest.mark.parametrize("args,needle", [
    (["--port", "70000"], "port"),
    (["--port", "abc"], "port"),
    (["--parse-isolation", "thread"], "parse_isolation"),
    (["--chunk-max-tokens", "100", "--chunk-overlap-tokens", "60"], "chunk_overlap_tokens"),
    (["--config", "/nonexistent/kaito.conf"], "/nonexistent/kaito.conf"),
])
def test_invalid_configuration_is_rejected(args, needle):
    proc = run_cli("--print-config", *args)
    assert proc.returncode == 2, proc.stdout
    assert needle in proc.stderr


def test_config_file_errors_name_the_line(tmp_path):
    conf = tmp_path / "bad.conf"
    conf.write_text("port = 8080\nno_such_option = 1\n")
    proc = run_cli("--config", conf, "--print-config")
    assert proc.returncode == 2
    assert f"{conf}:2" in proc.stderr and "no_such_option" in proc.stderr


def test_invalid_env_is_rejected():
    proc = run_cli("--print-config", env={"KAITO_RAG_PORT": "eighty"})
    assert proc.returncode == 2 and "KAITO_RAG_PORT" in proc.stderr


def test_no_subcommand_prints_help():
    proc = run_cli()
    assert proc.returncode == 2
    assert "serve" in proc.stderr and "ingest" in proc.stderr


def serve_exit_code(args, wait=5.0):
    """Starts `kaito-rag serve ARGS`; its exit code if it exits within `wait` seconds, else None (then stopped)."""
    proc = subprocess.Popen([str(BIN), "serve", *map(str, args)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        proc.wait(wait)
        return proc.returncode, proc.stderr.read()
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)
        return None, proc.stderr.read()


def test_serve_fails_cleanly_on_a_busy_port(make_server, tmp_path):
    server = make_server()
    code, stderr = serve_exit_code(["--data-dir", tmp_path / "other", "--host", "127.0.0.1", "--port", server.port])
    assert server.healthy()
    assert code is not None and code != 0, f"second server kept running on busy port {server.port}"
    assert "cannot listen" in stderr


def test_second_server_on_the_same_data_dir_is_refused(make_server):
    server = make_server()
    server.upload_ok("x", [SAMPLES / "employee-handbook.md"])
    code, stderr = serve_exit_code(["--data-dir", server.data_dir, "--host", "127.0.0.1", "--port", free_port()])
    assert code is not None and code != 0, "a second server opened a data directory that is in use"


def test_cli_ingest_while_server_runs_is_refused_or_visible(make_server, tmp_path):
    server = make_server()
    server.upload_ok("live", [SAMPLES / "employee-handbook.md"])
    note = tmp_path / "cli-note.md"
    note.write_text("# CLI note\n\nThe cli canary word is marmoset.\n")
    proc = run_cli("ingest", note, "--data-dir", server.data_dir, "-c", "live")
    if proc.returncode != 0:
        return  # refusing while a server owns the data directory is fine
    names = [d["name"] for d in server.documents("live")["documents"]]
    hits = server.search("live", "marmoset")["results"]
    assert ("cli-note.md" in names) == bool(hits), (names, hits)  # store and index agree
    assert hits, "the running server does not see documents the CLI added"


OFFICE_PASSWORD = "Kaito-Pa55 \u00fc\U0001F511"  # scripts/make_encrypted_fixtures.py


def test_ingest_password_protected_files_with_a_password_file_or_stdin(data_dir, tmp_path):
    """`ingest --password-file` opens encrypted Office files through the upload's code path; the password is never
    on the command line, in the output, or in the data directory."""
    folder = tmp_path / "locked"
    folder.mkdir()
    shutil.copy(FIXTURES / "encrypted_agile.docx", folder / "report.docx")
    shutil.copy(FIXTURES / "encrypted_agile.xlsx", folder / "budget.xlsx")

    without = run_cli("ingest", folder, "--data-dir", data_dir, "-c", "locked")
    assert " 2 failed;" in without.stderr
    assert "password-protected" in without.stderr and "--password-file" in without.stderr, without.stderr

    wrong = tmp_path / "wrong.txt"
    wrong.write_text("Kaito-Pa55\n")
    proc = run_cli("ingest", folder, "--data-dir", data_dir, "-c", "locked", "--password-file", wrong)
    assert " 2 failed;" in proc.stderr and "does not open this Office document" in proc.stderr, proc.stderr

    secret = tmp_path / "password.txt"
    secret.write_text(OFFICE_PASSWORD + "\n", encoding="utf-8")
    proc = run_cli("ingest", folder, "--data-dir", data_dir, "-c", "locked", "--password-file", secret, check=True)
    assert " 2 added, " in proc.stderr and " 0 failed;" in proc.stderr, proc.stderr
    docs = json.loads(run_cli("documents", "-c", "locked", "--data-dir", data_dir, "--json", check=True).stdout)
    assert sorted(d["name"] for d in docs) == ["budget.xlsx", "report.docx"]
    assert all(d["chunk_count"] > 0 for d in docs), docs

    # "-": the first line of standard input (a pipe from a secret store, or `read -s`).
    stdin_dir = tmp_path / "stdin-data"
    proc = subprocess.run([str(BIN), "ingest", str(folder / "report.docx"), "--data-dir", str(stdin_dir), "-c", "s",
                           "--password-file", "-"], input=(OFFICE_PASSWORD + "\n").encode("utf-8"),
                          capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")

    needle = OFFICE_PASSWORD.encode("utf-8")
    for root in (data_dir, stdin_dir):
        for path in root.rglob("*"):
            if path.is_file():
                assert needle not in path.read_bytes(), path
    assert OFFICE_PASSWORD not in proc.stdout.decode("utf-8", "replace") + proc.stderr.decode("utf-8", "replace")

    missing = run_cli("ingest", folder, "--data-dir", data_dir, "--password-file", tmp_path / "nope.txt")
    assert missing.returncode != 0 and "cannot read --password-file" in missing.stderr
    empty = tmp_path / "empty.txt"
    empty.write_text("\n")
    assert "is empty" in run_cli("ingest", folder, "--data-dir", data_dir, "--password-file", empty).stderr
    # No terminal (a new session has none): told how else to give the password, not left waiting.
    no_tty = subprocess.run([str(BIN), "ingest", str(folder), "--data-dir", str(data_dir), "--ask-password"],
                            capture_output=True, text=True, timeout=60, start_new_session=True,
                            stdin=subprocess.DEVNULL)
    assert no_tty.returncode != 0 and "no terminal" in no_tty.stderr and "--password-file" in no_tty.stderr
