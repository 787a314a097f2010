from devhost.routes import route_precedence, to_aiohttp_paths


def test_plain_route_gets_the_prefix():
    assert to_aiohttp_paths("api", "health") == ["/api/health"]


def test_parameter_constraints_become_regexes():
    assert to_aiohttp_paths("api", "items/{id:int}") == [r"/api/items/{id:-?\d+}"]


def test_optional_segment_yields_two_paths():
    assert to_aiohttp_paths("api", "catalog/{id?}") == ["/api/catalog/{id}", "/api/catalog"]


def test_catch_all_matches_the_rest_and_nothing():
    assert to_aiohttp_paths("api", "{*path}") == ["/api/{path:.*}", "/api"]


def test_literal_routes_take_precedence_over_catch_all():
    routes = sorted(["{*path}", "requests/{id}", "health"], key=route_precedence)
    assert routes == ["health", "requests/{id}", "{*path}"]
