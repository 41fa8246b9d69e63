"""Series selection (§4): outputs resolved against evaluation order, required columns appended."""

from __future__ import annotations

from tests.artifacts.factories import const, expr, make_model, queue, topology_node

from flowtime.artifacts import required_columns, select_columns

COLUMNS = (const("calls"), expr("handled"), expr("handle_rate"), expr("Http_served"), expr("http_errors"))
ORDER = ("calls", "handled", "handle_rate", "Http_served", "http_errors")


def select(*outputs: str, **options) -> tuple[str, ...]:
    model = make_model(*COLUMNS, outputs=outputs, **options)
    return select_columns(model, model.order)


def test_no_outputs_selects_every_column_in_evaluation_order() -> None:
    model = make_model(*COLUMNS, order=("handled", "calls", "handle_rate", "http_errors", "Http_served"))
    assert select_columns(model, model.order) == (
        "handled",
        "calls",
        "handle_rate",
        "http_errors",
        "Http_served",
    )


def test_star_selects_everything() -> None:
    assert select("*") == ORDER


def test_exact_ids_keep_evaluation_order_per_entry_and_skip_duplicates() -> None:
    assert select("handle_rate", " calls ", "handle_rate") == ("handle_rate", "calls")


def test_exact_match_is_case_sensitive() -> None:
    assert select("Handled", "calls") == ("calls",)


def test_prefix_is_case_insensitive() -> None:
    assert select("HTTP/*") == ("Http_served", "http_errors")
    assert select("handle/*") == ("handled", "handle_rate")


def test_unknown_only_falls_back_to_everything() -> None:
    assert select("missing", "nope/*") == ORDER


def test_star_after_exact_appends_the_rest() -> None:
    assert select("http_errors", "*") == ("http_errors", "calls", "handled", "handle_rate", "Http_served")


def test_required_columns_are_appended_in_evaluation_order() -> None:
    model = make_model(
        const("inbound"),
        const("processed"),
        expr("ratio"),
        expr("unrelated"),
        synthesized=[queue("intake_queue_queue", "inbound", "processed")],
        outputs=("ratio",),
        topology=[
            topology_node(
                "Intake",
                "serviceWithBuffer",
                arrivals="inbound",
                served="processed",
                queue_depth="intake_queue_queue",
            ),
            topology_node("Remote", arrivals="file://telemetry/x.csv", served="processed"),
        ],
    )
    assert required_columns(model) == {"inbound", "processed", "intake_queue_queue"}
    assert select_columns(model, model.order) == ("ratio", "inbound", "processed", "intake_queue_queue")


def test_synthesized_columns_are_required_even_without_topology_reference() -> None:
    model = make_model(
        const("a"),
        synthesized=[expr("s_overflow"), expr("echo")],
        outputs=("a",),
        topology=[topology_node("S", "queue", arrivals="a", retry_echo="echo", retry_kernel=(1.0,))],
    )
    assert select_columns(model, model.order) == ("a", "s_overflow", "echo")


def test_required_columns_do_not_apply_when_nothing_was_selected() -> None:
    model = make_model(const("a"), const("b"), synthesized=[expr("q")], outputs=("zzz",))
    assert select_columns(model, model.order) == ("a", "b", "q")
