"""The eight shipped templates (§10): each generates in both modes, passes the model validator and evaluates
to values computed by hand from its definition; the telemetry variant reads a captured series."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tests.sim.factories import Pcg32

from flowtime.engine import derive_metrics, evaluate
from flowtime.model import load_model, validate_model
from flowtime.sim import Catalogue, RngOverride

# template id -> (telemetry parameter, the const node it feeds)
TELEMETRY_PARAMETERS = {
    "transportation-basic": ("telemetryDemandSource", "passenger_demand"),
    "it-system-microservices": ("telemetryRequestsSource", "user_requests"),
    "manufacturing-line": ("telemetryRawMaterialsSource", "raw_materials"),
    "supply-chain-multi-tier": ("telemetryDemandSource", "customer_demand"),
    "network-reliability": ("telemetryBaseLoadSource", "base_requests"),
    "order-system": ("telemetryOrderArrivalsSource", "order_arrivals"),
    "microservices": ("telemetryGatewayArrivalsSource", "gateway_arrivals"),
    "http-service": ("telemetryRequestsSource", "http_arrivals"),
}


def run(catalogue: Catalogue, template_id: str, **values: object) -> dict[str, list[float]]:
    """Generate with ``values``, load as a user model would be, evaluate; every column as a list."""
    result = catalogue.generate(template_id, values)
    model = load_model(result.model)
    evaluation = evaluate(model, seed=result.effective_seed)
    return {column: evaluation.series(column).tolist() for column in model.order}


def approx(values: list[float]) -> object:
    return pytest.approx(values, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("template_id", sorted(TELEMETRY_PARAMETERS))
@pytest.mark.parametrize("mode", ["simulation", "telemetry"])
def test_defaults_generate_in_both_modes_and_pass_the_model_validator(
    catalogue: Catalogue, template_id: str, mode: str
) -> None:
    result = catalogue.generate(template_id, mode=mode)
    assert result.warnings == ()
    assert validate_model(result.model) == []
    assert result.metadata["mode"] == mode
    assert result.metadata["hasTopology"] and result.metadata["hasWindow"]
    assert result.metadata["templateVersion"] == "1.0.0"


def test_every_template_has_the_common_properties(catalogue: Catalogue) -> None:
    for template in catalogue.templates:
        doc = template.document
        assert doc["schemaVersion"] == 1 and doc["generator"] == "flowtime-sim"
        assert doc["window"] == {"start": "2025-01-01T00:00:00Z", "timezone": "UTC"}
        assert doc["grid"] == {"bins": "${bins}", "binSize": "${binSize}", "binUnit": "minutes"}
        assert template.capture_key and template.title and template.description
        assert all(p.title and p.description for p in template.parameters), template.id
        bins, bin_size = template.parameter("bins"), template.parameter("binSize")
        assert bins is not None and bins.type == "integer"
        assert bin_size is not None and bin_size.type == "integer"
        source_parameter, demand_node = TELEMETRY_PARAMETERS[template.id]
        source = template.parameter(source_parameter)
        assert source is not None and source.type == "string" and source.default == ""
        first = next(n for n in doc["nodes"] if n["kind"] == "const")
        assert first["id"] == demand_node and first["source"] == "${" + source_parameter + "}"
        for parameter in template.parameters:
            if parameter.type == "array":
                assert len(parameter.default) == bins.default, (template.id, parameter.name)


def test_every_output_has_a_capture_name_and_every_topology_node_arrivals_and_served(
    catalogue: Catalogue,
) -> None:
    for template in catalogue.templates:
        assert all(o.get("as") for o in template.document["outputs"]), template.id
        for node in template.document["topology"]["nodes"]:
            assert {"arrivals", "served"} <= set(node["semantics"]), (template.id, node["id"])


@pytest.mark.parametrize("template_id", ["order-system", "microservices", "http-service"])
def test_systems_templates_name_outputs_after_topology_node_and_metric(catalogue: Catalogue, template_id: str) -> None:
    doc = catalogue.get(template_id).document
    named = {o["as"]: o["series"] for o in doc["outputs"]}
    service_nodes = [n for n in doc["topology"]["nodes"] if n["kind"] == "service"]
    expected = {
        f"{node['id']}_{metric}.csv": node["semantics"][metric]
        for node in service_nodes
        for metric in ("arrivals", "served", "errors", "capacity")
    }
    assert named == expected


# templates.md §10.3-§10.4: (name, type, arrayOf, default, minimum, maximum)
PARAMETER_TABLES: dict[str, list[tuple[str, str, str | None, object, float | None, float | None]]] = {
    "transportation-basic": [
        ("bins", "integer", None, 6, 3, 48),
        ("binSize", "integer", None, 60, 15, 480),
        ("demandPattern", "array", "double", [10, 15, 20, 25, 18, 12], 0, 1000),
        ("capacityPattern", "array", "double", [15, 18, 25, 30, 22, 16], 1, 1000),
        ("telemetryDemandSource", "string", None, "", None, None),
    ],
    "it-system-microservices": [
        ("bins", "integer", None, 6, 3, 48),
        ("binSize", "integer", None, 60, 15, 480),
        ("requestPattern", "array", "double", [100, 150, 200, 180, 120, 80], 0, 10000),
        ("loadBalancerCapacity", "array", "double", [300] * 6, 1, 10000),
        ("authCapacity", "array", "double", [250] * 6, 1, 10000),
        ("databaseCapacity", "array", "double", [180] * 6, 1, 10000),
        ("telemetryRequestsSource", "string", None, "", None, None),
    ],
    "manufacturing-line": [
        ("bins", "integer", None, 6, 3, 48),
        ("binSize", "integer", None, 60, 15, 480),
        ("rawMaterialSchedule", "array", "double", [100, 100, 80, 120, 100, 90], 0, 500),
        ("assemblyCapacity", "array", "double", [90] * 6, 1, 200),
        ("qualityCapacity", "array", "double", [80] * 6, 1, 200),
        ("qualityRate", "number", None, 0.95, 0.1, 1.0),
        ("productionRate", "number", None, 12, 1, 100),
        ("defectRate", "number", None, 0.05, 0, 0.5),
        ("telemetryRawMaterialsSource", "string", None, "", None, None),
    ],
    "supply-chain-multi-tier": [
        ("bins", "integer", None, 6, 3, 48),
        ("binSize", "integer", None, 60, 15, 480),
        ("demandPattern", "array", "double", [80, 120, 160, 140, 100, 60], 0, 5000),
        ("supplierCapacity", "array", "double", [200] * 6, 1, 5000),
        ("distributorCapacity", "array", "double", [150] * 6, 1, 5000),
        ("retailerCapacity", "array", "double", [120] * 6, 1, 5000),
        ("bufferSize", "number", None, 1.2, 1.0, 3.0),
        ("telemetryDemandSource", "string", None, "", None, None),
    ],
    "network-reliability": [
        ("bins", "integer", None, 12, 1, 48),
        ("binSize", "integer", None, 60, 15, 480),
        ("rngSeed", "integer", None, 42, 1, 2147483647),
        ("baseLoad", "array", "double", [100, 120, 150, 180, 200, 190, 170, 160, 140, 130, 110, 105], 0, 1000),
        ("serverBaseCapacity", "integer", None, 150, 50, 500),
        ("telemetryBaseLoadSource", "string", None, "", None, None),
    ],
    "order-system": [
        ("bins", "integer", None, 12, 1, 1440),
        ("binSize", "integer", None, 5, 1, 60),
        ("orderDemand", "array", "int", [42, 45, 51, 58, 64, 61, 57, 55, 60, 66, 59, 48], 0, 100000),
        ("orderCapacity", "array", "int", [60] * 12, 1, 100000),
        ("orderErrorRate", "number", None, 0.03, 0, 1),
        ("paymentShare", "number", None, 0.9, 0, 1),
        ("paymentCapacity", "integer", None, 50, 1, 100000),
        ("paymentErrorRate", "number", None, 0.02, 0, 1),
        ("telemetryOrderArrivalsSource", "string", None, "", None, None),
    ],
    "microservices": [
        ("bins", "integer", None, 12, 1, 1440),
        ("binSize", "integer", None, 10, 1, 60),
        ("gatewayDemand", "array", "int", [120, 135, 150, 170, 190, 210, 205, 185, 160, 140, 130, 125], 0, 1000000),
        *[
            (f"{p}Capacity", "integer", None, c, 1, 1000000)
            for p, c in [
                ("gateway", 200),
                ("auth", 190),
                ("order", 150),
                ("payment", 120),
                ("inventory", 130),
                ("shipping", 100),
            ]
        ],
        *[
            (f"{p}Share", "number", None, v, 0, 1)
            for p, v in (("order", 0.75), ("payment", 0.95), ("inventory", 0.9), ("shipping", 0.7))
        ],
        ("telemetryGatewayArrivalsSource", "string", None, "", None, None),
    ],
    "http-service": [
        ("bins", "integer", None, 8, 1, 1440),
        ("binSize", "integer", None, 15, 1, 60),
        ("requestPattern", "array", "int", [80, 95, 120, 150, 165, 140, 110, 90], 0, 1000000),
        ("serviceCapacity", "integer", None, 150, 1, 1000000),
        ("errorRate", "number", None, 0.02, 0, 1),
        ("telemetryRequestsSource", "string", None, "", None, None),
    ],
}


@pytest.mark.parametrize("template_id", sorted(PARAMETER_TABLES))
def test_parameters_match_the_catalogue_tables(catalogue: Catalogue, template_id: str) -> None:
    declared = [
        (p.name, p.type, p.array_of, p.default, p.minimum, p.maximum) for p in catalogue.get(template_id).parameters
    ]
    assert declared == PARAMETER_TABLES[template_id]


# templates.md §10.3: service node (arrivals → served, errors) and the edges, declared in this order
REFERENCE_TOPOLOGY: dict[str, tuple[list[tuple[str, str, str, str | None]], list[tuple[str, str]]]] = {
    "transportation-basic": ([("TransitLine", "passenger_demand", "passengers_served", "unmet_demand")], []),
    "it-system-microservices": (
        [
            ("LoadBalancer", "user_requests", "load_balanced_requests", "failed_requests"),
            ("AuthService", "load_balanced_requests", "authenticated_requests", "failed_requests"),
            ("Database", "authenticated_requests", "processed_requests", "failed_requests"),
        ],
        [("LoadBalancer:out", "AuthService:in"), ("AuthService:out", "Database:in")],
    ),
    "manufacturing-line": (
        [
            ("AssemblyLine", "raw_materials", "assembly", "defects"),
            ("QualityControl", "assembly", "quality_control", None),
            ("PackagingStation", "quality_control", "packaging", None),
        ],
        [("AssemblyLine:out", "QualityControl:in"), ("QualityControl:out", "PackagingStation:in")],
    ),
    "supply-chain-multi-tier": (
        [
            ("Supplier", "customer_demand", "supplied_items", None),
            ("Distributor", "supplied_items", "distributed_items", None),
            ("Retailer", "distributed_items", "retail_sales", "unmet_demand"),
        ],
        [("Supplier:out", "Distributor:in"), ("Distributor:out", "Retailer:in")],
    ),
    "network-reliability": (
        [
            ("EdgeGateway", "base_requests", "network_requests", "network_failures"),
            ("CorePlatform", "network_requests", "successful_requests", "database_failures"),
        ],
        [("EdgeGateway:out", "CorePlatform:in")],
    ),
}


@pytest.mark.parametrize("template_id", sorted(REFERENCE_TOPOLOGY))
def test_reference_topologies_have_exactly_the_listed_semantics(catalogue: Catalogue, template_id: str) -> None:
    topology = catalogue.get(template_id).document["topology"]
    nodes, edges = REFERENCE_TOPOLOGY[template_id]
    assert [(n["id"], n["kind"], n["semantics"]) for n in topology["nodes"]] == [
        (node_id, "service", {"arrivals": a, "served": s} | ({"errors": e} if e else {})) for node_id, a, s, e in nodes
    ]
    assert [(e["from"], e["to"], e.get("weight", 1)) for e in topology["edges"]] == [(a, b, 1) for a, b in edges]


def test_systems_topologies_map_every_metric_to_the_prefixed_node(catalogue: Catalogue) -> None:
    services = {
        "order-system": [("OrderService", "order"), ("PaymentService", "payment")],
        "microservices": [
            ("ApiGateway", "gateway"), ("AuthService", "auth"), ("OrderService", "order"),
            ("PaymentService", "payment"), ("InventoryService", "inventory"), ("ShippingService", "shipping"),
        ],
        "http-service": [("HttpService", "http")],
    }  # fmt: skip
    for template_id, expected in services.items():
        nodes = [n for n in catalogue.get(template_id).document["topology"]["nodes"] if n["kind"] == "service"]
        assert [(n["id"], n["semantics"]) for n in nodes] == [
            (node_id, {m: f"{p}_{m}" for m in ("arrivals", "served", "errors", "capacity")}) for node_id, p in expected
        ], template_id
    edges = catalogue.get("microservices").document["topology"]["edges"]
    assert [(e["from"], e["to"], e["weight"]) for e in edges] == [
        ("ApiGateway:out", "AuthService:in", 1),
        ("ApiGateway:out", "OrderService:in", "${orderShare}"),
        ("OrderService:out", "PaymentService:in", "${paymentShare}"),
        ("OrderService:out", "InventoryService:in", "${inventoryShare}"),
        ("OrderService:out", "ShippingService:in", "${shippingShare}"),
    ]
    [queue] = [n for n in catalogue.get("http-service").document["topology"]["nodes"] if n["kind"] == "queue"]
    assert queue == {
        "id": "RequestQueue",
        "kind": "queue",
        "semantics": {
            "arrivals": "http_arrivals",
            "served": "http_processed",
            "queueDepth": "request_queue",
            "slaMin": 0.4,
        },
        "initialCondition": {"queueDepth": 0},
    }


# ------------------------------------------------------------------------------- hand-computed values


def test_transportation_basic(catalogue: Catalogue) -> None:
    series = run(catalogue, "transportation-basic")
    assert series["passengers_served"] == [10, 15, 20, 25, 18, 12]
    assert series["unmet_demand"] == [0, 0, 0, 0, 0, 0]
    assert series["utilization"] == approx([10 / 15, 15 / 18, 20 / 25, 25 / 30, 18 / 22, 12 / 16])
    crowded = run(catalogue, "transportation-basic", demandPattern=[20, 15, 30, 25, 18, 12])
    assert crowded["unmet_demand"] == [5, 0, 5, 0, 0, 0]


def test_it_system_microservices(catalogue: Catalogue) -> None:
    series = run(catalogue, "it-system-microservices")
    assert series["processed_requests"] == [100, 150, 180, 180, 120, 80]
    assert series["failed_requests"] == [0, 0, 20, 0, 0, 0]
    assert series["system_utilization"][2] == pytest.approx(0.9)


def test_manufacturing_line(catalogue: Catalogue) -> None:
    series = run(catalogue, "manufacturing-line")
    assert series["assembly"] == [90, 90, 80, 90, 90, 90]
    assert series["quality_control"] == approx([80, 80, 76, 80, 80, 80])
    assert series["packaging"] == approx([10.8] * 6)
    assert series["defects"] == approx([4.5, 4.5, 4, 4.5, 4.5, 4.5])


def test_supply_chain_multi_tier(catalogue: Catalogue) -> None:
    series = run(catalogue, "supply-chain-multi-tier")
    assert series["supplied_items"] == approx([96, 144, 192, 168, 120, 72])
    assert series["distributed_items"] == approx([96, 144, 150, 150, 120, 72])
    assert series["retail_sales"] == approx([96, 120, 120, 120, 120, 72])
    assert series["unmet_demand"] == approx([0, 0, 40, 20, 0, 0])


def test_order_system(catalogue: Catalogue) -> None:
    series = run(catalogue, "order-system")
    assert series["order_processed"] == [42, 45, 51, 58, 60, 60, 57, 55, 60, 60, 59, 48]
    assert series["order_errors"] == [1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1]
    assert series["order_served"] == [41, 44, 49, 56, 58, 58, 55, 53, 58, 58, 57, 47]
    assert series["payment_arrivals"] == [37, 40, 44, 50, 52, 52, 50, 48, 52, 52, 51, 42]
    assert series["payment_served"] == [36, 39, 43, 49, 49, 49, 49, 47, 49, 49, 49, 41]


def test_microservices(catalogue: Catalogue) -> None:
    series = run(catalogue, "microservices")
    assert series["gateway_errors"] == [0, 0, 0, 0, 0, 10, 5, 0, 0, 0, 0, 0]
    assert series["auth_served"] == [120, 135, 150, 170, 190, 190, 190, 185, 160, 140, 130, 125]
    assert series["order_arrivals"] == [90, 101, 113, 128, 143, 150, 150, 139, 120, 105, 98, 94]
    assert series["payment_served"] == [86, 96, 107, 120, 120, 120, 120, 120, 114, 100, 93, 89]
    assert series["shipping_arrivals"] == [63, 71, 79, 90, 100, 105, 105, 97, 84, 74, 69, 66]
    assert series["shipping_errors"] == [0, 0, 0, 0, 0, 5, 5, 0, 0, 0, 0, 0]


def test_http_service_backlog_builds_and_drains_so_latency_colours_change(catalogue: Catalogue) -> None:
    series = run(catalogue, "http-service")
    assert series["http_processed"] == [80, 95, 120, 150, 150, 150, 115, 90]
    assert series["request_queue"] == [0, 0, 0, 0, 15, 5, 0, 0]
    assert series["http_served"] == [78, 93, 118, 147, 147, 147, 113, 88]
    metrics = derive_metrics(
        "queue",
        arrivals=np.array(series["http_arrivals"]),
        served=np.array(series["http_processed"]),
        capacity=None,
        queue_depth=np.array(series["request_queue"]),
        sla_min=0.4,
        bin_minutes=15,
    )
    assert metrics.latency_minutes.tolist() == approx([0, 0, 0, 0, 1.5, 0.5, 0, 0])
    assert metrics.color.tolist() == ["green"] * 4 + ["red", "yellow", "green", "green"]


def expected_network(seed: int) -> dict[str, list[float]]:
    """network-reliability by hand: three pmf nodes sampled in declaration order from one PCG32 stream."""
    rng = Pcg32(seed)
    network = rng.sample([1.0, 0.95, 0.8, 0.6, 0.3], [0.7, 0.2, 0.06, 0.03, 0.01], 12)
    server = rng.sample([0.8, 1.0, 1.2], [0.1, 0.8, 0.1], 12)
    database = rng.sample([1.0, 0.9, 0.7, 0.5], [0.85, 0.1, 0.04, 0.01], 12)
    base = [100, 120, 150, 180, 200, 190, 170, 160, 140, 130, 110, 105]
    requests = [b * n for b, n in zip(base, network, strict=True)]
    capacity = [150 * s for s in server]
    processed = [min(r, c) for r, c in zip(requests, capacity, strict=True)]
    successful = [p * d for p, d in zip(processed, database, strict=True)]
    return {
        "network_reliability": network,
        "server_performance": server,
        "database_reliability": database,
        "network_requests": requests,
        "server_processed": processed,
        "successful_requests": successful,
        "server_failures": [r - p for r, p in zip(requests, processed, strict=True)],
    }


def test_reference_pcg32_matches_the_spec_vectors() -> None:
    rng = Pcg32(42)
    assert [rng.next_uint32() for _ in range(5)] == [1971522493, 242089394, 3457789919, 3637502659, 19596830]
    assert Pcg32(42).sample([1, 2, 3], [0.2, 0.5, 0.3], 10) == [2, 1, 3, 3, 1, 3, 2, 2, 2, 3]


def test_network_reliability_samples_with_its_template_seed(catalogue: Catalogue) -> None:
    result = catalogue.generate("network-reliability")
    assert (result.metadata["stochastic"], result.rng_seed) == (True, 42)
    assert "\nrng:\n  kind: pcg32\n  seed: 42\n" in result.model
    series = run(catalogue, "network-reliability")
    for column, values in expected_network(42).items():
        assert series[column] == approx(values), column


def test_same_seed_same_series_and_another_seed_other_series(catalogue: Catalogue) -> None:
    first = run(catalogue, "network-reliability", rngSeed=7)
    again = run(catalogue, "network-reliability", rngSeed=7)
    other = run(catalogue, "network-reliability", rngSeed=8)
    assert first == again
    assert first["network_reliability"] != other["network_reliability"]
    assert first["successful_requests"] == approx(expected_network(7)["successful_requests"])


def test_seed_precedence_request_then_template_then_123(catalogue: Catalogue) -> None:
    assert catalogue.generate("network-reliability", rng=RngOverride(seed=99)).effective_seed == 99
    assert catalogue.generate("network-reliability", {"rngSeed": 5}).effective_seed == 5
    assert catalogue.generate("http-service").effective_seed == 123
    overridden = catalogue.generate("network-reliability", {"rngSeed": 5}, rng=RngOverride(seed=99))
    model = load_model(overridden.model)
    assert evaluate(model).series("network_reliability").tolist() == approx(expected_network(99)["network_reliability"])


# --------------------------------------------------------------------------------- telemetry variant


def write_series(path: Path, values: list[float]) -> str:
    path.write_text("bin_index,value\n" + "".join(f"{i},{v}\n" for i, v in enumerate(values)), encoding="utf-8")
    return path.as_uri()


@pytest.mark.parametrize("template_id", sorted(TELEMETRY_PARAMETERS))
def test_telemetry_variant_reads_the_captured_series(catalogue: Catalogue, template_id: str, tmp_path: Path) -> None:
    parameter, node = TELEMETRY_PARAMETERS[template_id]
    bins = catalogue.get(template_id).parameter("bins").default  # type: ignore[union-attr]
    observed = [float(7 + 3 * i) for i in range(bins)]
    uri = write_series(tmp_path / "observed.csv", observed)
    result = catalogue.generate(template_id, {parameter: uri}, mode="telemetry")
    assert result.metadata["hasTelemetrySources"] is True
    assert f"    source: {uri}\n" in result.model
    model = load_model(result.model, allowed_roots=[tmp_path])
    assert evaluate(model, seed=result.effective_seed).series(node).tolist() == observed


def test_telemetry_variant_feeds_the_rest_of_the_model(catalogue: Catalogue, tmp_path: Path) -> None:
    uri = write_series(tmp_path / "HttpService_arrivals.csv", [100, 200, 200, 50])
    values = {"telemetryRequestsSource": uri, "bins": 4, "requestPattern": [0, 0, 0, 0]}
    result = catalogue.generate("http-service", values, mode="telemetry")
    evaluation = evaluate(load_model(result.model, allowed_roots=[tmp_path]))
    assert evaluation.series("http_processed").tolist() == [100, 150, 150, 150]
    assert evaluation.series("request_queue").tolist() == [0, 50, 100, 0]
