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
    # The second ingest of the same files, in the same process, into a KB of its own.
    assert out["warm_chunks"] == out["chunks"]
    # compared with the embedder alone measured on either side of it (after each ingest)
    assert abs(out["warm_ratio"] - out["warm_pipeline_chunks_per_s"] / out["warm_embedder_chunks_per_s"]) < 0.01
    after_first, after_second = out["embedder_alone_seconds"]
    assert out["embedder_seconds"] == after_first
    assert abs(out["warm_embedder_seconds"] - (after_first + after_second) / 2) <= 0.01
    # The pipeline's CPU includes its parser process's; the embedder's own share is the difference's other side.
    assert out["pipeline_cpu_seconds"] > out["embedder_cpu_seconds"] > 0
    assert abs(out["other_cpu_seconds"] - (out["pipeline_cpu_seconds"] - out["embedder_cpu_seconds"])) < 0.02
    assert not (localkb_home / "kbs").exists()  # the benchmark works in its own throw-away home


def test_bench_ingest_compares_runtimes_on_the_same_chunks_in_one_run(tmp_path, capsys):
    squad = {"data": [{"title": "T", "paragraphs": [
        {"context": f"Paragraph {i} tells of harbour {i}, its ships and its lighthouse keeper.", "qas": []} for i in range(5)]}]}
    path = tmp_path / "mini.json"
    path.write_text(json.dumps(squad))
    assert run(["bench", "ingest", str(path), "--runtime", "openvino,onnx-int8,torch", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["runtimes"]) == {"openvino", "onnx-int8", "torch"}
    assert out["runtime"] == "openvino" and out["embedder"] == "all-MiniLM-L6-v2"
    assert out["precision"] in ("bf16", "fp32")
    assert out["runtimes"]["onnx-int8"]["embedder"].endswith("int8")
    assert out["runtimes"]["onnx-int8"]["precision"] == "int8"
    assert out["runtimes"]["torch"]["embedder"] == "all-MiniLM-L6-v2"
    assert out["same_chunks_as_torch"] and out["runtimes"]["torch"]["chunks"] == out["chunks"] == 5
    torch_rate = out["runtimes"]["torch"]["pipeline_chunks_per_s"]
    assert abs(out["speedup_vs_torch"] - out["pipeline_chunks_per_s"] / torch_rate) < 0.01


def test_bench_ingest_refuses_an_unknown_runtime(tmp_path, capsys):
    path = tmp_path / "mini.json"
    path.write_text(json.dumps({"data": [{"title": "T", "paragraphs": [{"context": "One paragraph.", "qas": []}]}]}))
    assert run(["bench", "ingest", str(path), "--runtime", "tensorflow"]) != 0
    assert "Unknown embedder runtime 'tensorflow'" in capsys.readouterr().err


def test_bench_plan_rerun_over_an_unchanged_folder_reads_no_file(capsys):
    assert run(["bench", "plan", "--files", "30", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["first_run"]["ok"] == out["first_run"]["files_hashed"] == 30
    assert out["unchanged_rerun"]["skipped"] == 30 and out["unchanged_rerun"]["files_hashed"] == 0
    assert out["unchanged_rerun"]["plan_seconds"] <= out["unchanged_rerun"]["seconds"]
