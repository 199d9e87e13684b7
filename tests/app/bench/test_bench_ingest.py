"""`localkb bench ingest`: runs the real pipeline and the embedder alone on the same chunks."""

import json

from app.cli import run


def test_bench_ingest_reports_both_rates_on_squad_format(tmp_path, capsys, localkb_home):
    squad = {"data": [{"title": "T", "paragraphs": [
        {"context": f"Paragraph {i} is about the river number {i} and its bridges.", "qas": []} for i in range(6)]}]}
    path = tmp_path / "mini.json"
    path.write_text(json.dumps(squad))
    assert run(["bench", "ingest", str(path), "--limit", "4", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["files"] == out["ok"] == 4 and out["chunks"] == 4
    assert out["pipeline_chunks_per_s"] > 0 and out["embedder_chunks_per_s"] > 0
    assert abs(out["ratio"] - out["pipeline_chunks_per_s"] / out["embedder_chunks_per_s"]) < 0.01
    assert not (localkb_home / "kbs").exists()  # the benchmark works in its own throw-away home
